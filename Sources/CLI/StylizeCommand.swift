import ArgumentParser
import Engine
import Foundation

/// The report `--json` prints at the end of a run.
struct RunReport: Encodable {
    let backend: String
    let device: String
    let model: String
    let contentSize: [Int]?
    let styleSize: [Int]?
    /// Every style image's size, in order.
    let styleSizes: [[Int]]
    let outputSize: [Int]
    let iterations: Int
    let secondsPerIteration: Double
    let setupSeconds: Double
    let styleWeight: Float
    let loss: LossTerms
    let total: Double
    let output: String
    let interrupted: Bool
    /// Per scale: size, iterations, estimated bytes (with the parts), budget, tile.
    let plans: [StyleTransfer.Plan]
    let secondsPerIterationByScale: [Double]
    let peakResidentBytes: Int?
}

struct StylizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stylize", abstract: "Repaint CONTENT in the style of STYLE (several styles are blended, or placed by --style-mask).")

    @Argument(help: "Content image (PNG or JPEG).") var content: String
    @Argument(help: "Style images (PNG or JPEG), one or more.") var styles: [String] = []
    @OptionGroup var controls: ControlOptions
    @Option(name: .shortAndLong, parsing: .unconditional, help: "Output PNG.") var output: String
    @OptionGroup var common: CommonOptions
    @OptionGroup var optimization: OptimizerOptions
    @Option(parsing: .unconditional, help: "Longest side of the output in pixels.") var size = 512
    @Option(parsing: .unconditional, help: "content, random, or the path of an image.") var `init` = "content"
    @Option(parsing: .unconditional, help: "Loss-and-gradient evaluations (line-search evaluations included).") var iterations = 500
    @Option(parsing: .unconditional, help: "Stop early when the relative change of the loss falls below this.") var tolerance: Double?
    @Option(parsing: .unconditional, help: "Print a progress line every N iterations when not on a terminal.") var printEvery = 50
    @Option(parsing: .unconditional, help: "Write numbered intermediate images every N iterations.") var saveEvery = 0
    @Option(parsing: .unconditional, help: "Coarse-to-fine: run at N sizes, each twice the one before, ending at --size.") var scales = 1
    @Option(parsing: .unconditional, help: "Coarse-to-fine with explicit longest sides, comma-separated, increasing (overrides --scales and --size).")
    var scaleSizes: String?
    @Option(parsing: .unconditional, help: "Iterations at the scales before the last: one count, or one per scale, comma-separated (default: half of --iterations).")
    var scaleIterations: String?
    @Option(parsing: .unconditional, help: "Memory budget, like 512M or 2G (default: the device's memory for OpenCL, available RAM for the CPU).")
    var memoryLimit: String?
    @Option(parsing: .unconditional, help: "Evaluate in tiles of this many pixels a side (default: only when the budget requires it).")
    var tile: Int?
    @Option(parsing: .unconditional, help: "Save the run's state to OUT.ckpt at the first accepted step after every N evaluations, and when interrupted (0: never).")
    var checkpointEvery = 0
    @Flag(help: "Continue from OUT.ckpt when it exists (it must come from this same run: inputs, weights, device and options).")
    var resume = false
    @Option(parsing: .unconditional, help: "Whether checkpoints hold the L-BFGS history: all (a resume is bit-exact), none (small files), auto (all when under 1 GiB).")
    var checkpointHistory = "auto"
    @Flag(help: "Print the memory plan of every scale.") var verbose = false
    @Flag(help: "Print the memory plan (and with --json, the plans as JSON) and stop before optimising.")
    var dryRun = false
    @Flag(help: "Print a machine-readable report at the end (an array when several --style-weight values are given).")
    var json = false

    func options(styleWeight: Float) throws -> TransferOptions {
        var o = TransferOptions()
        o.size = size
        o.preserveColor = try controls.colorPreservation
        o.initialization = initialization(self.`init`)
        o.seed = try common.seedValue
        o.maxInputPixels = try common.maxInputPixels
        try optimization.apply(to: &o)
        o.iterations = iterations
        o.tolerance = tolerance
        o.pooling = try common.poolKind
        o.loss = try common.lossConfig(styleWeight: styleWeight)
        o.scales = scales
        if let list = scaleSizes {
            let sizes = list.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard sizes.allSatisfy({ $0 != nil }) else {
                throw EngineError.invalidArgument("--scale-sizes takes whole numbers separated by commas (got \"\(list)\")")
            }
            o.scaleSizes = sizes.map { $0! }
            o.size = o.scaleSizes!.last ?? size
        }
        if let text = scaleIterations {
            let its = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !its.isEmpty, its.allSatisfy({ $0 != nil }) else {
                throw EngineError.invalidArgument("--scale-iterations takes whole numbers separated by commas (got \"\(text)\")")
            }
            o.scaleIterations = its.map { $0! }
        }
        o.memoryLimit = try memoryLimit.map(MemoryModel.parseBytes)
        o.tile = tile
        return o
    }

    /// The output for style weight α: -o itself, or OUT-swα.png when several are given.
    func outputPath(_ alpha: Float, of alphas: [Float]) -> String {
        alphas.count > 1 ? suffixed(output, "sw\(alpha)") : output
    }

    /// Every value checked and every output path checked, before any file is read.
    func validate(_ alphas: [Float]) throws {
        guard printEvery >= 0 else { throw EngineError.invalidArgument("--print-every must be 0 (never) or a positive whole number (got \(printEvery))") }
        guard saveEvery >= 0 else { throw EngineError.invalidArgument("--save-every must be 0 (never) or a positive whole number (got \(saveEvery))") }
        guard checkpointEvery >= 0 else { throw EngineError.invalidArgument("--checkpoint-every must be 0 (never) or a positive whole number (got \(checkpointEvery))") }
        guard StyleTransfer.CheckpointPolicy.History(rawValue: checkpointHistory) != nil else {
            throw EngineError.invalidArgument("--checkpoint-history must be auto, all or none (got \(checkpointHistory))")
        }
        guard !styles.isEmpty else { throw EngineError.invalidArgument("stylize needs a content image and at least one style image") }
        try common.checkApplicable()
        _ = try common.maxInputPixels
        try controls.validate(styles: styles.count, styleLayers: try common.lossConfig(styleWeight: 1).styleLayers)
        var inputs = [content] + styles + (try controls.files(styles: styles.count)).map(\.path)
        let first = try options(styleWeight: alphas[0])
        if case .image(let p) = first.initialization { inputs.append(p) }
        for a in alphas { try options(styleWeight: a).validate() }
        var plan = OutputPlan()
        let total = first.totalIterations
        for a in alphas {
            plan.files.append(outputPath(a, of: alphas))
            if saveEvery > 0 && !dryRun { plan.numbered.append((outputPath(a, of: alphas), saveEvery, total)) }
            if checkpointEvery > 0 || resume { plan.others.append(Checkpoint.path(forOutput: outputPath(a, of: alphas))) }
        }
        try plan.check(inputs: inputs)
    }

    func run() throws {
        guarded {
            let alphas = try common.styleWeights
            try validate(alphas)
            let tRead = Date()
            let contentImage = try common.loadImage(content, role: "content")
            let styleImages = try styles.enumerated().map { k, p in
                try common.loadImage(p, role: styles.count == 1 ? "style" : "style \(k + 1)")
            }
            let given = try controls.inputs(content: contentImage, styles: styleImages) { path, role in
                try GreyMap.load(path, role: role, maxPixels: try common.maxInputPixels)
            }
            if case .image(let p) = try options(styleWeight: alphas[0]).initialization {
                _ = try common.loadImage(p, role: "--init")   // fail now, not after the model is loaded
            }
            var ioSeconds = Date().timeIntervalSince(tRead)
            let backend = try common.makeBackend()
            let weights = try common.loadWeights()
            installInterruptHandler()
            var reports: [RunReport] = []
            for alpha in alphas {
                let out = outputPath(alpha, of: alphas)
                let opts = try options(styleWeight: alpha)
                let transfer = try StyleTransfer(backend: backend, weights: weights, options: opts)
                let (w, h) = contentImage.scaledSize(longestSide: opts.resolvedScaleSizes.last!)
                let plans = try transfer.plans(transfer.prepared(given))
                if !json {
                    FileHandle.standardError.write("stylize: \(w)×\(h) on \(backend.kind) (\(backend.deviceName)), model \(weights.model), \(opts.optimizer == .lbfgs ? "lbfgs (\(opts.lineSearch.rawValue), preconditioner \(opts.preconditioner.rawValue))" : opts.optimizer.rawValue), \(opts.iterations) iterations, style weight \(alpha)\n".data(using: .utf8)!)
                }
                if verbose || dryRun {
                    for p in plans {
                        FileHandle.standardError.write((p.summary + "\n").data(using: .utf8)!)
                    }
                }
                if dryRun {
                    if json { print(jsonString(plans)) }
                    continue
                }
                let policy = try checkpointPolicy(output: out, backend: backend, weights: weights, options: opts)
                // progress goes to stderr, so it never mixes with --json on stdout
                let progress = ProgressDisplay(total: transfer.totalIterations, printEvery: printEvery, quiet: false)
                let result = try transfer.run(given, checkpoint: policy) { step, x in
                    progress.update(step)
                    if saveEvery > 0 && step.evaluation % saveEvery == 0 && step.evaluation < transfer.totalIterations {
                        let t = Date()
                        let img = RGBImage(networkInput: try backend.download(x), width: x.shape.width, height: x.shape.height)
                        try img.writePNG(suffixed(out, String(format: "%04d", step.evaluation)))
                        ioSeconds += Date().timeIntervalSince(t)
                    }
                    return !interruptRequested
                }
                progress.finish()
                let tWrite = Date()
                try result.image.writePNG(out)
                ioSeconds += Date().timeIntervalSince(tWrite)
                if let p = policy, !interruptRequested { unlink(p.path) }   // finished: nothing to resume
                if json {
                    reports.append(RunReport(
                        backend: backend.kind, device: backend.deviceName, model: weights.model,
                        contentSize: [contentImage.width, contentImage.height], styleSize: [styleImages[0].width, styleImages[0].height],
                        styleSizes: styleImages.map { [$0.width, $0.height] },
                        outputSize: [w, h], iterations: result.evaluations, secondsPerIteration: result.secondsPerIteration,
                        setupSeconds: result.setupSeconds, styleWeight: alpha, loss: result.terms, total: result.terms.total,
                        output: out, interrupted: interruptRequested, plans: result.plans,
                        secondsPerIterationByScale: result.secondsPerIterationByScale,
                        peakResidentBytes: ProcessMemory.peakResidentBytes))
                } else {
                    FileHandle.standardError.write(String(format: "wrote %@: %d iterations, %.3f s/iteration on %@ (%@); final %@\n",
                        out, result.evaluations, result.secondsPerIteration, backend.kind, backend.deviceName,
                        ProgressDisplay.format(result.terms)).data(using: .utf8)!)
                }
                if let p = backend.profiler {
                    print(p.report(title: "Profile (\(backend.kind), \(backend.deviceName))"))
                    if backend.kind == "cpu" { print(BLASKernels.report) }
                    print(String(format: "setup %.3f s, %.4f s per iteration, image I/O %.3f s", result.setupSeconds,
                                 result.secondsPerIteration, ioSeconds))
                    p.reset()
                }
                if interruptRequested {
                    if json { print(reports.count == 1 ? jsonString(reports[0]) : jsonString(reports)) }
                    let saved = policy.map { FileManager.default.fileExists(atPath: $0.path) ? " and a checkpoint to \($0.path) (continue with --resume)" : "" } ?? ""
                    fail("interrupted after \(result.evaluations) iterations; wrote the current image to \(out)\(saved)", code: interruptedStatus)
                }
            }
            // one JSON document: an object for one style weight, an array for several
            if json && !dryRun { print(reports.count == 1 ? jsonString(reports[0]) : jsonString(reports)) }
        }
    }
}

extension StylizeCommand {
    /// The checkpoint policy for one output: nil unless --checkpoint-every or --resume is given.
    func checkpointPolicy(output: String, backend: Backend, weights: ModelWeights,
                          options: TransferOptions) throws -> StyleTransfer.CheckpointPolicy? {
        guard checkpointEvery > 0 || resume else { return nil }
        let files = [("content", content)] + styles.enumerated().map { ("style\($0.offset + 1)", $0.element) }
            + (try controls.files(styles: styles.count))
        let identity = try RunIdentity(inputs: files, weights: weights, backend: backend, options: options,
                                       controls: try controls.identityLines(styles: styles.count))
        var p = StyleTransfer.CheckpointPolicy(path: Checkpoint.path(forOutput: output), every: checkpointEvery, run: identity)
        p.history = StyleTransfer.CheckpointPolicy.History(rawValue: checkpointHistory) ?? .auto
        let note: (String) -> Void = { if !json { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) } }
        if resume {
            if FileManager.default.fileExists(atPath: p.path) {
                let c = try Checkpoint.read(p.path)
                p.resume = c
                note("resuming from \(p.path): scale \(c.scale + 1), \(c.evaluationsBefore + c.state.evaluations) evaluations done"
                     + (c.hasHistory || options.optimizer != .lbfgs ? "" : " (L-BFGS history rebuilt: not bit-exact)"))
            } else {
                note("no checkpoint at \(p.path): starting from the beginning")
            }
        }
        if verbose {
            p.written = { c in note("checkpoint: \(p.path) at \(c.evaluationsBefore + c.state.evaluations) evaluations") }
        }
        return p
    }
}
