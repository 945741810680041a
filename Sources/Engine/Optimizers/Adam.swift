/// Adam (Kingma & Ba) on the backend: one evaluation per step.
public final class Adam: Optimizer {
    public let backend: Backend
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var tolerance: Double?

    public init(backend: Backend, learningRate: Float = 10) {
        self.backend = backend
        self.learningRate = learningRate
    }

    public func minimize(_ x: Tensor, iterations: Int,
                         evaluate: (Tensor, Tensor) throws -> LossTerms,
                         onStep: (OptimizerStep) throws -> Bool) throws -> LossTerms {
        let g = try backend.makeTensor(x.shape), m = try backend.makeTensor(x.shape), v = try backend.makeTensor(x.shape)
        try backend.fill(m, 0)
        try backend.fill(v, 0)
        var terms = LossTerms()
        var previous: Double?
        for step in 1...max(iterations, 1) {
            terms = try evaluate(x, g)
            guard try onStep(OptimizerStep(evaluation: step, terms: terms)) else { break }
            if !terms.total.isFinite {
                throw EngineError.diverged("the loss became \(terms.total) after \(step) Adam steps; nothing was written: lower --learning-rate")
            }
            if let tol = tolerance, let p = previous, abs(p - terms.total) / max(abs(terms.total), 1) < tol { break }
            previous = terms.total
            if step == iterations { break }  // the last evaluation's x is the result
            try backend.adamStep(x, gradient: g, m: m, v: v, learningRate: learningRate, beta1: beta1,
                                 beta2: beta2, epsilon: epsilon, step: step)
        }
        return terms
    }
}
