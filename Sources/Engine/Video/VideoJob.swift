import Foundation

/// A whole clip: frames read from a video file, a folder or a printf pattern; each stylised
/// frame written atomically as a PNG into the frames folder (the output folder itself, or
/// `OUTPUT.frames/` beside a video output, encoded at the end with the input's frame rate and
/// audio). `manifest.jsonl` there gets one line per finished frame — its index, file, SHA-256
/// and the run's identity — appended after the PNG is in place and flushed, so rerunning the
/// same command resumes after the last finished frame. Earlier frames are carried as their
/// 8-bit PNGs, so a resumed run gives the same bits as an uninterrupted one.
public final class VideoJob {
    public let input: String
    public let output: String
    public let stylizer: FrameStylizer
    /// Frames A..<B of the clip (nil: all).
    public let range: Range<Int>?
    /// RunIdentity digest of the inputs and options: a manifest line of another run is not reused.
    public let run: String
    public let maxPixels: Int
    /// The output's frame rate for a folder or pattern of frames (a video keeps its own), like "12/1".
    public var frameRate: String?
    /// Keep `OUTPUT.frames/` after a video output is encoded (it is removed otherwise).
    public var keepFrames = false

    public init(input: String, output: String, stylizer: FrameStylizer, range: Range<Int>?, run: String,
                maxPixels: Int) {
        self.input = input
        self.output = output
        self.stylizer = stylizer
        self.range = range
        self.run = run
        self.maxPixels = maxPixels
    }

    public var writesVideo: Bool { VideoEncoder.isVideoPath(output) }
    /// Where the frames go.
    public var framesFolder: String { writesVideo ? output + ".frames" : output }
    public var manifestPath: String { framesFolder + "/manifest.jsonl" }
    func frameName(_ i: Int) -> String { String(format: "frame-%05d.png", i) }

    struct Line: Codable {
        let frame: Int
        let file: String
        let sha256: String
        /// SHA-256 of the content frame's 8-bit pixels: a changed input frame is stylised again.
        let content: String
        let run: String
        let seconds: Double
        let loss: Double
    }

    /// What one finished frame reports.
    public struct Progress {
        public let frame: Int
        public let done: Int
        public let total: Int?
        public let seconds: Double
        public let resumed: Bool
        public let terms: LossTerms?
    }

    public struct Summary {
        public let frames: Int
        public let resumed: Int
        public let secondsPerFrame: Double
        public let interrupted: Bool
    }

    /// Finished frames of this run, by index, from the manifest (lines of other runs and frames
    /// whose file is missing or changed are ignored).
    func finished() -> [Int: Line] {
        var out: [Int: Line] = [:]
        for line in JSONLines.read(Line.self, from: manifestPath) where line.run == run {
            let path = framesFolder + "/" + line.file
            guard let sha = try? SHA256.hex(ofFile: path), sha == line.sha256 else { continue }
            out[line.frame] = line
        }
        return out
    }

    /// Runs the clip. `onStep` sees every evaluation of the current frame; returning false stops
    /// after the frames already finished (the current one is not written).
    public func run(progress: (Progress) -> Void = { _ in },
                    onStep: (OptimizerStep, Tensor) throws -> Bool = { _, _ in true }) throws -> Summary {
        if writesVideo { try FFmpeg.check() }
        let source = try FrameSource(input, maxPixels: maxPixels)
        defer { source.close() }
        let first = range?.lowerBound ?? 0
        if first > 0 { try source.skip(first) }
        try FileManager.default.createDirectory(atPath: framesFolder, withIntermediateDirectories: true)
        let done = finished()
        let total = range.map { r in source.info.frameCount.map { min(r.count, max(0, $0 - r.lowerBound)) } ?? r.count }
            ?? source.info.frameCount
        var earlier: [FrameStylizer.Earlier] = []
        var count = 0, resumed = 0, seconds = 0.0, stopped = false
        var index = first
        while range.map({ index < $0.upperBound }) ?? true, !stopped, let content = try source.next() {
            let local = writesVideo ? index - first : index
            let name = frameName(local), path = framesFolder + "/" + name
            let stylised: RGBImage
            var terms: LossTerms?
            let t0 = Date()
            let contentDigest = SHA256.hex(Data(content.bytes))
            if let line = done[index], line.content == contentDigest, let kept = try? RGBImage.load(path, maxPixels: Int.max) {
                stylised = kept
                resumed += 1
            } else {
                let r = try stylizer.stylize(content, after: earlier) { step, x in
                    let keep = try onStep(step, x)
                    if !keep { stopped = true }
                    return keep
                }
                if stopped { break }
                try r.image.writePNG(path)
                // carried on as the 8-bit frame written, so a resumed run sees the same bits
                stylised = try RGBImage.load(path, maxPixels: Int.max)
                terms = r.terms
                let s = Date().timeIntervalSince(t0)
                seconds += s
                try JSONLines.append(Line(frame: index, file: name, sha256: try SHA256.hex(ofFile: path), content: contentDigest, run: run, seconds: s,
                                loss: r.terms.total), to: manifestPath)
            }
            count += 1
            earlier.insert(FrameStylizer.Earlier(content: content, stylised: stylised), at: 0)
            if earlier.count > stylizer.historyLength { earlier.removeLast() }
            progress(Progress(frame: index, done: count, total: total, seconds: Date().timeIntervalSince(t0),
                              resumed: terms == nil, terms: terms))
            index += 1
        }
        guard count > 0 || stopped else {
            throw EngineError.invalidArgument("\(input) has no frames in \(range.map { "\($0.lowerBound):\($0.upperBound)" } ?? "it")")
        }
        if writesVideo && !stopped {
            var info = source.info
            if let r = frameRate, !VideoEncoder.isVideoPath(input), let fps = VideoInfo.parseRate(r) {
                info.frameRate = r
                info.framesPerSecond = fps
            }
            try VideoEncoder.encode(frames: framesFolder + "/frame-%05d.png", count: count, info: info,
                                    audioFrom: VideoEncoder.isVideoPath(input) ? input : nil,
                                    audioOffset: Double(first) / max(source.info.framesPerSecond, 1e-9), to: output)
            if !keepFrames { try? FileManager.default.removeItem(atPath: framesFolder) }
        }
        let fresh = count - resumed
        return Summary(frames: count, resumed: resumed, secondsPerFrame: fresh > 0 ? seconds / Double(fresh) : 0,
                       interrupted: stopped)
    }
}
