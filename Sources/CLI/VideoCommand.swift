import ArgumentParser
import Engine
import Foundation

struct VideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video",
        abstract: "Stylise a clip or a frame sequence without flicker (warped initialisation and a temporal loss, Ruder et al. 2016).")

    @Argument(help: "A video file, a folder of frames, or a printf pattern like frames/%04d.png.") var input: String
    @Argument(help: "Style images (PNG or JPEG), one or more.") var styles: [String] = []
    @Option(name: .shortAndLong, parsing: .unconditional, help: "A video file (.mp4, .mkv, .mov, .webm, .gif) or a folder for PNG frames.")
    var output: String
    @OptionGroup var common: CommonOptions
    @OptionGroup var optimization: OptimizerOptions
    @OptionGroup var controls: ControlOptions
    @Option(parsing: .unconditional, help: "Longest side of each output frame in pixels.") var size = 512
    @Option(parsing: .unconditional, help: "Evaluations per frame after the first.") var iterations = 150
    @Option(parsing: .unconditional, help: "Evaluations for the first frame (default: twice --iterations).") var firstFrameIterations: Int?
    @Option(parsing: .unconditional, help: "The first frame's start: content, random, or the path of an image.") var `init` = "content"
    @Option(parsing: .unconditional, help: "warped: start each frame from the previous stylised frame warped by the optical flow; content: from its own content.")
    var frameInit = "warped"
    @Option(parsing: .unconditional, help: "λ: weight of the temporal term (0: none; with --frame-init content, independent frames).")
    var temporalWeight: Float = FrameStylizer.defaultTemporalWeight
    @Option(parsing: .unconditional, help: "Earlier frames the temporal term compares with, comma-separated distances (long-term: 1,2,4).")
    var temporalFrames = "1"
    @Option(parsing: .unconditional, help: "A:B — frames A to B−1 of the clip (counted from 0).") var frames: String?
    @Option(parsing: .unconditional, help: "Frame rate of the output for a folder or pattern of frames, like 12 or 30000/1001 (default 25; a video keeps its own).")
    var frameRate: String?
    @Flag(help: "Keep OUTPUT.frames/ (the PNG frames and their manifest) after a video output is encoded.") var keepFrames = false
    @Option(parsing: .unconditional, help: "Coarse-to-fine scales per frame.") var scales = 1
    @Option(parsing: .unconditional, help: "Memory budget, like 512M or 2G.") var memoryLimit: String?
    @Option(parsing: .unconditional, help: "Evaluate in tiles of this many pixels a side.") var tile: Int?
    @Option(parsing: .unconditional, help: "Stop a frame early when the relative change of the loss falls below this.") var tolerance: Double?

    func range() throws -> Range<Int>? {
        guard let f = frames else { return nil }
        let parts = f.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let a = parts[0], let b = parts[1], a >= 0, b > a else {
            throw EngineError.invalidArgument("--frames takes A:B with 0 ≤ A < B (got \"\(f)\")")
        }
        return a..<b
    }

    func settings() throws -> FrameStylizer.Settings {
        var s = FrameStylizer.Settings()
        s.temporalWeight = temporalWeight
        s.temporalFrames = try numberList(temporalFrames, option: "--temporal-frames").map { v in
            guard v == v.rounded() else { throw EngineError.invalidArgument("--temporal-frames takes whole numbers (got \(temporalFrames))") }
            return Int(v)
        }
        guard let fi = FrameStylizer.FrameInit(rawValue: frameInit) else {
            throw EngineError.invalidArgument("--frame-init must be warped or content (got \"\(frameInit)\")")
        }
        s.frameInit = fi
        s.firstFrameIterations = firstFrameIterations ?? 2 * iterations
        try s.validate()
        return s
    }

    func options() throws -> TransferOptions {
        var o = TransferOptions()
        o.size = size
        o.iterations = iterations
        o.initialization = initialization(self.`init`)
        o.seed = try common.seedValue
        o.maxInputPixels = try common.maxInputPixels
        try optimization.apply(to: &o)
        o.tolerance = tolerance
        o.pooling = try common.poolKind
        o.loss = try common.lossConfig(styleWeight: try singleStyleWeight())
        o.preserveColor = try controls.colorPreservation
        o.scales = scales
        o.memoryLimit = try memoryLimit.map(MemoryModel.parseBytes)
        o.tile = tile
        try o.validate()
        return o
    }

    func singleStyleWeight() throws -> Float {
        let a = try common.styleWeights
        guard a.count == 1 else { throw EngineError.invalidArgument("video takes one --style-weight") }
        return a[0]
    }

    func run() throws {
        guarded {
            guard !styles.isEmpty else { throw EngineError.invalidArgument("video needs an input clip and at least one style image") }
            try common.checkApplicable()
            let o = try options()
            let s = try settings()
            let r = try range()
            let rate = try frameRate.map { text -> String in
                let rational = text.contains("/") ? text : text + "/1"
                guard let fps = VideoInfo.parseRate(rational), fps > 0, fps <= 1000 else {
                    throw EngineError.invalidArgument("--frame-rate must be a rate like 12 or 30000/1001 (got \(text))")
                }
                return rational
            }
            try controls.validate(styles: styles.count, styleLayers: o.loss.styleLayers)
            var inputs = [input] + styles + (try controls.files(styles: styles.count)).map(\.path)
            if case .image(let p) = o.initialization { inputs.append(p) }
            // the output names no input, and its folder (or the frames folder's parent) takes files
            var plan = OutputPlan()
            plan.others.append(output)
            try plan.check(inputs: inputs)
            var folders: Set<String> = []
            if VideoEncoder.isVideoPath(output) {
                try OutputPlan.checkWritable(output, folders: &folders)
            } else if isDirectory(output) {
                try OutputPlan.checkWritable(output + "/frame-00000.png", folders: &folders)
            } else if FileManager.default.fileExists(atPath: output) {
                throw EngineError.invalidArgument("-o \(output) is neither a video file name (.mp4, .mkv, .mov, .webm, .avi, .gif) nor a folder")
            } else {
                try OutputPlan.checkWritable(output, folders: &folders)
            }
            if VideoEncoder.isVideoPath(output) { try FFmpeg.check() }
            // the clip opens (a file with a video stream, or a folder or pattern of same-sized frames)
            try FrameSource(input, maxPixels: try common.maxInputPixels).close()
            let styleImages = try styles.enumerated().map { k, p in
                try common.loadImage(p, role: styles.count == 1 ? "style" : "style \(k + 1)")
            }
            var template = try controls.inputs(content: nil, styles: styleImages) { path, role in
                try GreyMap.load(path, role: role, maxPixels: try common.maxInputPixels)
            }
            let regions = try controls.numbered(controls.styleRegion, option: "--style-region", styles: styles.count)
            for k in template.styles.indices { template.styles[k].targetKey = "style \(k + 1): \(styles[k]) region \(regions[k + 1] ?? "-")" }
            let backend = try common.makeBackend()
            let weights = try common.loadWeights()
            let files = [("input", input)] + styles.enumerated().map { ("style\($0.offset + 1)", $0.element) }
                + (try controls.files(styles: styles.count))
            // a folder or pattern of frames is named by its path; each frame's pixels are checked
            // against the manifest when resuming (VideoJob)
            let hashable = files.filter { $0.0 != "input" || !(isDirectory(input) || input.contains("%")) }
            let identity = try RunIdentity(inputs: hashable,
                                           weights: weights, backend: backend, options: o,
                                           controls: try controls.identityLines(styles: styles.count) + [
                                               "temporalWeight=\(s.temporalWeight)", "temporalFrames=\(s.temporalFrames)",
                                               "frameInit=\(s.frameInit.rawValue)", "firstFrameIterations=\(s.firstFrameIterations ?? 0)",
                                               "input=\(input)"])
            let transfer = try StyleTransfer(backend: backend, weights: weights, options: o)
            let stylizer = try FrameStylizer(transfer: transfer, settings: s, template: template)
            let job = VideoJob(input: input, output: output, stylizer: stylizer, range: r, run: identity.digest,
                               maxPixels: try common.maxInputPixels)
            job.frameRate = rate
            job.keepFrames = keepFrames
            installInterruptHandler()
            FileHandle.standardError.write("video: \(input) → \(output) on \(backend.kind) (\(backend.deviceName)), \(o.iterations) iterations a frame (\(s.firstFrameIterations ?? o.iterations) for the first), temporal weight \(s.temporalWeight) over frames \(s.temporalFrames)\n".data(using: .utf8)!)
            let start = Date()
            var fresh = 0
            let summary = try job.run(progress: { p in
                if !p.resumed { fresh += 1 }
                let elapsed = Date().timeIntervalSince(start)
                let per = fresh > 0 ? elapsed / Double(fresh) : 0
                let of = p.total.map { "/\($0)" } ?? ""
                let eta = p.total.map { per * Double($0 - p.done) }.map { String(format: ", ETA %.0f s", $0) } ?? ""
                let what = p.resumed ? "kept from an earlier run" : String(format: "%.1f s, %@", p.seconds, ProgressDisplay.format(p.terms!))
                FileHandle.standardError.write(String(format: "frame %d%@ (#%d): %@; %.1f s/frame%@\n", p.done, of, p.frame, what, per, eta).data(using: .utf8)!)
            }, onStep: { _, _ in !interruptRequested })
            if summary.interrupted {
                fail("interrupted after \(summary.frames) frames; rerun the same command to continue", code: interruptedStatus)
            }
            FileHandle.standardError.write(String(format: "wrote %@: %d frames (%d kept from an earlier run), %.2f s per frame\n",
                                                  output, summary.frames, summary.resumed, summary.secondsPerFrame).data(using: .utf8)!)
        }
    }

    func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }
}
