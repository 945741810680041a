import CImageIO
import Foundation
import XCTest
@testable import Engine

/// A corpus of hostile and odd inputs, made at test time, and a table of command lines with the
/// outcome each must have. For every case: no crash (the process exits, no signal), the expected
/// exit status, a failure is one line `neural-style: …` naming what is wrong, the folder holds
/// exactly what it held plus the expected outputs (no temporary or partial file), and no input
/// file's bytes changed.
final class BadInputCorpusTests: FolderTestCase {

    // MARK: making the corpus

    private func write(_ data: Data, _ name: String) throws { try data.write(to: URL(fileURLWithPath: path(name))) }

    /// A PNG whose IHDR claims w × h (CRC recomputed, so only the size is wrong): a decompression bomb.
    private func pngClaiming(_ w: UInt32, _ h: UInt32, from source: Data) -> Data {
        var d = source
        // signature (8), length (4), "IHDR" (4), width, height …, CRC over type + 13 data bytes
        withUnsafeBytes(of: w.bigEndian) { d.replaceSubrange(16..<20, with: $0) }
        withUnsafeBytes(of: h.bigEndian) { d.replaceSubrange(20..<24, with: $0) }
        let crc = d.subdata(in: 12..<29).withUnsafeBytes { nsio_crc32(0, $0.baseAddress, 17) }
        withUnsafeBytes(of: crc.bigEndian) { d.replaceSubrange(29..<33, with: $0) }
        return d
    }

    /// The signature and IHDR of `png`, then a tEXt chunk whose header claims 2 GiB and a few
    /// bytes of it (found by tools/fuzz.sh: libpng allocated the claimed length first).
    static func textBomb(from png: Data, chunk: String = "tEXt") -> Data {
        var d = png.prefix(33)
        withUnsafeBytes(of: UInt32(0x7FFF_FFF0).bigEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array((chunk + "Comment\0hello").utf8))
        return d
    }

    /// A JPEG whose SOF0 frame header claims w × h.
    private func jpegClaiming(_ w: UInt16, _ h: UInt16, from source: Data) -> Data? {
        var d = source
        var i = 2
        while i + 9 < d.count {
            guard d[d.startIndex + i] == 0xFF else { return nil }
            let marker = d[d.startIndex + i + 1]
            let length = Int(d[d.startIndex + i + 2]) << 8 | Int(d[d.startIndex + i + 3])
            if marker == 0xC0 || marker == 0xC2 {
                withUnsafeBytes(of: h.bigEndian) { d.replaceSubrange((i + 5)..<(i + 7), with: $0) }
                withUnsafeBytes(of: w.bigEndian) { d.replaceSubrange((i + 7)..<(i + 9), with: $0) }
                return d
            }
            i += 2 + length
        }
        return nil
    }

    private func makeCorpus() throws {
        try writeImage("c.png", 48, 40, seed: 1)
        try writeImage("s.png", 40, 40, seed: 2)
        try writeImage("thin_1x300.png", 1, 300)
        try writeImage("thin_300x1.png", 300, 1)
        try writeImage("thin_300x10.png", 300, 10)
        try writeImage("thin_300x20.png", 300, 20)
        try writeImage("dot.png", 1, 1)
        try writeImage("o-0002.png", 48, 40, seed: 3)
        try writeImage("o-sw1.0.png", 48, 40, seed: 4)
        let png = try bytes("c.png")
        try write(Data(), "empty.png")
        try write(Data("just some text\n".utf8), "text.png")
        try write(png.prefix(png.count / 2), "half.png")
        try write(png.prefix(33), "header-only.png")
        var flipped = png
        flipped[flipped.count - 20] ^= 0x55   // inside the last IDAT: its CRC no longer matches
        try write(flipped, "flipped.png")
        try write(pngClaiming(12000, 12000, from: png), "bomb-12000.png")
        try write(pngClaiming(100_000, 100_000, from: png), "bomb-100000.png")
        try write(pngClaiming(0, 40, from: png), "zero-width.png")
        try write(Self.textBomb(from: png), "text-bomb.png")
        try write(Self.textBomb(from: png, chunk: "eXIf"), "exif-bomb.png")
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: CLIRunner.jpegFixture))
        try write(jpeg, "c.jpg")
        try write(jpeg.prefix(jpeg.count / 2), "half.jpg")
        try write(jpeg.prefix(jpeg.count / 10), "tenth.jpg")
        try write(XCTUnwrap(jpegClaiming(60000, 60000, from: jpeg)), "bomb.jpg")
        try FileManager.default.createDirectory(atPath: path("folder.png"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: path("weights-folder"), withIntermediateDirectories: false)
        // VGG-19 weights with one NaN, checksum recomputed: the file is intact, its numbers are not
        var parts = WeightsTests.vgg19Parts
        let layers = parts.manifest["layers"] as! [[String: Any]]
        let offset = (layers[3]["weight"] as! [String: Any])["offset"] as! Int + 4 * 17
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { parts.payload.replaceSubrange(offset..<(offset + 4), with: $0) }
        parts.manifest["payload_crc32"] = parts.payload.withUnsafeBytes { nsio_crc32(0, $0.baseAddress, $0.count) }
        try write(try WeightsTests.assemble(parts), "nan.nsw")
        let good = try WeightsTests.assemble(WeightsTests.vgg19Parts)
        try write(good.prefix(good.count / 3), "truncated.nsw")
    }

    // MARK: the table

    struct Case {
        let args: [String]
        let status: Int32
        /// Text the one-line error must contain (nil for a success).
        let mentioning: String?
        /// Files a success adds to the folder.
        var outputs: [String] = []
        /// The unknown-device error lists the devices after its first line.
        var multiline = false
    }

    private static let fast = ["--model", "random", "--backend", "cpu", "--iterations", "2"]

    private func stylize(_ content: String, style: String = "s.png", out: String = "o.png", size: Int = 32,
                         _ extra: [String] = []) -> [String] {
        ["stylize", content, style, "-o", out, "--size", String(size)] + Self.fast + extra
    }

    private func cases() -> [Case] {
        let usage = ExitStatus.usage, data = ExitStatus.dataError, io = ExitStatus.ioError
        return [
            // images: broken, odd and oversized
            Case(args: stylize("missing.png"), status: data, mentioning: "missing.png: no such file"),
            Case(args: stylize("empty.png"), status: data, mentioning: "empty.png: not a PNG or JPEG"),
            Case(args: stylize("text.png"), status: data, mentioning: "text.png: not a PNG or JPEG"),
            Case(args: stylize("folder.png"), status: data, mentioning: "folder.png: is a folder"),
            Case(args: stylize("half.png"), status: data, mentioning: "half.png: not a valid PNG"),
            Case(args: stylize("header-only.png"), status: data, mentioning: "header-only.png: not a valid PNG"),
            Case(args: stylize("flipped.png"), status: data, mentioning: "flipped.png: not a valid PNG"),
            Case(args: stylize("zero-width.png"), status: data, mentioning: "zero-width.png"),
            Case(args: stylize("bomb-12000.png"), status: data, mentioning: "over the limit of 100.0"),
            Case(args: stylize("bomb-100000.png"), status: data, mentioning: "sides over 65536 pixels"),
            Case(args: stylize("text-bomb.png"), status: data, mentioning: "text-bomb.png: not a valid PNG"),
            Case(args: stylize("exif-bomb.png"), status: data, mentioning: "exif-bomb.png: not a valid PNG"),
            Case(args: stylize("c.png", style: "bomb-12000.png"), status: data, mentioning: "style image"),
            Case(args: stylize("half.jpg"), status: data, mentioning: "half.jpg: not a valid JPEG (Premature end"),
            Case(args: stylize("tenth.jpg"), status: data, mentioning: "tenth.jpg: not a valid JPEG"),
            Case(args: stylize("bomb.jpg"), status: data, mentioning: "bomb.jpg: 60000×60000"),
            Case(args: stylize("c.png", style: "s.png", ["--init", "half.jpg"]), status: data, mentioning: "--init image"),
            // images the network cannot see: every layer would be pooled away
            Case(args: stylize("thin_1x300.png", size: 64), status: usage, mentioning: "needs at least 16 px"),
            Case(args: stylize("thin_300x1.png", size: 64), status: usage, mentioning: "64×1"),
            Case(args: stylize("thin_300x10.png", size: 64), status: usage, mentioning: "64×2"),
            Case(args: stylize("thin_300x20.png", size: 64), status: usage, mentioning: "64×4"),
            Case(args: stylize("thin_1x300.png", size: 64, ["--dry-run"]), status: usage, mentioning: "needs at least 16 px"),
            Case(args: stylize("c.png", style: "thin_1x300.png", size: 64), status: usage, mentioning: "the style image (1×300)"),
            Case(args: ["reconstruct", "thin_1x300.png", "-o", "r.png", "--size", "64"] + Self.fast,
                 status: usage, mentioning: "needs at least 8 px"),
            Case(args: ["stylize", "thin_1x300.png", "s.png", "-o", "o.png", "--size", "64", "--model", "random",
                        "--backend", "opencl", "--iterations", "2"], status: usage, mentioning: "needs at least 16 px"),
            // weights
            Case(args: ["stylize", "c.png", "s.png", "-o", "o.png", "--size", "32", "--model", "vgg19", "--weights", "nan.nsw",
                        "--backend", "cpu", "--iterations", "2"], status: data, mentioning: "conv2_2.weight[17] is nan"),
            Case(args: ["stylize", "c.png", "s.png", "-o", "o.png", "--size", "32", "--model", "vgg19", "--weights",
                        "truncated.nsw", "--backend", "cpu", "--iterations", "2"], status: data, mentioning: "truncated"),
            Case(args: ["stylize", "c.png", "s.png", "-o", "o.png", "--size", "32", "--model", "vgg19", "--weights",
                        "weights-folder", "--backend", "cpu", "--iterations", "2"], status: data, mentioning: "is a folder"),
            // outputs: checked before any work, inputs never overwritten
            Case(args: stylize("c.png", out: "nowhere/o.png"), status: io, mentioning: "folder"),
            Case(args: stylize("c.png", out: "folder.png"), status: io, mentioning: "it is a folder"),
            Case(args: stylize("c.png", out: "o.jpg"), status: usage, mentioning: "ending in .png"),
            Case(args: stylize("c.png", out: "c.png"), status: usage, mentioning: "refusing to overwrite the input image c.png"),
            Case(args: stylize("o-0002.png", out: "o.png", ["--iterations", "3", "--save-every", "2"]), status: usage,
                 mentioning: "refusing to overwrite the input image o-0002.png"),
            Case(args: stylize("o-sw1.0.png", out: "o.png", ["--style-weight", "1,5"]), status: usage,
                 mentioning: "refusing to overwrite the input image o-sw1.0.png"),
            Case(args: stylize("c.png", style: "s.png", out: "o.png", ["--init", "o.png"]), status: usage,
                 mentioning: "refusing to overwrite"),
            // values: one line, exit 64, naming the option and the value
            Case(args: stylize("c.png", ["--size", "-5"]), status: usage, mentioning: "--size must be between 16 and 32768 pixels (got -5)"),
            Case(args: stylize("c.png", ["--iterations", "-1"]), status: usage, mentioning: "--iterations"),
            Case(args: stylize("c.png", ["--iterations", "abc"]), status: usage, mentioning: "'abc' is invalid for '--iterations"),
            Case(args: stylize("c.png", ["--no-such-option"]), status: usage, mentioning: "unknown option '--no-such-option'"),
            Case(args: stylize("c.png", ["--learning-rate", "-1"]), status: usage, mentioning: "--learning-rate"),
            Case(args: stylize("c.png", ["--save-every", "-1"]), status: usage, mentioning: "--save-every"),
            Case(args: stylize("c.png", ["--print-every", "-1"]), status: usage, mentioning: "--print-every"),
            Case(args: stylize("c.png", ["--tolerance", "-1"]), status: usage, mentioning: "--tolerance"),
            Case(args: stylize("c.png", ["--tolerance", "nan"]), status: usage, mentioning: "--tolerance"),
            Case(args: stylize("c.png", ["--memory-limit", "-1G"]), status: usage, mentioning: "--memory-limit"),
            Case(args: stylize("c.png", ["--memory-limit", "99999999999999999999G"]), status: usage, mentioning: "1 PiB"),
            Case(args: stylize("c.png", ["--seed", "-1"]), status: usage, mentioning: "--seed must be a whole number"),
            Case(args: stylize("c.png", ["--preconditioner", "jacobi"]), status: usage, mentioning: "--preconditioner must be pyramid or none (got \"jacobi\")"),
            Case(args: stylize("c.png", ["--device", "-1"]), status: usage, mentioning: "--device"),
            Case(args: stylize("c.png", ["--style-weight", "1,,2"]), status: usage, mentioning: "1,,2"),
            Case(args: stylize("c.png", ["--style-weight", "nan"]), status: usage, mentioning: "--style-weight"),
            Case(args: stylize("c.png", ["--style-layer-weights", "1,"]), status: usage, mentioning: "--style-layer-weights"),
            Case(args: stylize("c.png", ["--style-mean-weight", "-1"]), status: usage, mentioning: "--style-mean-weight must be a finite number"),
            Case(args: stylize("c.png", ["--style-mean-weight", "inf"]), status: usage, mentioning: "--style-mean-weight must be a finite number"),
            Case(args: stylize("c.png", size: 64, ["--scales", "8"]), status: usage, mentioning: "at most 3 scales"),
            Case(args: stylize("c.png", ["--scale-sizes", "16,,32"]), status: usage, mentioning: "--scale-sizes"),
            Case(args: stylize("c.png", ["--weights", "nan.nsw"]), status: usage, mentioning: "--weights is not used with --model random"),
            Case(args: stylize("c.png", ["--max-input-megapixels", "0"]), status: usage, mentioning: "--max-input-megapixels"),
            Case(args: stylize("c.png", ["--content-layer", "relu9_1"]), status: usage, mentioning: "relu9_1"),
            Case(args: ["stylize", "c.png", "s.png", "-o", "o.png", "--backend", "tpu"], status: usage, mentioning: "--backend"),
            Case(args: ["check", "--only", "bogus"], status: usage, mentioning: "--only bogus matches no operation"),
            Case(args: ["bench", "--backend", "cpu", "--device", "0", "--sizes", "16"], status: usage, mentioning: "--device"),
            Case(args: ["bench", "--sizes", "16,,32"], status: usage, mentioning: "--sizes"),
            // the perceptual controls: per-style lists, K:value, masks
            // the studio: refused before it listens or writes anything
            Case(args: ["serve", "--host", "0.0.0.0"], status: usage, mentioning: "give --token SECRET too"),
            Case(args: ["serve", "--port", "70000"], status: usage, mentioning: "--port must be 1…65535"),
            Case(args: ["serve", "--token", "short"], status: usage, mentioning: "--token must be at least 8 characters"),
            Case(args: ["serve", "--devices", "tpu"], status: usage, mentioning: "--devices must be all, cpu or opencl"),
            Case(args: ["serve", "--data", "/proc/neural-style-studio"], status: io, mentioning: "cannot create the data folder /proc/neural-style-studio"),
            Case(args: ["stylize", "c.png", "-o", "o.png", "--model", "random"], status: usage, mentioning: "at least one style image"),
            Case(args: stylize("c.png", ["--style-blend-weights", "1,2"]), status: usage, mentioning: "2 values for 1 style images"),
            Case(args: stylize("c.png", ["--style-blend-weights", "0"]), status: usage, mentioning: "not all 0"),
            Case(args: stylize("c.png", ["--style-scale", "1,0"]), status: usage, mentioning: "--style-scale"),
            Case(args: stylize("c.png", ["--preserve-color", "sepia"]), status: usage, mentioning: "--preserve-color"),
            Case(args: stylize("c.png", ["--preserve-color", "histogram", "--color-match", "lab"]), status: usage, mentioning: "--color-match"),
            Case(args: stylize("c.png", ["--style-mask", "2:s.png"]), status: usage, mentioning: "K must be 1…1"),
            Case(args: stylize("c.png", ["--style-mask", "s.png"]), status: usage, mentioning: "K:value"),
            Case(args: stylize("c.png", ["--style-mask", "1:missing.png"]), status: ExitStatus.dataError, mentioning: "--style-mask 1"),
            Case(args: stylize("c.png", ["--style-mask", "1:half.png"]), status: ExitStatus.dataError, mentioning: "--style-mask 1"),
            Case(args: stylize("c.png", ["--style-layers-of", "1:relu9_9"]), status: usage, mentioning: "relu9_9 is not one of --style-layers"),
            Case(args: stylize("c.png", ["--content-weight-map", "o.png"]), status: usage, mentioning: "refusing to overwrite"),
            Case(args: ["stylize", "c.png", "s.png", "c.png", "-o", "o.png", "--model", "random", "--size", "32",
                        "--style-mask", "1:s.png"], status: usage, mentioning: "not for style 2"),
            // resources
            Case(args: stylize("c.png", ["--memory-limit", "1M"]), status: ExitStatus.outOfMemory, mentioning: "--memory-limit"),
            Case(args: ["stylize", "c.png", "s.png", "-o", "o.png", "--backend", "opencl", "--device", "nosuchdevice",
                        "--model", "random", "--size", "32"], status: ExitStatus.unavailable, mentioning: "nosuchdevice",
                 multiline: true),
            // what does work: odd but valid inputs give finite results
            Case(args: stylize("c.jpg", ["--json"]), status: 0, mentioning: nil, outputs: ["o.png"]),
            Case(args: stylize("dot.png", ["--json"]), status: 0, mentioning: nil, outputs: ["o.png"]),
            Case(args: stylize("thin_300x20.png", size: 300, ["--json"]), status: 0, mentioning: nil, outputs: ["o.png"]),
            Case(args: stylize("bomb-12000.png", ["--dry-run", "--max-input-megapixels", "150"]), status: data,
                 mentioning: "bomb-12000.png: not a valid PNG"),
        ]
    }

    func testEveryCaseHasItsOutcomeAndLeavesNothingBehind() throws {
        try makeCorpus()
        let inputs = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var digests: [String: Data] = [:]
        for name in inputs where !name.hasSuffix("folder") && name != "folder.png" { digests[name] = try bytes(name) }
        for c in cases() {
            let cmd = "neural-style " + c.args.joined(separator: " ")
            let r = try CLIRunner.run(c.args, in: directory)
            XCTAssertFalse(r.signaled, "\(cmd) crashed (signal \(r.status)): \(r.stderr)")
            XCTAssertEqual(r.status, c.status, "\(cmd): stderr \(r.stderr.debugDescription)")
            if let text = c.mentioning {
                let lines = r.stderrLines
                XCTAssertTrue(lines.first?.hasPrefix("neural-style: ") ?? false, "\(cmd): \(r.stderr.debugDescription)")
                XCTAssertTrue(lines.first?.contains(text) ?? false, "\(cmd): should mention \"\(text)\": \(r.stderr.debugDescription)")
                if !c.multiline { XCTAssertEqual(lines.count, 1, "\(cmd): one line expected: \(r.stderr.debugDescription)") }
            } else if c.args.contains("--json") {
                let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
                let total = report?["total"] as? Double ?? .nan
                XCTAssertTrue(total.isFinite && total > 0, "\(cmd): total \(total)")
            }
            let now = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            XCTAssertEqual(now, (inputs + c.outputs).sorted(), "\(cmd) left the folder changed")
            for (name, data) in digests { XCTAssertEqual(try bytes(name), data, "\(cmd) changed the input \(name)") }
            for name in Set(now).subtracting(inputs) { try? FileManager.default.removeItem(atPath: path(name)) }
            print("\(cmd)\n  → exit \(r.status): \(r.stderrLines.first ?? "")")
        }
    }

    /// SIGTERM, as a scheduler's preemption sends it, finishes the iteration, writes the current
    /// image and exits 143.
    func testSIGTERMWritesTheCurrentImageAndExits143() throws {
        try writeImage("c.png", 48, 40, seed: 1)
        try writeImage("s.png", 40, 40, seed: 2)
        let r = try CLIRunner.run(stylize("c.png", ["--iterations", "100000", "--print-every", "1"]), in: directory) { process, log in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("iteration 2/") {
                usleep(50_000)
            }
            process.terminate()   // SIGTERM
        }
        XCTAssertFalse(r.signaled, r.stderr)
        XCTAssertEqual(r.status, ExitStatus.terminated, r.stderr)
        XCTAssertTrue(r.stderrLines.last?.contains("wrote the current image to") ?? false, r.stderr)
        XCTAssertEqual(try RGBImage.load(path("o.png")).width, 32)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["c.png", "o.png", "s.png"])
    }

    /// A full disk: the error names the output the user gave and the cause, nothing is left, exit 74.
    /// Needs a small tmpfs (root); skipped where mounting is not allowed.
    func testFullDiskNamesTheOutputAndTheCause() throws {
        try writeImage("c.png", 48, 40, seed: 1)
        try writeImage("s.png", 40, 40, seed: 2)
        let mount = path("full")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: false)
        guard shell("mount -t tmpfs -o size=64k tmpfs '\(mount)'") == 0 else { throw XCTSkip("cannot mount a tmpfs here") }
        defer { _ = shell("umount '\(mount)'") }
        XCTAssertEqual(shell("dd if=/dev/zero of='\(mount)/fill' bs=1k count=60 2>/dev/null"), 0)
        let r = try CLIRunner.run(stylize("c.png", out: "full/o.png", size: 64), in: directory)
        XCTAssertEqual(r.status, ExitStatus.ioError, r.stderr)
        XCTAssertEqual(r.stderrLines.last, "neural-style: cannot write full/o.png: no space left on device", r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mount), ["fill"])
    }

    private func shell(_ command: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// The 2 GiB text chunk costs no more memory than any other broken PNG: the child's peak
    /// RSS (from wait4) stays far below the claimed length.
    func testATextChunkClaiming2GiBIsNotAllocated() throws {
        try writeImage("c.png", 48, 40, seed: 1)
        for chunk in ["tEXt", "eXIf"] {
            try write(Self.textBomb(from: try bytes("c.png"), chunk: chunk), "text-bomb.png")
            try assertSmallPeak(chunk)
        }
    }

    /// The peak RSS of the tool alone. It is measured by a small Python parent: a child started
    /// by posix_spawn (vfork) from this test process would inherit the test process's high-water
    /// mark, which the in-process studio tests raise past any limit.
    private func assertSmallPeak(_ chunk: String) throws {
        guard let exe = CLIRunner.executable else { return XCTFail("no executable") }
        let script = "import resource, subprocess, sys\n"
            + "r = subprocess.run(sys.argv[1:], stderr=subprocess.DEVNULL)\n"
            + "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, exe.path, "stylize", path("text-bomb.png"), path("c.png"), "-o", path("o.png"),
                       "--backend", "cpu", "--model", "random", "--size", "32", "--iterations", "1"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let fields = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
        XCTAssertEqual(fields.count, 2, "the measuring parent's output")
        guard fields.count == 2, let status = Int32(fields[0]), let kib = Int(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) else { return }
        XCTAssertEqual(status, ExitStatus.dataError, "exit status")
        let peakMiB = kib / 1024
        print("\(chunk) claiming 2 GiB: peak RSS \(peakMiB) MiB")
        XCTAssertLessThan(peakMiB, 300, "the claimed 2 GiB of \(chunk) was allocated")
    }

    // MARK: the memory budget

    /// Under a container the cgroup's limit, not MemAvailable, is the bound: v2 and v1 trees.
    func testCgroupLimitBoundsTheBudget() throws {
        let root = directory.appendingPathComponent("cgroup").path
        let fm = FileManager.default
        func put(_ text: String, _ file: String) throws { try text.write(toFile: file, atomically: true, encoding: .utf8) }
        try fm.createDirectory(atPath: root + "/job/step", withIntermediateDirectories: true)
        try put("max\n", root + "/job/step/memory.max")
        try put("100\n", root + "/job/step/memory.current")
        try put("4000000000\n", root + "/job/memory.max")
        try put("1000000000\n", root + "/job/memory.current")
        try put("0::/job/step\n", path("self-v2"))
        let v2 = try XCTUnwrap(ProcessMemory.cgroupRoom(selfCgroup: path("self-v2"), cgroupRoot: root))
        XCTAssertEqual(v2.bytes, 3_000_000_000)
        XCTAssertTrue(v2.source.contains("memory.max of \(root)/job"), v2.source)

        try fm.createDirectory(atPath: root + "/memory/slurm/job_7", withIntermediateDirectories: true)
        try put("2147483648\n", root + "/memory/slurm/job_7/memory.limit_in_bytes")
        try put("147483648\n", root + "/memory/slurm/job_7/memory.usage_in_bytes")
        try put("9223372036854771712\n", root + "/memory/memory.limit_in_bytes")
        try put("12:memory:/slurm/job_7\n3:cpu,cpuacct:/slurm/job_7\n", path("self-v1"))
        let v1 = try XCTUnwrap(ProcessMemory.cgroupRoom(selfCgroup: path("self-v1"), cgroupRoot: root))
        XCTAssertEqual(v1.bytes, 2_000_000_000)
        XCTAssertTrue(v1.source.contains("memory.limit_in_bytes"), v1.source)

        try put("0::/\n", path("self-none"))
        XCTAssertNil(ProcessMemory.cgroupRoom(selfCgroup: path("self-none"), cgroupRoot: root + "/job/step"))
    }
}
