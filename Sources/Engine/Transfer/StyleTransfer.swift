import Foundation

/// One stylisation: resize the images, plan memory, build the objective on the backend (whole
/// or tiled), initialise x, optimise — coarse to fine when asked — and hand back the image. The
/// CLI's `stylize`, `reconstruct` and `evaluate` and the end-to-end tests all go through here.
public final class StyleTransfer {
    public let backend: Backend
    public let network: VGGNetwork
    /// The options; a caller may change those that do not shape the network (iterations, tolerance,
    /// initialisation) between runs — the video command gives the first frame more iterations.
    public var options: TransferOptions
    /// Style targets kept across runs (keyed by `StyleInput.targetKey`).
    public let targets = Objective.Targets()
    /// The starting image when a caller has one (the video command's warped previous frame),
    /// resized to each scale; nil: `options.initialization`.
    public var startImage: RGBImage?
    /// Terms a caller adds to every objective (the video command's temporal terms), for an
    /// output of width × height.
    public var extraTerms: (Int, Int) -> [LossTermSpec] = { _, _ in [] }

    public struct Result {
        public let image: RGBImage
        public let terms: LossTerms
        public let evaluations: Int
        public let setupSeconds: Double
        public let optimizeSeconds: Double
        /// One plan per scale, coarse to fine.
        public let plans: [Plan]
        /// Optimisation seconds per evaluation at each scale.
        public let secondsPerIterationByScale: [Double]
        public var secondsPerIteration: Double { optimizeSeconds / Double(max(evaluations, 1)) }
    }

    /// How one scale runs: its size, the memory estimate and the tile size (nil: whole image).
    public struct Plan: Codable, Sendable {
        public let width: Int
        public let height: Int
        public let iterations: Int
        public let estimate: MemoryEstimate
        public let estimatedBytes: Int
        public let budgetBytes: Int
        /// What set the budget: "--memory-limit", "device memory", "available RAM", a cgroup limit, …
        public let budgetSource: String
        public let tile: Int?
    }

    public init(backend: Backend, weights: ModelWeights, options: TransferOptions) throws {
        try options.validate()
        self.backend = backend
        self.options = options
        let arch = weights.architecture
        let names = [options.loss.contentLayer].compactMap { $0 } + options.loss.styleLayers
        let deepest = try names.map { try arch.layerIndex($0) }.max() ?? 0
        network = try VGGNetwork(weights: weights, backend: backend, pooling: options.pooling, depth: deepest)
    }

    /// The output size for a content image under `--size`.
    public func outputSize(for content: RGBImage) -> (width: Int, height: Int) {
        content.scaledSize(longestSide: options.size)
    }

    /// The style image's size for an output of width × height under `--style-scale`.
    func styleSize(_ style: RGBImage, scale: Float, width: Int, height: Int) throws -> (width: Int, height: Int) {
        let longest = max(1, Int((Float(max(width, height)) * scale).rounded()))
        let (sw, sh) = style.scaledSize(longestSide: longest)
        try checkFeatureSize(width: sw, height: sh, of: "the style image (\(style.width)×\(style.height))",
                             hint: "raise --style-scale or --size, or use a less elongated style image")
        return (sw, sh)
    }

    /// The shortest side an image needs so that every loss layer still has at least one pixel
    /// after pooling: 2^(pools up to the deepest layer), 16 px for relu5_1.
    public var minimumSide: Int { network.architecture.alignment(upTo: network.depth) }

    /// Refuses an image the network would pool down to nothing (its losses would be 0/0).
    func checkFeatureSize(width: Int, height: Int, of what: String,
                          hint: String = "use a larger --size or a less elongated image") throws {
        let need = minimumSide
        guard width >= need && height >= need else {
            let deepest = network.architecture.layers[network.depth].name
            throw EngineError.invalidArgument(
                "\(what) would be \(width)×\(height) pixels, but \(deepest) needs at least \(need) px on each side; \(hint)")
        }
    }

    // MARK: memory

    /// The budget: --memory-limit, else the device's global memory (OpenCL) or, for the CPU, the
    /// smallest of available RAM, the cgroup's limit and the address-space limit.
    public var budget: ProcessMemory.Budget {
        if let m = options.memoryLimit { return .init(bytes: m, source: "--memory-limit") }
        if let cl = backend as? OpenCLBackend {
            return .init(bytes: Int(cl.context.device.globalMemoryBytes), source: "the device's memory")
        }
        return ProcessMemory.budget ?? .init(bytes: Int(ProcessInfo.processInfo.physicalMemory), source: "physical memory")
    }
    public var budgetBytes: Int { budget.bytes }

    func estimate(_ inputs: TransferInputs, width: Int, height: Int, tile: Int?) throws -> MemoryEstimate {
        let specs = try lossSpecs(inputs, width: width, height: height) + extraTerms(width, height)
        let last = try specs.flatMap { try $0.layerNames.map { try network.layerIndex($0) } }.max() ?? 0
        return MemoryModel.estimate(architecture: network.architecture, options: options, width: width, height: height,
                                    specs: specs, plan: TilePlan(tile: tile, architecture: network.architecture, last: last),
                                    backend: backend)
    }

    func fits(_ e: MemoryEstimate) -> Bool {
        guard e.total <= budgetBytes else { return false }
        if let cl = backend as? OpenCLBackend { return e.largestBuffer <= Int(cl.context.device.maxAllocationBytes) }
        return true
    }

    /// Whole image if it fits (and --tile is not given), else the largest tile that fits.
    public func plan(_ inputs: TransferInputs, width: Int, height: Int, iterations: Int) throws -> Plan {
        try checkFeatureSize(width: width, height: height, of: "the output")
        let budget = self.budget
        func make(_ e: MemoryEstimate, _ tile: Int?) -> Plan {
            let rounded = tile.map { TilePlan(tile: $0, architecture: network.architecture, last: network.depth).tile! }
            return Plan(width: width, height: height, iterations: iterations, estimate: e, estimatedBytes: e.total,
                        budgetBytes: budget.bytes, budgetSource: budget.source, tile: rounded)
        }
        if let t = options.tile {
            return make(try estimate(inputs, width: width, height: height, tile: t), t)
        }
        let whole = try estimate(inputs, width: width, height: height, tile: nil)
        if fits(whole) { return make(whole, nil) }
        if !options.loss.centeredGram {
            for t in [6144, 4096, 3072, 2048, 1536, 1024, 768, 512, 384, 256, 192, 128] where t < max(width, height) {
                let e = try estimate(inputs, width: width, height: height, tile: t)
                if fits(e) { return make(e, t) }
            }
        }
        // name the largest size that fits with these options
        func fitsAt(_ longest: Int) throws -> Bool {
            let s = Double(longest) / Double(max(width, height))
            let (w, h) = (max(1, Int(Double(width) * s)), max(1, Int(Double(height) * s)))
            return try fits(estimate(inputs, width: w, height: h, tile: nil))
                || (!options.loss.centeredGram && fits(estimate(inputs, width: w, height: h, tile: 128)))
        }
        var lo = 16, hi = max(width, height)
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if try fitsAt(mid) { lo = mid } else { hi = mid - 1 }
        }
        if lo == 16, !(try fitsAt(16)) {
            let s = 16.0 / Double(max(width, height))
            let w16 = try estimate(inputs, width: max(1, Int(Double(width) * s)), height: max(1, Int(Double(height) * s)), tile: nil)
            throw EngineError.outOfMemory(String(
                format: "the budget of %@ (%@) is too small for any image: the network alone needs about %@; raise --memory-limit",
                formatBytes(budgetBytes), budget.source, formatBytes(w16.total)))
        }
        throw EngineError.outOfMemory(String(
            format: "%d×%d needs about %@ on %@ but the budget is %@ (%@), and tiling cannot fit it either; the largest output that fits with these options is about %d px on its longest side (or lower --lbfgs-history, or raise --memory-limit)",
            width, height, formatBytes(whole.total), backend.deviceName, formatBytes(budgetBytes), budget.source, lo))
    }

    // MARK: objective and initial image

    /// Builds the objective for the inputs at width × height, tiled when `tile` is given.
    public func makeObjective(_ inputs: TransferInputs, width: Int, height: Int, tile: Int? = nil) throws -> Objective {
        try checkFeatureSize(width: width, height: height, of: "the image")
        return try Objective(network: network, height: height, width: width, tile: tile,
                             specs: lossSpecs(inputs, width: width, height: height) + extraTerms(width, height),
                             targets: targets)
    }

    public func makeObjective(content: RGBImage?, style: RGBImage?, width: Int, height: Int, tile: Int? = nil) throws -> Objective {
        try makeObjective(TransferInputs(content: content, style: style), width: width, height: height, tile: tile)
    }

    /// The starting image in network space.
    public func initialImage(content: RGBImage?, width: Int, height: Int) throws -> [Float] {
        if let start = startImage { return start.resized(width: width, height: height).networkInput() }
        switch options.initialization {
        case .content:
            guard let content = content else { return randomImage(width: width, height: height) }
            return content.resized(width: width, height: height).networkInput()
        case .random:
            return randomImage(width: width, height: height)
        case .image(let path):
            let image: RGBImage
            do { image = try RGBImage.load(path, maxPixels: options.maxInputPixels) } catch EngineError.image(let m) {
                throw EngineError.image("cannot read the --init image: \(m)")
            }
            return image.resized(width: width, height: height).networkInput()
        }
    }

    /// White noise around the mean image: N(0, 16²) in network space, from --seed.
    func randomImage(width: Int, height: Int) -> [Float] {
        var rng = SeededRandom(seed: options.seed)
        return (0..<(3 * width * height)).map { _ in 16 * rng.normal() }
    }

    // MARK: running

    /// The plan of every scale (for --verbose and --json before the run).
    public func plans(_ inputs: TransferInputs) throws -> [Plan] {
        guard let reference = inputs.reference else { throw EngineError.invalidArgument("a run needs a content or a style image") }
        let sizes = options.resolvedScaleSizes
        return try sizes.enumerated().map { k, longest in
            let (w, h) = reference.scaledSize(longestSide: longest)
            let its = options.iterations(atScale: k, of: sizes.count)
            return try plan(inputs, width: w, height: h, iterations: its)
        }
    }

    public func plans(content: RGBImage?, style: RGBImage?) throws -> [Plan] {
        try plans(TransferInputs(content: content, style: style))
    }

    /// Total evaluations over all scales.
    public var totalIterations: Int { options.totalIterations }

    /// How a run checkpoints itself, and the checkpoint it resumes from.
    public struct CheckpointPolicy {
        public enum History: String, Sendable {
            /// The L-BFGS history when it is at most `autoHistoryBytes`: a resume is then bit-exact.
            case auto
            case all
            /// x and the gradient only: small files; the resumed L-BFGS rebuilds its history.
            case none
        }
        public static let autoHistoryBytes = 1 << 30

        public var path: String
        /// Accepted steps at least this many evaluations apart are saved (0: only when interrupted).
        public var every: Int
        public var run: RunIdentity
        public var history = History.auto
        public var resume: Checkpoint?
        /// Called after each checkpoint is written.
        public var written: ((Checkpoint) -> Void)?

        public init(path: String, every: Int, run: RunIdentity) {
            self.path = path
            self.every = every
            self.run = run
        }
    }

    /// Optimises from the initial image, coarse to fine. `onStep` sees every evaluation (numbered
    /// across scales) and the current x (on the backend); returning false stops, and the current
    /// image — resized to the output size — is still returned. With a checkpoint policy, accepted
    /// steps are saved every `every` evaluations and when stopping, and a run given
    /// `policy.resume` starts at that checkpoint's scale and state.
    public func run(content: RGBImage?, style: RGBImage?, checkpoint policy: CheckpointPolicy? = nil,
                    onStep: (OptimizerStep, Tensor) throws -> Bool = { _, _ in true }) throws -> Result {
        try run(TransferInputs(content: content, style: style), checkpoint: policy, onStep: onStep)
    }

    public func run(_ given: TransferInputs, checkpoint policy: CheckpointPolicy? = nil,
                    onStep: (OptimizerStep, Tensor) throws -> Bool = { _, _ in true }) throws -> Result {
        let inputs = prepared(given)
        let content = inputs.content
        let plans = try self.plans(inputs)
        var setup = 0.0, optimize = 0.0, done = 0
        var perScale: [Double] = []
        var previous: RGBImage?
        var terms = LossTerms()
        var stopped = false
        if let r = policy?.resume {
            guard r.run == policy!.run.digest else {
                throw EngineError.invalidArgument("the checkpoint \(policy!.path) was made by another run (different inputs, weights, device or options); delete it, or drop --resume")
            }
            guard r.scale < plans.count, plans[r.scale].width == r.width, plans[r.scale].height == r.height,
                  r.optimizer == options.optimizer.rawValue else {
                throw EngineError.image("checkpoint \(policy!.path) does not fit this run's plan; delete it to start again")
            }
        }
        for (k, plan) in plans.enumerated() where !stopped {
            let resuming = policy?.resume.flatMap { $0.scale == k ? $0 : nil }
            if let r = policy?.resume, k < r.scale { continue }   // finished before the checkpoint
            let t0 = Date()
            let objective = try makeObjective(inputs, width: plan.width, height: plan.height, tile: plan.tile)
            let start = try resuming.map { $0.state.vector("x")! }
                ?? previous.map { $0.resized(width: plan.width, height: plan.height).networkInput() }
                ?? initialImage(content: content, width: plan.width, height: plan.height)
            let x = try backend.tensor(start, Shape(3, plan.height, plan.width))
            try backend.synchronize()
            let t1 = Date()
            if let r = resuming { done = r.evaluationsBefore + r.state.evaluations }
            let offset = resuming?.evaluationsBefore ?? done
            var evaluated = 0
            let optimizer = self.optimizer(k == plans.count - 1)
            optimizer.resume = resuming?.state
            var saved = resuming?.state.evaluations ?? 0
            if let p = policy {
                let n = 3 * plan.width * plan.height
                let withHistory = p.history == .all
                    || (p.history == .auto && 8 * n * options.lbfgsHistory <= CheckpointPolicy.autoHistoryBytes)
                optimizer.onAccepted = { step in
                    guard step.stopping || (p.every > 0 && step.evaluations - saved >= p.every) else { return }
                    let c = Checkpoint(run: p.run.digest, scale: k, evaluationsBefore: offset, width: plan.width,
                                       height: plan.height, optimizer: self.options.optimizer.rawValue,
                                       state: try step.capture(withHistory))
                    try c.write(to: p.path)
                    saved = step.evaluations
                    p.written?(c)
                }
            }
            terms = try optimizer.minimize(
                x, iterations: plan.iterations,
                evaluate: { x, g in
                    let t = try objective.evaluate(x, gradient: g)
                    evaluated += 1
                    if evaluated == 1 && resuming == nil && !t.total.isFinite {
                        throw EngineError.diverged("the loss of the starting image is \(t.total) (\(plan.width)×\(plan.height)): the weights, the inputs or the loss weights hold values out of range; nothing was written")
                    }
                    return t
                },
                onStep: { step in
                    let keep = try onStep(OptimizerStep(evaluation: offset + step.evaluation, terms: step.terms), x)
                    stopped = !keep
                    return keep
                })
            try backend.synchronize()
            guard terms.total.isFinite else {
                throw EngineError.diverged("the loss became \(terms.total) at \(plan.width)×\(plan.height) after \(evaluated) evaluations; nothing was written (with Adam, lower --learning-rate)")
            }
            done += objective.evaluations
            setup += t1.timeIntervalSince(t0)
            let seconds = Date().timeIntervalSince(t1)
            optimize += seconds
            perScale.append(seconds / Double(max(objective.evaluations, 1)))
            previous = RGBImage(networkInput: try backend.download(x), width: plan.width, height: plan.height)
        }
        let last = plans.last!
        let image = finished(previous!.resized(width: last.width, height: last.height), given)
        return Result(image: image, terms: terms, evaluations: done, setupSeconds: setup, optimizeSeconds: optimize,
                      plans: plans, secondsPerIterationByScale: perScale)
    }

    func optimizer(_ final: Bool) -> Optimizer {
        let o: Optimizer
        switch options.optimizer {
        case .lbfgs:
            let l = LBFGS(backend: backend, history: options.lbfgsHistory)
            l.learningRate = options.learningRate ?? 1
            l.tolerance = options.tolerance
            l.lineSearch = options.lineSearch
            l.preconditioner = options.preconditioner
            o = l
        case .adam:
            let a = Adam(backend: backend, learningRate: options.learningRate ?? 10)
            a.tolerance = options.tolerance
            o = a
        }
        o.bounds = options.boundPixels ? .pixels : nil
        return o
    }
}

extension StyleTransfer.Plan {
    /// One line: the size, iterations, tiling and the memory estimate with its parts (`--verbose`,
    /// `--dry-run` and the studio's plan).
    public var summary: String {
        let e = estimate
        func mb(_ b: Int) -> String { String(format: "%.0f MiB", Double(b) / 1_048_576) }
        return "plan: \(width)×\(height), \(iterations) iterations, " + (tile.map { "tiles of \($0) px" } ?? "whole image")
            + ": estimate \(mb(estimatedBytes)) of \(mb(budgetBytes)) (budget from \(budgetSource)) (activations \(mb(e.activations)), gradients \(mb(e.gradients)), "
            + "weights \(mb(e.weights)), scratch \(mb(e.scratch)), targets \(mb(e.targets)), optimiser \(mb(e.optimizer)), "
            + "style setup \(mb(e.styleSetup)), host images \(mb(e.hostImages)))"
    }
}
