import Foundation

// Video in and out through the `ffmpeg` and `ffprobe` programs: frames travel as raw 8-bit RGB
// through pipes (decoding) or as numbered PNG files (encoding). No codec is written here; the only
// formats parsed by hand are headers: ffprobe's JSON, the PPM header ffmpeg writes before each
// decoded frame, and the size fields of PNG and JPEG files (to refuse a folder of mixed sizes
// before any frame is stylized).

// MARK: - finding ffmpeg

/// The `ffmpeg` and `ffprobe` programs. `NEURAL_STYLE_FFMPEG`, when set, names the folder holding
/// both and replaces the search of PATH (tests point it at an empty folder to simulate a machine
/// without ffmpeg).
public enum FFmpeg {
    public static let environmentVariable = "NEURAL_STYLE_FFMPEG"
    static let installHint = "apt-get install ffmpeg (Debian package ffmpeg)"

    /// Throws `.device` (exit status 69, unavailable) unless both programs are found. The message
    /// always opens "ffmpeg is not installed: apt-get install ffmpeg (Debian package ffmpeg)"
    /// (ffprobe comes in the same package), then names what is missing where.
    public static func check() throws {
        _ = try locate("ffmpeg")
        _ = try locate("ffprobe")
    }

    /// The path of `ffmpeg` or `ffprobe`. Looked up on each call: the environment can change.
    static func locate(_ name: String) throws -> String {
        let fm = FileManager.default
        if let dir = getenv(environmentVariable).map({ String(cString: $0) }), !dir.isEmpty {
            let candidate = (dir as NSString).appendingPathComponent(name)
            if fm.isExecutableFile(atPath: candidate) { return candidate }
            throw EngineError.device("ffmpeg is not installed: \(installHint); \(environmentVariable)=\(dir) holds no \(name)")
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = (String(dir) as NSString).appendingPathComponent(name)
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw EngineError.device("ffmpeg is not installed: \(installHint)" + (name == "ffmpeg" ? "" : "; no \(name) on PATH"))
    }

    /// Common leading arguments: no banner, no prompt on stdin, errors only.
    static let quiet = ["-nostdin", "-hide_banner", "-loglevel", "error"]

    /// Runs a program to its end; stdout and stderr are read concurrently, so neither pipe fills.
    static func run(_ executable: String, _ arguments: [String], captureStdout: Bool = true) throws
        -> (status: Int32, stdout: Data, stderr: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        process.standardOutput = captureStdout ? out : FileHandle.nullDevice
        process.standardError = err
        do { try process.run() } catch {
            throw EngineError.device("cannot run \(executable): \(error.localizedDescription)")
        }
        let errors = PipeDrain(err.fileHandleForReading)
        let data = captureStdout ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        process.waitUntilExit()
        return (process.terminationStatus, data, errors.text())
    }

    /// The last non-empty line of ffmpeg's stderr with `hidden` (a temporary path) shown as
    /// `shown`, or `fallback` when ffmpeg said nothing.
    static func lastLine(_ stderr: String, hiding hidden: String? = nil, as shown: String = "",
                         fallback: String) -> String {
        var line = stderr.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .last { !$0.isEmpty } ?? fallback
        if let hidden { line = line.replacingOccurrences(of: hidden, with: shown) }
        // "[png @ 0x5624…] chunk too big": the component's address means nothing to a user
        if line.hasPrefix("["), let close = line.range(of: "] "), line[..<close.lowerBound].contains(" @ 0x") {
            line = String(line[close.upperBound...])
        }
        return line
    }
}

/// Reads a pipe to its end on a thread of its own (ffmpeg's stderr while its stdout is read).
private final class PipeDrain: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            let d = handle.readDataToEndOfFile()
            lock.lock(); data = d; lock.unlock()
            done.signal()
        }
        thread.start()
    }

    /// Everything written, once the writer has closed the pipe.
    func text() -> String {
        done.wait()
        done.signal()  // later calls return at once
        lock.lock(); defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

// MARK: - what a clip is

/// A clip's geometry and timing.
public struct VideoInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// The frame rate as ffprobe gives it (`r_frame_rate`), a rational such as "30000/1001";
    /// "25/1" for a folder or pattern of frames. Passed unchanged to the encoder's `-framerate`.
    public var frameRate: String
    /// `frameRate` as a number.
    public var framesPerSecond: Double
    /// Frames in the clip where known: the container's count (`nb_frames`) for a video file,
    /// nil where the container does not record it (Matroska, WebM); exact for frame folders.
    public var frameCount: Int?
    public var hasAudio: Bool

    public init(width: Int, height: Int, frameRate: String, framesPerSecond: Double? = nil,
                frameCount: Int?, hasAudio: Bool) {
        self.width = width
        self.height = height
        self.frameRate = frameRate
        self.framesPerSecond = framesPerSecond ?? VideoInfo.parseRate(frameRate) ?? 25
        self.frameCount = frameCount
        self.hasAudio = hasAudio
    }

    public static let defaultFrameRate = "25/1"

    /// "30000/1001" → 29.97…, "25" → 25; nil for "0/0", negative or malformed rates.
    public static func parseRate(_ s: String) -> Double? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let num = Double(parts[0]), num.isFinite, num > 0 else { return nil }
        let den = parts.count == 2 ? Double(parts[1]) : 1
        guard let den, den.isFinite, den > 0 else { return nil }
        return num / den
    }
}

/// What ffprobe says about a file. `width`/`height` are the displayed size (rotation applied).
struct ProbeResult {
    var width: Int
    var height: Int
    var frameRate: String
    var frameCount: Int?
    var audioCodec: String?
}

enum Probe {
    /// Probes `path` with ffprobe. A file without a video stream, or one ffprobe cannot read,
    /// is a `.image` error (exit status 65). Cover art in an audio file is not a video stream.
    static func video(_ path: String) throws -> ProbeResult {
        let ffprobe = try FFmpeg.locate("ffprobe")
        let entries = "stream=codec_type,codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames"
            + ":stream_disposition=attached_pic:stream_side_data=rotation:stream_tags=rotate"
        let r = try FFmpeg.run(ffprobe, ["-v", "error", "-show_entries", entries, "-of", "json", "--", path])
        guard r.status == 0 else {
            var why = FFmpeg.lastLine(r.stderr, fallback: "ffprobe exited with status \(r.status)")
            if why.hasPrefix(path + ": ") { why = String(why.dropFirst(path.count + 2)) }
            throw EngineError.image("\(path): not a video ffmpeg can read (\(why))")
        }
        guard let root = try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] else {
            throw EngineError.image("\(path): ffprobe's answer is not JSON; is ffprobe a working ffmpeg build?")
        }
        let streams = root["streams"] as? [[String: Any]] ?? []
        let audio = streams.first { $0["codec_type"] as? String == "audio" }
        let video = streams.first { s in
            s["codec_type"] as? String == "video"
                && ((s["disposition"] as? [String: Any])?["attached_pic"] as? Int ?? 0) == 0
        }
        guard let video else {
            throw EngineError.image(audio != nil ? "\(path): no video stream (audio-only?)" : "\(path): no video stream")
        }
        var w = video["width"] as? Int ?? 0, h = video["height"] as? Int ?? 0
        guard w > 0, h > 0 else { throw EngineError.image("\(path): the video stream has no frame size") }
        // ffmpeg turns frames upright on decode; ffprobe reports the stored size
        let sideRotation = (video["side_data_list"] as? [[String: Any]])?.compactMap { $0["rotation"] as? Int }.first
        let tagRotation = ((video["tags"] as? [String: Any])?["rotate"] as? String).flatMap { Int($0) }
        if let rot = sideRotation ?? tagRotation, abs(rot) % 180 == 90 { swap(&w, &h) }
        var rate = VideoInfo.defaultFrameRate
        for key in ["r_frame_rate", "avg_frame_rate"] {
            if let s = video[key] as? String, VideoInfo.parseRate(s) != nil { rate = s; break }
        }
        let count = (video["nb_frames"] as? String).flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        return ProbeResult(width: w, height: h, frameRate: rate, frameCount: count,
                           audioCodec: audio.map { $0["codec_name"] as? String ?? "unknown" })
    }
}

// MARK: - reading frames

/// The frames of a clip, one at a time, from the start: a video file (decoded by ffmpeg), a
/// folder of PNG/JPEG frames (natural name order, frame2 before frame10), a printf pattern such
/// as `frames/%04d.png` (numbered consecutively from 0 or 1 up to the first missing number), or a
/// single PNG/JPEG image (a clip of one frame). Only video files need ffmpeg.
///
/// Errors are `EngineError`s of one line: unreadable input, frames of mixed sizes and frames over
/// `maxPixels` are `.image` (exit status 65); a missing ffmpeg is `.device` (69).
public final class FrameSource {
    public let input: String
    public let info: VideoInfo
    /// The index (from 0) of the frame the next call to `next()` returns.
    public private(set) var frameIndex = 0

    private enum Frames {
        case images([String])
        case video(VideoDecoder)
    }

    private let frames: Frames
    private let maxPixels: Int

    public init(_ input: String, maxPixels: Int = Int(RGBImage.defaultMaxPixels)) throws {
        self.input = input
        self.maxPixels = maxPixels
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: input, isDirectory: &isDir)
        if exists && isDir.boolValue {
            let files = try FrameSource.folderFrames(input)
            frames = .images(files)
            info = try FrameSource.imageSequenceInfo(files, maxPixels: maxPixels)
        } else if !exists, let pattern = FramePattern(input) {
            let files = try pattern.consecutiveFiles()
            frames = .images(files)
            info = try FrameSource.imageSequenceInfo(files, maxPixels: maxPixels)
        } else if !exists {
            throw EngineError.image("\(input): no such file or folder")
        } else if ["png", "jpg", "jpeg"].contains((input as NSString).pathExtension.lowercased()) {
            frames = .images([input])
            info = try FrameSource.imageSequenceInfo([input], maxPixels: maxPixels)
        } else {
            try FFmpeg.check()
            let probe = try Probe.video(input)
            try FrameSource.checkSize(input, probe.width, probe.height, maxPixels: maxPixels)
            let decoder = try VideoDecoder(input)
            // the decoded size, which is the truth (a rotation ffprobe did not report, a scaler)
            guard let first = try decoder.peekSize() else {
                decoder.close()
                throw EngineError.image("\(input): the video stream has no frames ffmpeg can decode")
            }
            try FrameSource.checkSize(input, first.width, first.height, maxPixels: maxPixels)
            frames = .video(decoder)
            info = VideoInfo(width: first.width, height: first.height, frameRate: probe.frameRate,
                             frameCount: probe.frameCount, hasAudio: probe.audioCodec != nil)
        }
    }

    deinit { close() }

    /// The next frame, or nil after the last.
    public func next() throws -> RGBImage? {
        switch frames {
        case .images(let files):
            guard frameIndex < files.count else { return nil }
            let image = try RGBImage.load(files[frameIndex], maxPixels: maxPixels)
            if image.width != info.width || image.height != info.height {
                throw EngineError.image("\(files[frameIndex]) is \(image.width)×\(image.height) but the first frame is \(info.width)×\(info.height)")
            }
            frameIndex += 1
            return image
        case .video(let decoder):
            guard let bytes = try decoder.nextFrame(keep: true) else { return nil }
            frameIndex += 1
            return RGBImage(width: info.width, height: info.height, pixels: bytes.map { Float($0) })
        }
    }

    /// Passes over up to `n` frames without converting them (a video's are still decoded and
    /// discarded). Returns how many were skipped: fewer than `n` at the end of the clip.
    @discardableResult
    public func skip(_ n: Int) throws -> Int {
        var skipped = 0
        switch frames {
        case .images(let files):
            skipped = max(0, min(n, files.count - frameIndex))
        case .video(let decoder):
            while skipped < n, try decoder.nextFrame(keep: false) != nil { skipped += 1 }
        }
        frameIndex += skipped
        return skipped
    }

    /// Calls `body` with each frame of `range` (indices from 0; the end may lie past the clip's
    /// end) in order, after skipping to `range.lowerBound`, and returns how many frames it saw.
    /// A range that starts after the clip's last frame is a `.invalidArgument` error.
    @discardableResult
    public func forEachFrame(in range: Range<Int>, _ body: (_ index: Int, _ frame: RGBImage) throws -> Void) throws -> Int {
        guard range.lowerBound >= frameIndex else {
            throw EngineError.invalidArgument("frames \(range.lowerBound):\(range.upperBound): frame \(range.lowerBound) was already read (the source is at frame \(frameIndex))")
        }
        try skip(range.lowerBound - frameIndex)
        var seen = 0
        while frameIndex < range.upperBound, let frame = try next() {
            try body(frameIndex - 1, frame)
            seen += 1
        }
        if seen == 0 && !range.isEmpty {
            throw EngineError.invalidArgument("frames \(range.lowerBound):\(range.upperBound) start after the clip's end: \(input) has \(frameIndex) frames")
        }
        return seen
    }

    /// Stops ffmpeg (if decoding a video). Further `next()` calls return nil. Safe to repeat.
    public func close() {
        if case .video(let decoder) = frames { decoder.close() }
    }

    // MARK: folders and patterns

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// The folder's PNG and JPEG files (not hidden) in natural order.
    static func folderFrames(_ folder: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw EngineError.image("\(folder): cannot list the folder (\(error.localizedDescription))")
        }
        let frames = names.filter { !$0.hasPrefix(".") && imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted(by: naturalOrder)
        guard !frames.isEmpty else {
            throw EngineError.image("\(folder): no frames (PNG or JPEG files) in the folder")
        }
        return frames.map { (folder as NSString).appendingPathComponent($0) }
    }

    /// Checks every frame's header before any is decoded: a clip of mixed sizes fails now, not
    /// after hours of stylizing.
    static func imageSequenceInfo(_ files: [String], maxPixels: Int) throws -> VideoInfo {
        let first = try ImageHeader.size(files[0])
        try checkSize(files[0], first.width, first.height, maxPixels: maxPixels)
        for file in files.dropFirst() {
            let s = try ImageHeader.size(file)
            if s != first {
                throw EngineError.image("\(file) is \(s.width)×\(s.height) but the first frame is \(first.width)×\(first.height)")
            }
        }
        return VideoInfo(width: first.width, height: first.height, frameRate: VideoInfo.defaultFrameRate,
                         frameCount: files.count, hasAudio: false)
    }

    static func checkSize(_ path: String, _ w: Int, _ h: Int, maxPixels: Int) throws {
        guard w * h > maxPixels else { return }
        let size = maxPixels >= 100_000
            ? String(format: "%.1f megapixels, over the limit of %.1f", Double(w * h) / 1e6, Double(maxPixels) / 1e6)
            : "\(w * h) pixels, over the limit of \(maxPixels)"
        throw EngineError.image("\(path): \(w)×\(h) frames are \(size) (raise it with --max-input-megapixels)")
    }

    /// Natural order: runs of digits compare as numbers ("frame2" before "frame10"), the rest
    /// by code point; names equal so far ("f01", "f1") fall back to plain order.
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        func runs(_ s: String) -> [(digits: Bool, text: Substring)] {
            var out: [(Bool, Substring)] = []
            var start = s.startIndex
            while start < s.endIndex {
                let isDigit = s[start].isASCII && s[start].isNumber
                var end = s.index(after: start)
                while end < s.endIndex, (s[end].isASCII && s[end].isNumber) == isDigit { end = s.index(after: end) }
                out.append((isDigit, s[start..<end]))
                start = end
            }
            return out
        }
        let ra = runs(a), rb = runs(b)
        for (x, y) in zip(ra, rb) {
            if x.digits && y.digits {
                let xs = x.text.drop { $0 == "0" }, ys = y.text.drop { $0 == "0" }
                if xs.count != ys.count { return xs.count < ys.count }
                if xs != ys { return xs < ys }
            } else if x.text != y.text {
                return x.text < y.text
            }
        }
        if ra.count != rb.count { return ra.count < rb.count }
        return a < b
    }
}

/// A printf-style frame path with one integer field: `frames/%04d.png`, `f%d.jpg` (`%%` is a
/// literal percent sign).
struct FramePattern {
    let pattern: String
    let prefix: String
    let width: Int
    let suffix: String

    init?(_ pattern: String) {
        var prefix = "", suffix = "", width: Int? = nil
        var i = pattern.startIndex
        while i < pattern.endIndex {
            let c = pattern[i]
            i = pattern.index(after: i)
            guard c == "%" else {
                if width == nil { prefix.append(c) } else { suffix.append(c) }
                continue
            }
            guard i < pattern.endIndex else { return nil }
            if pattern[i] == "%" {
                if width == nil { prefix.append("%") } else { suffix.append("%") }
                i = pattern.index(after: i)
                continue
            }
            guard width == nil else { return nil }  // one field only
            var digits = ""
            while i < pattern.endIndex, pattern[i].isASCII, pattern[i].isNumber { digits.append(pattern[i]); i = pattern.index(after: i) }
            // %d or %0Nd: zero-padded, as ffmpeg's image2 reads and writes them
            guard i < pattern.endIndex, pattern[i] == "d", digits.isEmpty || digits.hasPrefix("0") else { return nil }
            i = pattern.index(after: i)
            width = Int(digits) ?? 0
        }
        guard let width else { return nil }
        self.pattern = pattern
        self.prefix = prefix
        self.width = width
        self.suffix = suffix
    }

    func path(_ n: Int) -> String {
        let digits = String(n)
        return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits + suffix
    }

    /// The files numbered from 0 (or 1 where there is no 0) to the first missing number.
    func consecutiveFiles() throws -> [String] {
        let fm = FileManager.default
        guard let start = [0, 1].first(where: { fm.fileExists(atPath: path($0)) }) else {
            throw EngineError.image("\(pattern): no frame numbered 0 or 1 (no \(path(0)) or \(path(1)))")
        }
        var files: [String] = []
        var n = start
        while fm.fileExists(atPath: path(n)) { files.append(path(n)); n += 1 }
        return files
    }
}

/// The size fields of PNG (IHDR) and JPEG (SOFn) files, read without decoding.
enum ImageHeader {
    struct Size: Equatable { var width: Int; var height: Int }

    static func size(_ path: String) throws -> Size {
        guard let f = fopen(path, "rb") else {
            throw EngineError.image("\(path): cannot open (\(String(cString: strerror(errno))))")
        }
        defer { fclose(f) }
        func bytes(_ n: Int) -> [UInt8]? {
            var b = [UInt8](repeating: 0, count: n)
            return fread(&b, 1, n, f) == n ? b : nil
        }
        func be(_ b: ArraySlice<UInt8>) -> Int { b.reduce(0) { $0 << 8 | Int($1) } }
        guard let head = bytes(2) else { throw EngineError.image("\(path): empty or truncated, not a PNG or JPEG image") }
        if head == [0x89, 0x50] {
            guard let rest = bytes(22), rest[0..<6] == [0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], rest[10..<14] == [0x49, 0x48, 0x44, 0x52] else {
                throw EngineError.image("\(path): not a valid PNG (no IHDR header)")
            }
            let size = Size(width: be(rest[14..<18]), height: be(rest[18..<22]))
            guard size.width > 0, size.height > 0 else { throw EngineError.image("\(path): image has zero width or height") }
            return size
        }
        guard head == [0xFF, 0xD8] else { throw EngineError.image("\(path): not a PNG or JPEG image") }
        // walk the marker segments to the first start-of-frame
        while true {
            guard var m = bytes(2), m[0] == 0xFF else { throw EngineError.image("\(path): not a valid JPEG (no frame header)") }
            while m[1] == 0xFF { guard let b = bytes(1) else { break }; m[1] = b[0] }
            let marker = m[1]
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }
            guard marker != 0xD9, marker != 0xDA, let len = bytes(2), be(len[...]) >= 2 else {
                throw EngineError.image("\(path): not a valid JPEG (no frame header)")
            }
            let length = be(len[...]) - 2
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard length >= 5, let sof = bytes(5) else { throw EngineError.image("\(path): not a valid JPEG (truncated frame header)") }
                let size = Size(width: be(sof[3..<5]), height: be(sof[1..<3]))
                guard size.width > 0, size.height > 0 else { throw EngineError.image("\(path): image has zero width or height") }
                return size
            }
            guard fseek(f, length, SEEK_CUR) == 0 else { throw EngineError.image("\(path): not a valid JPEG (truncated)") }
        }
    }
}

/// One `ffmpeg` process decoding a video's first video stream to PPM images (a short text header,
/// then width·height·3 bytes of RGB) on its stdout, every decoded frame once (`-vsync
/// passthrough`: no frame is duplicated or dropped to fit a rate).
private final class VideoDecoder {
    let input: String
    private let process: Process
    private let stdout: FileHandle
    private let stderr: PipeDrain
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0, end = 0
    private var pending: ImageHeader.Size?
    private var size: ImageHeader.Size?
    private var finished = false
    private var frames = 0

    init(_ input: String) throws {
        self.input = input
        let ffmpeg = try FFmpeg.locate("ffmpeg")
        process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = FFmpeg.quiet + ["-i", input, "-map", "0:v:0", "-an", "-sn", "-dn",
                                            "-vsync", "passthrough", "-f", "image2pipe", "-c:v", "ppm",
                                            "-pix_fmt", "rgb24", "pipe:1"]
        process.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            throw EngineError.device("cannot run \(ffmpeg): \(error.localizedDescription)")
        }
        stdout = out.fileHandleForReading
        stderr = PipeDrain(err.fileHandleForReading)
    }

    /// The first frame's size, read from its header (nil for a stream with no frames).
    func peekSize() throws -> ImageHeader.Size? {
        if pending == nil, !finished { pending = try readHeader() }
        return pending
    }

    /// The next frame's bytes (an empty array when `keep` is false), or nil at the end.
    func nextFrame(keep: Bool) throws -> [UInt8]? {
        guard !finished else { return nil }
        let header: ImageHeader.Size?
        if let p = pending { header = p; pending = nil } else { header = try readHeader() }
        guard let header else { return nil }
        if let size, size != header {
            close()
            throw EngineError.image("\(input): frame \(frames) is \(header.width)×\(header.height) but the first frame is \(size.width)×\(size.height)")
        }
        size = header
        let n = header.width * header.height * 3
        var out = keep ? [UInt8](repeating: 0, count: n) : []
        var got = 0
        while got < n {
            if start == end, try !fill() { break }
            let k = min(n - got, end - start)
            if keep { out.withUnsafeMutableBufferPointer { o in buffer.withUnsafeBufferPointer { b in
                o.baseAddress!.advanced(by: got).update(from: b.baseAddress!.advanced(by: start), count: k)
            } } }
            start += k
            got += k
        }
        guard got == n else { try finish(); throw truncated() }
        frames += 1
        return out
    }

    /// Stops ffmpeg: closes the pipe it writes to (so a blocked write fails), asks it to end,
    /// and kills it if it has not within two seconds.
    func close() {
        guard !finished else { return }
        finished = true
        try? stdout.close()
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning && Date() < deadline { usleep(5000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        _ = stderr.text()
    }

    deinit { close() }

    // MARK: the pipe

    private func fill() throws -> Bool {
        if start == end { start = 0; end = 0 }
        let fd = stdout.fileDescriptor
        while true {
            let r = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + end, $0.count - end) }
            if r > 0 { end += r; return true }
            if r == 0 { return false }
            if errno != EINTR {
                let why = String(cString: strerror(errno))
                close()
                throw EngineError.io("\(input): reading frames from ffmpeg failed (\(why))")
            }
        }
    }

    private func byte() throws -> UInt8? {
        if start == end, try !fill() { return nil }
        defer { start += 1 }
        return buffer[start]
    }

    /// "P6 <width> <height> 255" and one whitespace byte, or nil at a clean end of stream.
    private func readHeader() throws -> ImageHeader.Size? {
        guard let p = try byte() else { try finish(); return nil }
        var fields: [Int] = []
        var magic = [p]
        magic.append(try byte() ?? 0)
        guard magic == [0x50, 0x36] else { close(); throw EngineError.image("\(input): ffmpeg's output is not PPM frames") }
        var current: Int? = nil
        while fields.count < 3 {
            guard let b = try byte() else { try finish(); throw truncated() }
            if (0x30...0x39).contains(b) {
                current = (current ?? 0) * 10 + Int(b - 0x30)
                if current! > 1 << 20 { close(); throw EngineError.image("\(input): ffmpeg's PPM header is malformed") }
            } else if let c = current {
                fields.append(c)
                current = nil
            }
        }
        guard fields[2] == 255, fields[0] > 0, fields[1] > 0 else {
            close()
            throw EngineError.image("\(input): ffmpeg's frames are not 8-bit RGB")
        }
        return ImageHeader.Size(width: fields[0], height: fields[1])
    }

    /// At the end of stdout: waits for ffmpeg and turns a failure into an error.
    private func finish() throws {
        guard !finished else { return }
        finished = true
        try? stdout.close()
        process.waitUntilExit()
        let text = stderr.text()
        if process.terminationStatus != 0 {
            let why = FFmpeg.lastLine(text, fallback: "ffmpeg exited with status \(process.terminationStatus)")
            throw EngineError.image("\(input): decoding failed after \(frames) frames (\(why))")
        }
    }

    private func truncated() -> EngineError {
        .image("\(input): ffmpeg's output ended inside frame \(frames)")
    }
}

// MARK: - writing a video

/// Encodes numbered PNG frames into a video file with ffmpeg.
public enum VideoEncoder {
    public static let videoExtensions: Set<String> = ["mp4", "mkv", "mov", "webm", "avi", "gif"]

    /// True when `path` names a video by its extension (mp4, mkv, mov, webm, avi, gif).
    public static func isVideoPath(_ path: String) -> Bool {
        videoExtensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// Encodes the `count` PNG frames `pattern` names (printf style, numbered from 0, e.g.
    /// `dir/frame-%05d.png`) into `output` at `info.frameRate`:
    /// - .mp4, .mov, .mkv, .avi: H.264 (libx264, CRF 18, yuv420p, BT.709); an odd width or
    ///   height is padded by one pixel (a copy of the last column or row) to even;
    /// - .webm: VP9 (libvpx-vp9, CRF 30, yuv420p);
    /// - .gif: a palette made from all frames (palettegen, then paletteuse), looping.
    ///
    /// When `audioFrom` names a file with audio, its first audio track is copied (re-encoded
    /// where the container cannot hold its codec), starting `audioOffset` seconds in (a clip
    /// cut with `--frames`), and cut to the video's length. GIFs have no audio.
    ///
    /// Atomic: ffmpeg writes a hidden temporary file beside `output` that is renamed only on
    /// success and removed on failure. Errors: missing frames and ffmpeg failures are `.io` (74)
    /// with ffmpeg's last error line, an unreadable `audioFrom` is `.image` (65), a missing
    /// ffmpeg is `.device` (69).
    public static func encode(frames pattern: String, count: Int, info: VideoInfo, audioFrom: String?,
                              audioOffset: Double = 0, to output: String) throws {
        let ext = (output as NSString).pathExtension.lowercased()
        guard isVideoPath(output) else {
            throw EngineError.invalidArgument("\(output): not a video file name; use .mp4, .mkv, .mov, .webm, .avi or .gif")
        }
        guard count > 0 else { throw EngineError.invalidArgument("\(output): no frames to encode") }
        guard let frames = FramePattern(pattern) else {
            throw EngineError.invalidArgument("\(pattern): not a numbered frame pattern like frame-%05d.png")
        }
        try FFmpeg.check()
        let ffmpeg = try FFmpeg.locate("ffmpeg")
        let fm = FileManager.default
        for n in 0..<count where !fm.fileExists(atPath: frames.path(n)) {
            throw EngineError.io("cannot encode \(output): frame \(frames.path(n)) is missing")
        }
        let url = URL(fileURLWithPath: output)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw EngineError.io("cannot write \(output): the folder \(dir) does not exist")
        }
        let size = try ImageHeader.size(frames.path(0))
        let audio: ProbeResult? = ext == "gif" ? nil : try audioFrom.flatMap { try probeAudio($0) }
        let rate = VideoInfo.parseRate(info.frameRate) != nil ? info.frameRate : String(info.framesPerSecond)

        let tmp = dir + "/." + url.lastPathComponent + ".\(getpid()).tmp." + ext
        // -xerror: a frame that does not decode fails the encode (else ffmpeg repeats its neighbour)
        var args = FFmpeg.quiet + ["-xerror", "-y", "-f", "image2", "-framerate", rate, "-start_number", "0", "-i", pattern]
        if let audioFrom, audio != nil {
            if audioOffset > 0 { args += ["-ss", String(audioOffset)] }
            args += ["-i", audioFrom]
        }
        args += ["-map", "0:v:0"]
        args += videoArguments(ext, count: count, width: size.width, height: size.height)
        if let codec = audio?.audioCodec, ext != "gif" {
            args += ["-map", "1:a:0", "-c:a"] + audioCodec(codec, container: ext) + ["-shortest"]
        }
        // no encoder versions or dates in the file: the same frames give the same bytes
        args += ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]
        if ext == "mp4" || ext == "mov" { args += ["-movflags", "+faststart"] }
        args.append(tmp)

        let r: (status: Int32, stdout: Data, stderr: String)
        do { r = try FFmpeg.run(ffmpeg, args, captureStdout: false) } catch {
            unlink(tmp)
            throw error
        }
        guard r.status == 0, fm.fileExists(atPath: tmp) else {
            unlink(tmp)
            let why = FFmpeg.lastLine(r.stderr, hiding: tmp, as: output, fallback: "ffmpeg exited with status \(r.status)")
            throw EngineError.io("cannot encode \(output): \(why)")
        }
        if rename(tmp, output) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw EngineError.io("cannot write \(output): \(reason.prefix(1).lowercased() + reason.dropFirst())")
        }
    }

    /// The audio of `path`, or nil when it has none. Unlike a video probe, a file without video
    /// (a .wav, an .m4a) is fine.
    static func probeAudio(_ path: String) throws -> ProbeResult? {
        do {
            let p = try Probe.video(path)
            return p.audioCodec == nil ? nil : p
        } catch EngineError.image(let m) where m.hasSuffix("no video stream (audio-only?)") {
            let ffprobe = try FFmpeg.locate("ffprobe")
            let r = try FFmpeg.run(ffprobe, ["-v", "error", "-select_streams", "a:0", "-show_entries",
                                             "stream=codec_name", "-of", "csv=p=0", "--", path])
            let codec = String(decoding: r.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return ProbeResult(width: 0, height: 0, frameRate: VideoInfo.defaultFrameRate, frameCount: nil,
                               audioCodec: codec.isEmpty ? "unknown" : codec)
        }
    }

    /// The video filters and codec. The first `count` frames are taken by a `trim` filter, not
    /// `-frames:v`: ffmpeg 5.1 drops a copied audio track when `-frames:v` ends the output.
    static func videoArguments(_ ext: String, count: Int, width: Int, height: Int) -> [String] {
        let trim = "trim=end_frame=\(count)"
        if ext == "gif" {
            return ["-vf", "\(trim),split[a][b];[a]palettegen[p];[b][p]paletteuse", "-loop", "0"]
        }
        // 4:2:0 chroma needs even sides: pad, then copy the last column/row into the padding
        var filters = [trim]
        let padW = width + width % 2, padH = height + height % 2
        if padW != width || padH != height {
            filters.append("pad=\(padW):\(padH):0:0")
            filters.append("fillborders=right=\(padW - width):bottom=\(padH - height):mode=smear")
        }
        filters.append("scale=out_color_matrix=bt709:out_range=tv")
        filters.append("format=yuv420p")
        let colour = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]
        if ext == "webm" {
            return ["-vf", filters.joined(separator: ","), "-c:v", "libvpx-vp9", "-crf", "30", "-b:v", "0",
                    "-pix_fmt", "yuv420p"] + colour
        }
        return ["-vf", filters.joined(separator: ","), "-c:v", "libx264", "-preset", "medium", "-crf", "18",
                "-pix_fmt", "yuv420p"] + colour
    }

    /// Copy where the container holds the codec, else re-encode (AAC; Opus for WebM).
    static func audioCodec(_ codec: String, container: String) -> [String] {
        let holds: [String: Set<String>] = [
            "mp4": ["aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"],
            "mov": ["aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le", "pcm_s16be"],
            "avi": ["aac", "mp3", "mp2", "ac3", "pcm_s16le", "pcm_u8"],
            "webm": ["opus", "vorbis"],
        ]
        if container == "mkv" || holds[container]?.contains(codec) == true { return ["copy"] }
        return container == "webm" ? ["libopus", "-b:a", "128k"] : ["aac", "-b:a", "192k"]
    }
}
