/// What an optimiser reports after each loss-and-gradient evaluation.
public struct OptimizerStep {
    /// 1-based count of evaluations so far.
    public let evaluation: Int
    public let terms: LossTerms
}

/// Minimises f over x in place on the backend. `evaluate(x, g)` returns the loss terms and writes
/// ∇f(x) into g. `onStep` may return false to stop early (interrupt). Every evaluation —
/// line-search ones included — counts towards `iterations`.
public protocol Optimizer {
    func minimize(_ x: Tensor, iterations: Int,
                  evaluate: (Tensor, Tensor) throws -> LossTerms,
                  onStep: (OptimizerStep) throws -> Bool) throws -> LossTerms
}
