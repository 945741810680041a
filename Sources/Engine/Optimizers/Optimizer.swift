/// What an optimiser reports after each loss-and-gradient evaluation.
public struct OptimizerStep {
    /// 1-based count of evaluations so far.
    public let evaluation: Int
    public let terms: LossTerms
}

/// Everything an optimiser needs to go on exactly where it was after an accepted step: the
/// evaluations it had used, the loss there, and its vectors by name (x and the gradient always;
/// L-BFGS adds its curvature pairs, Adam its moments). Checkpoints store this.
public struct OptimizerState {
    public var evaluations: Int
    public var terms: LossTerms
    /// Named scalars (Adam: the step count and the previous loss).
    public var scalars: [String: Double] = [:]
    /// Named vectors, in the order they are stored: "x", "g", then the optimiser's own.
    public var vectors: [(name: String, values: [Float])] = []

    public init(evaluations: Int, terms: LossTerms) {
        self.evaluations = evaluations
        self.terms = terms
    }

    public func vector(_ name: String) -> [Float]? { vectors.first { $0.name == name }?.values }
}

/// Channel c of x lies in [lower[c], upper[c]].
public struct ChannelBounds: Sendable {
    public let lower: [Float], upper: [Float]
    public init(lower: [Float], upper: [Float]) {
        self.lower = lower
        self.upper = upper
    }
    /// The network-input range that keeps pixels in 0…255.
    public static let pixels = ChannelBounds(lower: RGBImage.networkLowerBounds, upper: RGBImage.networkUpperBounds)
}

/// An accepted step, offered to whoever checkpoints: `capture` downloads the state (costly, so
/// only on demand); `stopping` is true when the run is about to stop (an interrupt).
public struct AcceptedStep {
    public let evaluations: Int
    public let stopping: Bool
    public let capture: (_ withHistory: Bool) throws -> OptimizerState
}

/// Minimises f over x in place on the backend. `evaluate(x, g)` returns the loss terms and writes
/// ∇f(x) into g. `onStep` may return false to stop early (interrupt). Every evaluation —
/// line-search ones included — counts towards `iterations`. With `resume` set, the optimiser
/// starts from that state (x already holds its "x") instead of evaluating x afresh, and goes on
/// bit for bit as the run that saved it would have. `onAccepted` sees every accepted step.
public protocol Optimizer: AnyObject {
    var resume: OptimizerState? { get set }
    /// Box constraints per channel (`TransferOptions.boundPixels`): every point evaluated lies in
    /// them (nil: unconstrained).
    var bounds: ChannelBounds? { get set }
    var onAccepted: ((AcceptedStep) throws -> Void)? { get set }
    func minimize(_ x: Tensor, iterations: Int,
                  evaluate: (Tensor, Tensor) throws -> LossTerms,
                  onStep: (OptimizerStep) throws -> Bool) throws -> LossTerms
}
