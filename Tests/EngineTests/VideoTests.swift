import Foundation
import XCTest
@testable import Engine

/// Video end to end on a synthetic clip whose motion is known: a textured square moving (+2, +1)
/// px a frame over a static textured background, with fresh camera-like noise (σ = 3 on the
/// 0–255 scale) in every frame. The temporal term must make consecutive stylised frames agree
/// along the true motion at least 3× better than independent per-frame stylisation, and a
/// resumed run must give the same frames as an uninterrupted one.
final class VideoTests: FolderTestCase {
    static let w = OpticalFlowTests.width, h = OpticalFlowTests.height, motion = (x: 2, y: 1)
    static let flowMotion: (Float, Float) = (2, 1)

    /// The optical-flow tests' clip: a 24 px textured square moving (+2, +1) px a frame over a
    /// static blurred-noise background, fresh σ = 3 noise in every frame.
    static func frame(_ t: Int) -> RGBImage { OpticalFlowTests.frame(t, motion: flowMotion) }

    static func inSquare(_ x: Int, _ y: Int, _ t: Int) -> Bool {
        OpticalFlowTests.inSquare(x, y, at: OpticalFlowTests.origin(frame: t, motion: flowMotion))
    }

    static func nearEdge(_ x: Int, _ y: Int, _ t: Int) -> Bool {
        OpticalFlowTests.nearEdge(x, y, at: OpticalFlowTests.origin(frame: t, motion: flowMotion), band: 3)
    }

    /// Mean squared difference between stylised frame t and frame t−1 moved by the true motion,
    /// over the pixels visible in both (away from the square's border by 3 px).
    static func temporalError(_ frames: [RGBImage]) -> Double {
        var sum = 0.0, n = 0
        for t in 1..<frames.count {
            let a = frames[t], b = frames[t - 1]
            for y in 0..<h { for x in 0..<w {
                guard !nearEdge(x, y, t) && !nearEdge(x, y, t - 1) else { continue }
                let now = inSquare(x, y, t), before = inSquare(x, y, t - 1)
                var sx = x, sy = y
                if now { sx -= motion.x; sy -= motion.y; guard inSquare(sx, sy, t - 1) else { continue } } else if before { continue }
                for c in 0..<3 {
                    let d = Double(a.pixels[(y * w + x) * 3 + c] - b.pixels[(sy * w + sx) * 3 + c])
                    sum += d * d
                }
                n += 3
            } }
        }
        return sum / Double(max(n, 1))
    }

    /// The normalised VGG-19 (the temporal weight's default is set for its loss scale; random
    /// weights give style losses of order 1e7).
    func weights() throws -> ModelWeights {
        if let w = Self.cached { return w }
        let path = ModelWeights.defaultPath(model: "vgg19-normalised")
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("real VGG-19 weights not found at \(path): run python3 tools/fetch_weights.py")
        }
        Self.cached = try ModelWeights.load(path, expected: .vgg19)
        return Self.cached!
    }
    nonisolated(unsafe) static var cached: ModelWeights?

    func stylizer(_ edit: (inout FrameStylizer.Settings) -> Void = { _ in }) throws -> FrameStylizer {
        var o = TransferOptions()
        o.size = 96
        o.iterations = 40
        o.lbfgsHistory = 20
        o.loss.contentLayer = "relu3_2"
        o.loss.styleLayers = ["relu1_1", "relu2_1", "relu3_1"]
        let transfer = try StyleTransfer(backend: CPUBackend(), weights: try weights(), options: o)
        var s = FrameStylizer.Settings()
        s.firstFrameIterations = 60
        edit(&s)
        var style = StyleInput(image: ControlsTests.busy(64, 64))
        style.targetKey = "busy"
        return try FrameStylizer(transfer: transfer, settings: s, template: TransferInputs(content: nil, styles: [style]))
    }

    func stylizeClip(_ f: FrameStylizer, frames: Int) throws -> [RGBImage] {
        var earlier: [FrameStylizer.Earlier] = [], out: [RGBImage] = []
        for t in 0..<frames {
            let content = Self.frame(t)
            let r = try f.stylize(content, after: earlier)
            out.append(r.image)
            earlier.insert(.init(content: content, stylised: r.image), at: 0)
        }
        return out
    }

    func testTheTemporalTermRemovesFlicker() throws {
        let consistent = try stylizeClip(try stylizer(), frames: 6)
        let independent = try stylizeClip(try stylizer { $0.temporalWeight = 0; $0.frameInit = .content }, frames: 6)
        let a = Self.temporalError(consistent), b = Self.temporalError(independent)
        print(String(format: "temporal error: %.2f with the temporal term, %.2f independent (%.1f×)", a, b, b / a))
        XCTAssertLessThan(3 * a, b)
    }
}

extension VideoTests {
    /// Writes the synthetic clip's frames 0..<n as PNGs into folder `name`.
    func writeClip(_ name: String, frames n: Int) throws -> String {
        let dir = path(name)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for t in 0..<n { try Self.frame(t).writePNG(dir + String(format: "/f%03d.png", t)) }
        return dir
    }

    func job(_ input: String, _ output: String, _ f: FrameStylizer, range: Range<Int>? = nil) -> VideoJob {
        VideoJob(input: input, output: output, stylizer: f, range: range, run: "test-run", maxPixels: 1 << 24)
    }

    /// Stopped after three frames and run again, the job keeps those frames and gives the same
    /// bits as an uninterrupted run (earlier frames are carried as their 8-bit PNGs).
    func testAResumedClipEqualsAnUninterruptedOne() throws {
        let clip = try writeClip("clip", frames: 5)
        let f = try stylizer { $0.firstFrameIterations = 20 }.with(iterations: 10)
        let whole = try job(clip, path("whole"), f).run()
        XCTAssertEqual(whole.frames, 5)
        var finished = 0
        let first = try job(clip, path("resumed"), try stylizer { $0.firstFrameIterations = 20 }.with(iterations: 10)).run(
            progress: { _ in finished += 1 }, onStep: { _, _ in finished < 3 })
        XCTAssertTrue(first.interrupted)
        XCTAssertEqual(first.frames, 3)
        let lines = try String(contentsOfFile: path("resumed/manifest.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3, "one manifest line per finished frame")
        let second = try job(clip, path("resumed"), try stylizer { $0.firstFrameIterations = 20 }.with(iterations: 10)).run()
        XCTAssertEqual(second.resumed, 3)
        XCTAssertEqual(second.frames, 5)
        for t in 0..<5 {
            let name = String(format: "frame-%05d.png", t)
            XCTAssertEqual(try bytes("whole/" + name), try bytes("resumed/" + name), name)
        }
        // a manifest line of another run is not reused
        let other = VideoJob(input: clip, output: path("resumed"), stylizer: try stylizer().with(iterations: 2), range: 0..<1,
                             run: "another-run", maxPixels: 1 << 24)
        XCTAssertEqual(try other.run().resumed, 0)
    }

    /// The command: a folder in, an MP4 out with the frame rate kept; --frames; bad input.
    func testTheVideoCommand() throws {
        let clip = try writeClip("clip", frames: 4)
        let fast = ["--model", "random", "--backend", "cpu", "--size", "48", "--iterations", "3", "--first-frame-iterations", "4",
                    "--style-layers", "relu1_1,relu2_1", "--content-layer", "relu2_2"]
        let ok = try CLIRunner.run(["video", clip, CLIRunner.starryNight, "-o", path("out.mp4"), "--frames", "1:4"] + fast, in: directory)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let probe = try FrameSource(path("out.mp4"), maxPixels: 1 << 24)
        XCTAssertEqual(probe.info.width, 48)
        XCTAssertEqual(probe.info.frameRate, "25/1")
        var n = 0
        while try probe.next() != nil { n += 1 }
        probe.close()
        XCTAssertEqual(n, 3, "--frames 1:4 is three frames")
        func fails(_ args: [String], _ status: Int32, _ text: String, env: [String: String] = [:]) throws {
            let r = try CLIRunner.run(["video"] + args + fast, in: directory, environment: env)
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            // progress lines may come first (a folder's frame sizes are checked as they are read)
            XCTAssertEqual(r.stderrLines.filter { $0.hasPrefix("neural-style:") }.count, 1, "\(args): one error line: \(r.stderr)")
            XCTAssertTrue(r.stderrLines.last?.hasPrefix("neural-style:") ?? false, "\(args): the error is the last line: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(text), "\(args): \(r.stderr)")
        }
        try fails([clip, CLIRunner.starryNight, "-o", path("bad.mp4"), "--frames", "3:1"], ExitStatus.usage, "--frames")
        try fails([clip, CLIRunner.starryNight, "-o", path("bad.mp4"), "--temporal-frames", "0"], ExitStatus.usage, "--temporal-frames")
        try fails([clip, CLIRunner.starryNight, "-o", path("bad.mp4"), "--frame-init", "noise"], ExitStatus.usage, "--frame-init")
        try fails([clip, CLIRunner.starryNight, "-o", clip], ExitStatus.usage, "refusing to overwrite")
        try fails([path("nothing.mp4"), CLIRunner.starryNight, "-o", path("bad.mp4")], ExitStatus.dataError, "nothing.mp4")
        try fails([clip, CLIRunner.starryNight, "-o", path("bad.mp4")], ExitStatus.unavailable, "apt-get install ffmpeg",
                  env: ["NEURAL_STYLE_FFMPEG": path("no-ffmpeg-here")])
        // frames of different sizes in a folder
        try FileManager.default.createDirectory(atPath: path("mixed"), withIntermediateDirectories: true)
        try Self.frame(0).writePNG(path("mixed/a.png"))
        try ControlsTests.busy(40, 30).writePNG(path("mixed/b.png"))
        try fails([path("mixed"), CLIRunner.starryNight, "-o", path("mixed-out")], ExitStatus.dataError, "b.png")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.mp4")), "nothing written")
        // a clip of one frame is a valid clip
        try FileManager.default.createDirectory(atPath: path("one"), withIntermediateDirectories: true)
        try Self.frame(0).writePNG(path("one/a.png"))
        let one = try CLIRunner.run(["video", path("one"), CLIRunner.starryNight, "-o", path("one-out")] + fast, in: directory)
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("one-out/frame-00000.png")))
    }
}

extension FrameStylizer {
    /// The same stylizer with another per-frame iteration count (tests).
    func with(iterations: Int) -> FrameStylizer {
        transfer.options.iterations = iterations
        return (try? FrameStylizer(transfer: transfer, settings: settings, template: template)) ?? self
    }
}

