import Foundation
import XCTest
@testable import Engine

/// Batch stylisation: items named by their inputs, options sampled from (seed, identity), the
/// same bits and records whether run whole or as shards in separate processes, resumable after
/// SIGKILL without redoing or tearing anything, and bad files recorded per item.
final class BatchTests: FolderTestCase {
    static let fast = ["--model", "random", "--backend", "cpu", "--size", "32", "--iterations", "4",
                       "--style-layers", "relu1_1,relu2_1", "--content-layer", "relu2_2"]

    func makeInputs(contents n: Int = 6) throws {
        try FileManager.default.createDirectory(atPath: path("contents/sub"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: path("styles"), withIntermediateDirectories: true)
        for i in 0..<n { try writeImage("contents/c\(i).png", 40, 32, seed: UInt64(10 + i)) }
        try writeImage("contents/sub/c0.png", 36, 36, seed: 99)   // same name, another folder
        try writeImage("styles/a.png", 32, 32, seed: 1)
        try writeImage("styles/b.png", 28, 36, seed: 2)
    }

    func batch(_ out: String, _ extra: [String] = [], env: [String: String] = [:]) throws -> CLIRunner.Outcome {
        try CLIRunner.run(["batch", "--contents", path("contents"), "--styles", path("styles"), "-o", path(out),
                           "--style-weight", "1:20", "--style-scale", "0.6:1.2"] + Self.fast + extra, in: directory, environment: env)
    }

    /// The records that must agree between runs: everything but timings, by item.
    func records(_ file: String) -> [String: String] {
        var out: [String: String] = [:]
        for var r in BatchManifest.read(path(file)) {
            r.seconds = 0
            r.overheadSeconds = 0
            out[r.id] = String(decoding: try! JSONLines.encoder.encode(r), as: UTF8.self)
        }
        return out
    }

    func outputs(_ folder: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: path(folder)) where name.hasSuffix(".png") {
            out[name] = try bytes(folder + "/" + name)
        }
        return out
    }

    func testShardsAndMergeEqualOneRun() throws {
        try makeInputs()
        let whole = try batch("whole", ["--contact-sheet", path("sheet.png")])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let expected = try outputs("whole")
        XCTAssertEqual(expected.count, 14, "7 contents × 2 styles, and the two c0.png do not collide")
        let sheet = try RGBImage.load(path("sheet.png"))
        XCTAssertGreaterThan(sheet.height, 14 * 128, "one row of content, style and result per item")
        for k in 0..<3 {
            let r = try batch("sharded", ["--shard", "\(k)/3"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let merge = try CLIRunner.run(["batch", "merge", path("sharded")], in: directory)
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertEqual(try outputs("sharded"), expected, "byte-identical outputs")
        XCTAssertEqual(records("sharded/manifest.jsonl"), records("whole/manifest.jsonl"), "the same records")
        // Slurm's job array picks the same shard as --shard 1/3
        let slurm = try batch("slurm", ["--shard", "auto"],
                              env: ["SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_COUNT": "3"])
        XCTAssertEqual(slurm.status, 0, slurm.stderr)
        XCTAssertEqual(try outputs("slurm").keys.sorted(),
                       BatchManifest.read(path("sharded/manifest-1-of-3.jsonl")).compactMap(\.output).sorted())
        // a missing shard is named by merge
        try FileManager.default.removeItem(atPath: path("sharded/manifest-2-of-3.jsonl"))
        let broken = try CLIRunner.run(["batch", "merge", path("sharded")], in: directory)
        XCTAssertEqual(broken.status, ExitStatus.usage)
        XCTAssertTrue(broken.stderr.contains("not finished"), broken.stderr)
    }

    /// Adding a file changes no other item's sampled options or output.
    func testItemsDependOnlyOnTheirIdentity() throws {
        var s = BatchItems.Sampling()
        s.styleWeight = .range(1, 20)
        s.sizes = [128, 256]
        s.preserveColor = ["none", "luminance"]
        let c = (0..<5).map { BatchItems.Input(path: "/c/\($0).png", name: "\($0).png") }
        let st = [BatchItems.Input(path: "/s/a.png", name: "a.png"), BatchItems.Input(path: "/s/b.png", name: "b.png")]
        let before = try BatchItems.items(contents: c, styles: st, pairs: .perContent(1), sampling: s, seed: 7)
        let after = try BatchItems.items(contents: c + [BatchItems.Input(path: "/c/new.png", name: "new.png")], styles: st,
                                         pairs: .perContent(1), sampling: s, seed: 7)
        for item in before {
            let same = try XCTUnwrap(after.first { $0.id == item.id })
            XCTAssertEqual(same.styleWeight, item.styleWeight)
            XCTAssertEqual(same.size, item.size)
            XCTAssertEqual(same.outputName, item.outputName)
        }
        XCTAssertGreaterThan(Set(before.map(\.styleWeight)).count, 1, "the weight is sampled")
        XCTAssertTrue(before.allSatisfy { $0.styleWeight >= 1 && $0.styleWeight <= 20 })
        let other = try BatchItems.items(contents: c, styles: st, pairs: .perContent(1), sampling: s, seed: 8)
        XCTAssertNotEqual(other.map(\.styleWeight), before.map(\.styleWeight), "another seed, other samples")
    }

    /// SIGKILL midway, then the same command: finished items are kept (not redone), no line is
    /// torn, and the set completes with the same bits as an uninterrupted run.
    func testAKilledBatchResumes() throws {
        try makeInputs()
        let whole = try batch("whole")
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let killed = try CLIRunner.run(["batch", "--contents", path("contents"), "--styles", path("styles"), "-o", path("killed"),
                                        "--style-weight", "1:20", "--style-scale", "0.6:1.2"] + Self.fast, in: directory) { process, log in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("item 4/") { usleep(20_000) }
            kill(process.processIdentifier, SIGKILL)
        }
        XCTAssertTrue(killed.signaled)
        let text = try String(contentsOfFile: path("killed/manifest.jsonl"), encoding: .utf8)
        let kept = BatchManifest.read(path("killed/manifest.jsonl")).count
        XCTAssertGreaterThanOrEqual(kept, 4)
        XCTAssertLessThan(kept, 14)
        XCTAssertTrue(text.hasSuffix("\n"), "no torn line")
        for name in try FileManager.default.contentsOfDirectory(atPath: path("killed")) {
            XCTAssertFalse(name.hasPrefix("."), "no temporary file left: \(name)")
        }
        let rerun = try batch("killed")
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("(\(kept) from an earlier run)"), rerun.stderr)
        XCTAssertEqual(try outputs("killed"), try outputs("whole"))
        XCTAssertEqual(BatchManifest.read(path("killed/manifest.jsonl")).count, 14, "one line per item")
    }

    /// Two workers (the CPU backend and OpenCL device 0) share the queue; each line names its
    /// device, and a rerun keeps every item whichever device made it.
    func testWorkersOnSeveralDevices() throws {
        try makeInputs(contents: 2)
        let fast = Self.fast.filter { $0 != "--backend" && $0 != "cpu" }
        let r = try CLIRunner.run(["batch", "--contents", path("contents"), "--styles", path("styles"), "-o", path("out"),
                                   "--devices", "cpu,0"] + fast, in: directory)
        XCTAssertEqual(r.status, 0, r.stderr)
        let recs = BatchManifest.read(path("out/manifest.jsonl"))
        XCTAssertEqual(recs.count, 6)
        XCTAssertEqual(Set(recs.map { $0.device.split(separator: " ").first! }), ["cpu", "opencl"], "both workers took items")
        let again = try CLIRunner.run(["batch", "--contents", path("contents"), "--styles", path("styles"), "-o", path("out"),
                                       "--devices", "cpu,0"] + fast, in: directory)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("(6 from an earlier run)"), again.stderr)
    }

    /// Bad values of the batch's own options: one `neural-style:` line, exit 64, nothing written.
    func testBadOptionsAreOneLineUsageErrors() throws {
        try makeInputs(contents: 1)
        for (extra, text) in [(["--shard", "3/3"], "--shard"), (["--shard", "auto"], "--shard auto"),
                              (["--style-weight", "5:1"], "--style-weight"), (["--style-scale", "x"], "--style-scale"),
                              (["--size", "8"], "--size"), (["--preserve-color", "none,sepia"], "--preserve-color"),
                              (["--init", "photo.png"], "--init"), (["--per-content", "3"], "--per-content"),
                              (["--pairs", "some"], "--pairs"), (["--devices", "cpu,cpu"], "distinct"),
                              (["--devices", "cpu"], "drop --backend")] {
            let r = try batch("out", extra)
            XCTAssertEqual(r.status, ExitStatus.usage, "\(extra): \(r.stderr)")
            XCTAssertEqual(r.stderrLines.count, 1, "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("neural-style:") && r.stderr.contains(text), "\(extra): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")), "\(extra): nothing written, not even the folder")
        }
        let missing = try CLIRunner.run(["batch", "--contents", path("nowhere"), "--styles", path("styles"), "-o", path("out")] + Self.fast,
                                        in: directory)
        XCTAssertEqual(missing.status, ExitStatus.dataError, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("nowhere"), missing.stderr)
    }

    /// A corrupt image, a non-image and a 1-pixel-wide image are failed items; the rest is done
    /// (a 1×1 image is upscaled like any other and is a valid item).
    func testBadFilesFailPerItem() throws {
        try makeInputs(contents: 2)
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: path("contents/text.png")))
        try (try bytes("contents/c0.png")).prefix(60).write(to: URL(fileURLWithPath: path("contents/truncated.png")))
        try writeImage("contents/dot.png", 1, 1)
        try writeImage("contents/thin.png", 1, 300)
        let r = try batch("out")
        XCTAssertEqual(r.status, ExitStatus.dataError, r.stderr)
        XCTAssertTrue(r.stderrLines.last?.contains("6 of 14 items failed") ?? false, r.stderr)
        let recs = BatchManifest.read(path("out/manifest.jsonl"))
        XCTAssertEqual(recs.filter { $0.status == "ok" }.count, 8)
        XCTAssertEqual(recs.filter { $0.content == "dot.png" && $0.status == "ok" }.count, 2)
        for bad in ["text.png", "truncated.png", "thin.png"] {
            let failed = recs.filter { $0.content == bad }
            XCTAssertEqual(failed.count, 2, bad)
            XCTAssertTrue(failed.allSatisfy { $0.status == "failed" && !($0.reason ?? "").isEmpty }, "\(bad): \(failed.map(\.reason))")
        }
    }
}
