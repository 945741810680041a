import Foundation
import XCTest
@testable import Engine

/// Video decoding and encoding through ffmpeg, on clips ffmpeg makes in the test's folder
/// (`testsrc`: a moving pattern, 96×64 at 12 fps for one second, with a 440 Hz tone).
final class VideoIOTests: FolderTestCase {
    // MARK: helpers

    // Each ffmpeg or ffprobe run costs about 0.3 s (the Debian build loads many libraries), so
    // the clip and its decoded frames are made once for the class, in a folder of its own.
    nonisolated(unsafe) private static var sharedFolder: URL?
    nonisolated(unsafe) private static var sharedClip: (path: String, info: VideoInfo, frames: [RGBImage])?

    override class func tearDown() {
        if let d = sharedFolder { try? FileManager.default.removeItem(at: d) }
        sharedFolder = nil
        sharedClip = nil
        super.tearDown()
    }

    /// Runs ffmpeg with `arguments` in `folder` (the test's by default); fails the test if it fails.
    private func ffmpeg(_ arguments: [String], in folder: URL? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try FFmpeg.locate("ffmpeg"))
        p.arguments = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"] + arguments
        p.currentDirectoryURL = folder ?? directory
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "ffmpeg \(arguments.joined(separator: " "))", file: file, line: line)
    }

    /// The 96×64, 12 fps, one-second clip with audio (read only: shared by the tests), its
    /// probed info and every decoded frame.
    private func clip() throws -> (path: String, info: VideoInfo, frames: [RGBImage]) {
        if let c = Self.sharedClip { return c }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ns-video-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        Self.sharedFolder = folder
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=12", "-f", "lavfi", "-i", "sine=frequency=440",
                    "-t", "1", "-shortest", "-pix_fmt", "yuv420p", "-c:v", "libx264", "clip.mp4"], in: folder)
        let path = folder.appendingPathComponent("clip.mp4").path
        let (info, frames) = try decodeAll(path)
        Self.sharedClip = (path, info, frames)
        return (path, info, frames)
    }

    private func decodeAll(_ input: String) throws -> (info: VideoInfo, frames: [RGBImage]) {
        let source = try FrameSource(input, maxPixels: 1 << 20)
        defer { source.close() }
        var frames: [RGBImage] = []
        while let f = try source.next() { frames.append(f) }
        return (source.info, frames)
    }

    /// A frame of one colour, so its position in a sequence can be read back from any pixel.
    private func writeFlat(_ name: String, value: Float, _ w: Int = 16, _ h: Int = 12) throws {
        try RGBImage(width: w, height: h, pixels: [Float](repeating: value, count: w * h * 3)).writePNG(path(name))
    }

    private func assertError(_ expression: @autoclosure () throws -> Any, contains text: String, exit: Int32,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let e = error as? EngineError else { return XCTFail("not an EngineError: \(error)", file: file, line: line) }
            XCTAssertTrue(e.description.contains(text), "\(e.description) does not contain \(text)", file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), "more than one line: \(e.description)", file: file, line: line)
            XCTAssertEqual(e.exitCode, exit, e.description, file: file, line: line)
        }
    }

    private func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Float {
        precondition(a.pixels.count == b.pixels.count)
        return zip(a.pixels, b.pixels).reduce(0) { $0 + abs($1.0 - $1.1) } / Float(a.pixels.count)
    }

    /// Writes `frames` as `frames/frame-%05d.png` and returns that pattern.
    private func writeFrames(_ frames: [RGBImage]) throws -> String {
        try FileManager.default.createDirectory(atPath: path("frames"), withIntermediateDirectories: true)
        for (i, f) in frames.enumerated() { try f.writePNG(path(String(format: "frames/frame-%05d.png", i))) }
        return path("frames/frame-%05d.png")
    }

    // MARK: probing and decoding

    func testProbeReportsSizeRateAudioAndFrameCount() throws {
        let info = try clip().info
        XCTAssertEqual(info.width, 96)
        XCTAssertEqual(info.height, 64)
        XCTAssertEqual(info.frameRate, "12/1")
        XCTAssertEqual(info.framesPerSecond, 12, accuracy: 1e-9)
        XCTAssertTrue(info.hasAudio)
        let count = try XCTUnwrap(info.frameCount)
        XCTAssertTrue((11...13).contains(count), "\(count) frames")
        XCTAssertEqual(VideoInfo.parseRate("30000/1001")!, 29.97, accuracy: 0.001)
        XCTAssertNil(VideoInfo.parseRate("0/0"))
    }

    func testDecodesEveryFrameAsFFmpegWouldWriteIt() throws {
        let (clip, info, frames) = try clip()
        XCTAssertEqual(frames.count, try XCTUnwrap(info.frameCount))
        for f in frames {
            XCTAssertEqual(f.width, 96)
            XCTAssertEqual(f.height, 64)
            XCTAssertGreaterThan(f.pixels.reduce(0, +) / Float(f.pixels.count), 20, "a frame is (nearly) black")
            XCTAssertEqual(f.pixels.max()!, 255, accuracy: 30)
        }
        XCTAssertGreaterThan(meanAbsoluteDifference(frames[0], frames[6]), 1, "testsrc moves: frames 0 and 6 should differ")
        // the same frames ffmpeg writes as PNGs: layout (interleaved RGB, row-major) and order
        try ffmpeg(["-i", clip, "-vf", "select=eq(n\\,5)", "-frames:v", "1", "f5.png"])
        let reference = try RGBImage.load(path("f5.png"))
        XCTAssertEqual(frames[5].pixels, reference.pixels)
    }

    func testFrameRangeStartsAtItsFirstFrame() throws {
        let (clip, _, all) = try clip()
        let source = try FrameSource(clip, maxPixels: 1 << 20)
        defer { source.close() }
        var seen: [Int] = []
        let n = try source.forEachFrame(in: 3..<6) { index, frame in
            seen.append(index)
            XCTAssertEqual(frame.pixels, all[index].pixels, "frame \(index)")
        }
        XCTAssertEqual(n, 3)
        XCTAssertEqual(seen, [3, 4, 5])
        XCTAssertEqual(source.frameIndex, 6)
        // a range past the end is cut at the end; one that starts after it is an error
        XCTAssertEqual(try source.skip(100), all.count - 6)
        XCTAssertNil(try source.next())
        let late = try FrameSource(clip, maxPixels: 1 << 20)
        assertError(try late.forEachFrame(in: 40..<50) { _, _ in }, contains: "start after the clip's end", exit: 64)
    }

    func testRotatedVideoIsDecodedUpright() throws {
        try ffmpeg(["-i", try clip().path, "-c", "copy", "-metadata:s:v:0", "rotate=90", "rotated.mp4"])
        let (info, frames) = try decodeAll(path("rotated.mp4"))
        XCTAssertEqual([info.width, info.height], [64, 96])
        XCTAssertFalse(frames.isEmpty)
        XCTAssertTrue(frames.allSatisfy { $0.width == 64 && $0.height == 96 })
    }

    func testLargeVideoFramesAreRefused() throws {
        assertError(try FrameSource(try clip().path, maxPixels: 96 * 64 - 1), contains: "over the limit", exit: 65)
    }

    // MARK: folders and patterns

    func testFolderFramesAreReadInNaturalOrder() throws {
        try FileManager.default.createDirectory(atPath: path("frames"), withIntermediateDirectories: true)
        // plain string order would read frame1, frame10, frame2
        for (name, value) in [("frame10.png", 30), ("frame2.png", 20), ("frame1.png", 10)] {
            try writeFlat("frames/" + name, value: Float(value))
        }
        try writeFlat("frames/.hidden.png", value: 99)
        try "not a frame".write(toFile: path("frames/notes.txt"), atomically: true, encoding: .utf8)
        let source = try FrameSource(path("frames"), maxPixels: 1 << 20)
        XCTAssertEqual(source.info.frameCount, 3)
        XCTAssertEqual(source.info.frameRate, "25/1")
        XCTAssertFalse(source.info.hasAudio)
        var values: [Float] = []
        while let f = try source.next() { values.append(f.pixels[0]) }
        XCTAssertEqual(values, [10, 20, 30])
        XCTAssertTrue(FrameSource.naturalOrder("f2.png", "f10.png"))
        XCTAssertFalse(FrameSource.naturalOrder("f10.png", "f2.png"))
        XCTAssertTrue(FrameSource.naturalOrder("a9b", "b1"))
    }

    func testPrintfPatternReadsToTheFirstGap() throws {
        for (n, value) in [(1, 10), (2, 20), (3, 30), (5, 50)] { try writeFlat(String(format: "p_%03d.png", n), value: Float(value)) }
        let fromOne = try FrameSource(path("p_%03d.png"), maxPixels: 1 << 20)
        XCTAssertEqual(fromOne.info.frameCount, 3)
        var values: [Float] = []
        while let f = try fromOne.next() { values.append(f.pixels[0]) }
        XCTAssertEqual(values, [10, 20, 30])
        try writeFlat("q0.png", value: 5)
        try writeFlat("q1.png", value: 6)
        let fromZero = try FrameSource(path("q%d.png"), maxPixels: 1 << 20)
        XCTAssertEqual(fromZero.info.frameCount, 2)
        XCTAssertEqual(try fromZero.next()?.pixels[0], 5)
        assertError(try FrameSource(path("none_%04d.png"), maxPixels: 1 << 20), contains: "no frame numbered 0 or 1", exit: 65)
    }

    func testOneFrameIsAClip() throws {
        try writeFlat("still.png", value: 77)
        let source = try FrameSource(path("still.png"), maxPixels: 1 << 20)
        XCTAssertEqual(source.info.frameCount, 1)
        XCTAssertEqual(try source.next()?.pixels[0], 77)
        XCTAssertNil(try source.next())
    }

    // MARK: encoding

    func testEncodeMP4KeepsRateFramesAndAudio() throws {
        let (clip, info, frames) = try clip()
        let pattern = try writeFrames(frames)
        try VideoEncoder.encode(frames: pattern, count: frames.count, info: info, audioFrom: clip, to: path("out.mp4"))
        XCTAssertEqual(try files(), ["frames", "out.mp4"], "a temporary file was left")
        let (out, decoded) = try decodeAll(path("out.mp4"))
        XCTAssertEqual([out.width, out.height], [96, 64])
        XCTAssertEqual(out.frameRate, "12/1")
        XCTAssertTrue(out.hasAudio, "the audio was not copied")
        XCTAssertEqual(out.frameCount, frames.count)
        XCTAssertEqual(decoded.count, frames.count)
        for (a, b) in zip(decoded, frames) { XCTAssertLessThan(meanAbsoluteDifference(a, b), 6, "CRF 18 should look the same") }
        // the first half (as after --frames 0:6) with the audio from 0.5 s: the audio must
        // survive the cut, and the same frames give the same bytes
        for name in ["half.mp4", "again.mp4"] {
            try VideoEncoder.encode(frames: pattern, count: 6, info: info, audioFrom: clip, audioOffset: 0.5, to: path(name))
        }
        let half = try Probe.video(path("half.mp4"))
        XCTAssertEqual(half.frameCount, 6)
        XCTAssertEqual(half.audioCodec, "aac")
        XCTAssertEqual(try bytes("half.mp4"), try bytes("again.mp4"))
    }

    func testEncodeOddSizePadsToEvenAndWithoutAudio() throws {
        var rng = SeededRandom(seed: 3)
        let frames = (0..<3).map { _ in RGBImage(width: 33, height: 21, pixels: (0..<(33 * 21 * 3)).map { _ in Float(rng.next() % 256) }) }
        let pattern = try writeFrames(frames)
        let info = VideoInfo(width: 33, height: 21, frameRate: "30000/1001", frameCount: 3, hasAudio: false)
        try VideoEncoder.encode(frames: pattern, count: 3, info: info, audioFrom: nil, to: path("odd.mkv"))
        let out = try FrameSource(path("odd.mkv"), maxPixels: 1 << 20)
        XCTAssertEqual([out.info.width, out.info.height], [34, 22])
        XCTAssertEqual(out.info.frameRate, "30000/1001")
        XCTAssertFalse(out.info.hasAudio)
        var count = 0
        while try out.next() != nil { count += 1 }
        XCTAssertEqual(count, 3)
    }

    func testEncodeGIF() throws {
        let (clip, info, frames) = try clip()
        let pattern = try writeFrames(frames)
        try VideoEncoder.encode(frames: pattern, count: frames.count, info: info, audioFrom: clip, to: path("out.gif"))
        XCTAssertEqual(try bytes("out.gif").prefix(6), Data("GIF89a".utf8))
        let (gif, decoded) = try decodeAll(path("out.gif"))
        XCTAssertFalse(gif.hasAudio)
        XCTAssertEqual(decoded.count, frames.count)
        XCTAssertTrue(decoded.allSatisfy { $0.width == 96 && $0.height == 64 })
        XCTAssertLessThan(meanAbsoluteDifference(decoded[4], frames[4]), 12, "palette of the clip's colours")
        XCTAssertTrue(VideoEncoder.isVideoPath("a/b.GIF"))
        XCTAssertTrue(VideoEncoder.isVideoPath("b.webm"))
        XCTAssertFalse(VideoEncoder.isVideoPath("b.png"))
    }

    func testFailedEncodeLeavesNoFile() throws {
        let frames = (0..<4).map { i in RGBImage(width: 16, height: 12, pixels: [Float](repeating: Float(i * 40), count: 16 * 12 * 3)) }
        let pattern = try writeFrames(frames)
        // frame 2 cut short: its header is fine, its data are not
        let cut = try Data(contentsOf: URL(fileURLWithPath: path("frames/frame-00002.png"))).prefix(60)
        try cut.write(to: URL(fileURLWithPath: path("frames/frame-00002.png")))
        let info = VideoInfo(width: 16, height: 12, frameRate: "25/1", frameCount: 4, hasAudio: false)
        assertError(try VideoEncoder.encode(frames: pattern, count: 4, info: info, audioFrom: nil, to: path("out.mp4")),
                    contains: "cannot encode \(path("out.mp4")): ", exit: 74)
        assertError(try VideoEncoder.encode(frames: pattern, count: 5, info: info, audioFrom: nil, to: path("out.mp4")),
                    contains: "frame-00004.png is missing", exit: 74)
        XCTAssertEqual(try files(), ["frames"], "an output or temporary file was left")
    }

    // MARK: bad input

    func testAudioOnlyFileIsRefused() throws {
        try ffmpeg(["-f", "lavfi", "-i", "sine", "-t", "1", "a.wav"])
        assertError(try FrameSource(path("a.wav"), maxPixels: 1 << 20), contains: "a.wav: no video stream (audio-only?)", exit: 65)
    }

    func testTextFileNamedMP4IsRefused() throws {
        try "hello, not a video\n".write(toFile: path("t.mp4"), atomically: true, encoding: .utf8)
        assertError(try FrameSource(path("t.mp4"), maxPixels: 1 << 20), contains: "t.mp4: not a video ffmpeg can read", exit: 65)
    }

    func testFolderOfMixedSizesIsRefused() throws {
        try FileManager.default.createDirectory(atPath: path("frames"), withIntermediateDirectories: true)
        try writeFlat("frames/a.png", value: 1, 96, 80)
        try writeFlat("frames/b.png", value: 2, 64, 48)
        assertError(try FrameSource(path("frames"), maxPixels: 1 << 20),
                    contains: "frames/b.png is 64×48 but the first frame is 96×80", exit: 65)
    }

    func testEmptyAndMissingInputsAreRefused() throws {
        try FileManager.default.createDirectory(atPath: path("empty"), withIntermediateDirectories: true)
        try "x".write(toFile: path("empty/readme.txt"), atomically: true, encoding: .utf8)
        assertError(try FrameSource(path("empty"), maxPixels: 1 << 20), contains: "no frames (PNG or JPEG files)", exit: 65)
        assertError(try FrameSource(path("missing.mp4"), maxPixels: 1 << 20), contains: "missing.mp4: no such file or folder", exit: 65)
    }

    func testMissingFFmpegIsReported() throws {
        let clip = try clip().path
        try writeFlat("still.png", value: 9)
        try FileManager.default.createDirectory(atPath: path("nothing"), withIntermediateDirectories: true)
        setenv(FFmpeg.environmentVariable, path("nothing"), 1)
        defer { unsetenv(FFmpeg.environmentVariable) }
        let message = "ffmpeg is not installed: apt-get install ffmpeg (Debian package ffmpeg)"
        assertError(try FFmpeg.check(), contains: message, exit: 69)
        assertError(try FrameSource(clip, maxPixels: 1 << 20), contains: message, exit: 69)
        let info = VideoInfo(width: 16, height: 12, frameRate: "25/1", frameCount: 1, hasAudio: false)
        let pattern = try writeFrames([try RGBImage.load(path("still.png"))])
        assertError(try VideoEncoder.encode(frames: pattern, count: 1, info: info, audioFrom: nil, to: path("out.mp4")),
                    contains: message, exit: 69)
        XCTAssertEqual(try files(), ["frames", "nothing", "still.png"], "an output or temporary file was left")
        // frames on disk need no ffmpeg
        XCTAssertEqual(try FrameSource(path("still.png"), maxPixels: 1 << 20).next()?.pixels[0], 9)
    }
}
