import Foundation

/// One stylisation: resize the images, build the objective on the backend, initialise x,
/// optimise, and hand back the image. The CLI's `stylize`, `reconstruct` and `evaluate` and the
/// end-to-end tests all go through here.
public final class StyleTransfer {
    public let backend: Backend
    public let network: VGGNetwork
    public let options: TransferOptions

    public struct Result {
        public let image: RGBImage
        public let terms: LossTerms
        public let evaluations: Int
        public let setupSeconds: Double
        public let optimizeSeconds: Double
        public var secondsPerIteration: Double { optimizeSeconds / Double(max(evaluations, 1)) }
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

    /// Builds the objective for content (resized to the output size) and style (per --style-scale).
    public func makeObjective(content: RGBImage?, style: RGBImage?, width: Int, height: Int) throws -> StyleObjective {
        let c = content.map { $0.resized(width: width, height: height).networkInput() }
        let s = try style.map { st -> ([Float], Int, Int) in
            let longest = max(1, Int((Float(max(width, height)) * options.styleScale).rounded()))
            let (sw, sh) = st.scaledSize(longestSide: longest)
            guard sw >= 16 || sh >= 16 else {
                throw EngineError.invalidArgument("the style image would be only \(sw)×\(sh) pixels; raise --style-scale")
            }
            return (st.resized(width: sw, height: sh).networkInput(), sh, sw)
        }
        return try StyleObjective(network: network, config: options.loss, height: height, width: width,
                                  content: c, style: s.map { (pixels: $0.0, height: $0.1, width: $0.2) })
    }

    /// The starting image in network space.
    public func initialImage(content: RGBImage?, width: Int, height: Int) throws -> [Float] {
        switch options.initialization {
        case .content:
            guard let content = content else { return randomImage(width: width, height: height) }
            return content.resized(width: width, height: height).networkInput()
        case .random:
            return randomImage(width: width, height: height)
        case .image(let path):
            return try RGBImage.load(path).resized(width: width, height: height).networkInput()
        }
    }

    /// White noise around the mean image: N(0, 16²) in network space, from --seed.
    func randomImage(width: Int, height: Int) -> [Float] {
        var rng = SeededRandom(seed: options.seed)
        return (0..<(3 * width * height)).map { _ in 16 * rng.normal() }
    }

    /// Optimises from the initial image. `onStep` sees every evaluation and the current x (on the
    /// backend); returning false stops (the current image is still returned).
    public func run(content: RGBImage?, style: RGBImage?,
                    onStep: (OptimizerStep, Tensor) throws -> Bool = { _, _ in true }) throws -> Result {
        let size = content.map(outputSize(for:)) ?? style.map { $0.scaledSize(longestSide: options.size) }!
        let t0 = Date()
        let objective = try makeObjective(content: content, style: style, width: size.width, height: size.height)
        let x = try backend.tensor(try initialImage(content: content, width: size.width, height: size.height),
                                   Shape(3, size.height, size.width))
        try backend.synchronize()
        let t1 = Date()
        let optimizer: Optimizer
        switch options.optimizer {
        case .lbfgs:
            let o = LBFGS(backend: backend, history: options.lbfgsHistory)
            o.learningRate = options.learningRate ?? 1
            o.tolerance = options.tolerance
            optimizer = o
        case .adam:
            let o = Adam(backend: backend, learningRate: options.learningRate ?? 10)
            o.tolerance = options.tolerance
            optimizer = o
        }
        let terms = try optimizer.minimize(x, iterations: options.iterations,
                                           evaluate: { x, g in try objective.evaluate(x, gradient: g) },
                                           onStep: { step in try onStep(step, x) })
        try backend.synchronize()
        let t2 = Date()
        let image = RGBImage(networkInput: try backend.download(x), width: size.width, height: size.height)
        return Result(image: image, terms: terms, evaluations: objective.evaluations,
                      setupSeconds: t1.timeIntervalSince(t0), optimizeSeconds: t2.timeIntervalSince(t1))
    }
}
