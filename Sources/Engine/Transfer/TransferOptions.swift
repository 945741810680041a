/// Everything that decides one stylisation besides the images and the backend.
public struct TransferOptions: Sendable {
    public enum Initialization: Equatable, Sendable {
        case content
        case random
        case image(String)
    }
    public enum OptimizerKind: String, Sendable { case lbfgs, adam }

    /// Longest side of the output, in pixels.
    public var size = 512
    /// Size of the style image relative to the output.
    public var styleScale: Float = 1
    public var initialization = Initialization.content
    public var seed: UInt64 = 0
    public var optimizer = OptimizerKind.lbfgs
    /// Loss-and-gradient evaluations (line-search evaluations included).
    public var iterations = 500
    public var lbfgsHistory = 100
    /// nil: 1 for L-BFGS, 10 for Adam.
    public var learningRate: Float?
    public var tolerance: Double?
    public var pooling = PoolKind.max
    public var loss = LossConfig()

    public init() {}

    /// Bounds that catch typing mistakes before any work is done.
    public func validate() throws {
        guard size >= 16 && size <= 32768 else {
            throw EngineError.invalidArgument("--size must be between 16 and 32768 pixels (got \(size))")
        }
        guard styleScale > 0 && styleScale <= 8 && styleScale.isFinite else {
            throw EngineError.invalidArgument("--style-scale must be in (0, 8] (got \(styleScale))")
        }
        guard iterations >= 1 && iterations <= 1_000_000 else {
            throw EngineError.invalidArgument("--iterations must be between 1 and 1000000 (got \(iterations))")
        }
        guard lbfgsHistory >= 1 && lbfgsHistory <= 1000 else {
            throw EngineError.invalidArgument("--lbfgs-history must be between 1 and 1000 (got \(lbfgsHistory))")
        }
        if let lr = learningRate, !(lr > 0 && lr.isFinite) {
            throw EngineError.invalidArgument("--learning-rate must be > 0 (got \(lr))")
        }
        try loss.validate()
    }
}
