import CImageIO
import Foundation
import XCTest
@testable import Engine

/// Checkpoints and resume: the file round-trips and refuses damage and other runs; a run killed
/// and resumed ends on the same bits as one that was never interrupted.
final class CheckpointTests: FolderTestCase {

    func testSHA256KnownAnswers() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // a million 'a's, fed in uneven pieces through the streaming interface
        var s = nsio_sha256()
        nsio_sha256_init(&s)
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var left = 1_000_000
        while left > 0 {
            let n = min(left, left % 7 == 0 ? 999 : 61)
            chunk.withUnsafeBytes { nsio_sha256_update(&s, $0.baseAddress, n) }
            left -= n
        }
        var digest = [UInt8](repeating: 0, count: 32)
        nsio_sha256_final(&s, &digest)
        XCTAssertEqual(digest.map { String(format: "%02x", $0) }.joined(),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    private func sample() -> Checkpoint {
        var st = OptimizerState(evaluations: 7, terms: LossTerms(terms: [
            TermValue(name: "content", value: 1.5, weight: 1),
            TermValue(name: "style", value: 0.85, weight: 5, layers: [("relu1_1", 2), ("relu2_1", 3)]),
            TermValue(name: "tv", value: 1e-3, weight: 1e-8)]))
        st.scalars = ["first": 0, "rho0": 0.125]
        st.vectors = [("x", (0..<(3 * 4 * 5)).map { Float($0) * 0.5 - 3 }), ("g", [Float](repeating: .pi, count: 60)),
                      ("s0", [Float](repeating: -1, count: 60)), ("y0", [Float](repeating: 2, count: 60))]
        return Checkpoint(run: "abc", scale: 1, evaluationsBefore: 10, width: 5, height: 4, optimizer: "lbfgs", state: st)
    }

    func testFileRoundTripsExactly() throws {
        let c = sample()
        try c.write(to: path("a.ckpt"))
        let r = try Checkpoint.read(path("a.ckpt"))
        XCTAssertEqual(r.run, "abc")
        XCTAssertEqual(r.scale, 1)
        XCTAssertEqual(r.evaluationsBefore, 10)
        XCTAssertEqual(r.state.evaluations, 7)
        XCTAssertEqual(r.state.terms.total, c.state.terms.total)
        XCTAssertEqual(r.state.scalars, c.state.scalars)
        XCTAssertEqual(r.state.vectors.map(\.name), ["x", "g", "s0", "y0"])
        for (a, b) in zip(r.state.vectors, c.state.vectors) { XCTAssertEqual(a.values, b.values, a.name) }
        XCTAssertTrue(r.hasHistory)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["a.ckpt"], "no temporary file left")
    }

    func testDamagedFilesAreRefusedWithTheirName() throws {
        try sample().write(to: path("a.ckpt"))
        let good = try Data(contentsOf: URL(fileURLWithPath: path("a.ckpt")))
        var flipped = good
        flipped[good.count - 3] ^= 1
        for (name, data, why) in [("flipped.ckpt", flipped, "checksum"), ("short.ckpt", good.prefix(good.count - 1), "truncated"),
                                  ("junk.ckpt", Data("hello".utf8), "not a neural-style checkpoint")] {
            try data.write(to: URL(fileURLWithPath: path(name)))
            XCTAssertThrowsError(try Checkpoint.read(path(name))) { e in
                XCTAssertTrue("\(e)".contains(why) && "\(e)".contains(name), "\(e)")
            }
        }
    }

    // MARK: through the CLI

    /// Runs stylize to completion, then the same run interrupted (SIGTERM once `killAt`
    /// evaluations are printed) and resumed; the two outputs must be the same bytes.
    private func assertResumeIsExact(_ extra: [String], killAt: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        try writeImage("c.png", 48, 40, seed: 1)
        try writeImage("s.png", 40, 40, seed: 2)
        let base = ["stylize", "c.png", "s.png", "--model", "random", "--backend", "cpu", "--size", "48", "--print-every", "1"] + extra
        let whole = try CLIRunner.run(base + ["-o", "whole.png"], in: directory)
        XCTAssertEqual(whole.status, 0, whole.stderr, file: file, line: line)
        let cut = try CLIRunner.run(base + ["-o", "cut.png", "--checkpoint-every", "3"], in: directory) { process, log in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("iteration \(killAt)/") {
                usleep(20_000)
            }
            process.terminate()
        }
        XCTAssertEqual(cut.status, ExitStatus.terminated, cut.stderr, file: file, line: line)
        XCTAssertTrue(cut.stderrLines.last?.contains("a checkpoint to cut.ckpt (continue with --resume)") ?? false, cut.stderr,
                      file: file, line: line)
        let resumed = try CLIRunner.run(base + ["-o", "cut.png", "--resume"], in: directory)
        XCTAssertEqual(resumed.status, 0, resumed.stderr, file: file, line: line)
        XCTAssertTrue(resumed.stderr.contains("resuming from cut.ckpt"), resumed.stderr, file: file, line: line)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("cut.png"))),
                       try Data(contentsOf: URL(fileURLWithPath: path("whole.png"))),
                       "the resumed run's output differs from the uninterrupted one", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("cut.ckpt")), "a finished run removes its checkpoint",
                       file: file, line: line)
    }

    func testInterruptedLBFGSRunResumesBitExactly() throws {
        try assertResumeIsExact(["--iterations", "16"], killAt: 7)
    }

    func testInterruptedCoarseToFineRunResumesBitExactlyInItsSecondScale() throws {
        try assertResumeIsExact(["--iterations", "12", "--scales", "2"], killAt: 9)
    }

    func testInterruptedAdamRunResumesBitExactly() throws {
        try assertResumeIsExact(["--iterations", "12", "--optimizer", "adam"], killAt: 5)
    }

    func testACheckpointOfAnotherRunIsRefused() throws {
        try writeImage("c.png", 48, 40, seed: 1)
        try writeImage("s.png", 40, 40, seed: 2)
        let base = ["stylize", "c.png", "s.png", "-o", "o.png", "--model", "random", "--backend", "cpu", "--size", "32"]
        let cut = try CLIRunner.run(base + ["--iterations", "40", "--checkpoint-every", "2", "--print-every", "1"], in: directory) { p, log in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("iteration 5/") {
                usleep(20_000)
            }
            p.terminate()
        }
        XCTAssertEqual(cut.status, ExitStatus.terminated, cut.stderr)
        let other = try CLIRunner.run(base + ["--iterations", "40", "--style-weight", "7", "--resume"], in: directory)
        XCTAssertEqual(other.status, ExitStatus.usage, other.stderr)
        XCTAssertTrue(other.stderrLines.last?.contains("was made by another run") ?? false, other.stderr)
    }
}
