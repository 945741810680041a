/// Adam (Kingma & Ba) on the backend: one evaluation per step.
///
/// State after a step (`OptimizerState`): vectors "x", "g", "m", "v"; scalars "step" (steps
/// taken) and "previous" (the loss before the step, for --tolerance).
public final class Adam: Optimizer {
    public let backend: Backend
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var tolerance: Double?
    public var resume: OptimizerState?
    /// Projected: x is clamped into the bounds after every step (and at the start).
    public var bounds: ChannelBounds?
    public var onAccepted: ((AcceptedStep) throws -> Void)?

    public init(backend: Backend, learningRate: Float = 10) {
        self.backend = backend
        self.learningRate = learningRate
    }

    public func minimize(_ x: Tensor, iterations: Int,
                         evaluate: (Tensor, Tensor) throws -> LossTerms,
                         onStep: (OptimizerStep) throws -> Bool) throws -> LossTerms {
        let g = try backend.makeTensor(x.shape), m = try backend.makeTensor(x.shape), v = try backend.makeTensor(x.shape)
        var terms = LossTerms()
        var previous: Double?
        var done = 0   // steps taken
        if let r = resume {
            guard let mv = r.vector("m"), let vv = r.vector("v"), mv.count == x.shape.count, vv.count == x.shape.count,
                  let steps = r.scalars["step"] else {
                throw EngineError.io("the checkpoint holds no Adam moments of \\(x.shape.count) values")
            }
            try backend.upload(mv, to: m)
            try backend.upload(vv, to: v)
            done = Int(steps)
            previous = r.scalars["previous"]
            terms = r.terms
        } else {
            try backend.fill(m, 0)
            try backend.fill(v, 0)
        }
        func capture(_: Bool) throws -> OptimizerState {
            var st = OptimizerState(evaluations: done, terms: terms)
            st.vectors = [("x", try backend.download(x)), ("g", try backend.download(g)),
                          ("m", try backend.download(m)), ("v", try backend.download(v))]
            st.scalars["step"] = Double(done)
            if let p = previous { st.scalars["previous"] = p }
            return st
        }
        if let b = bounds { try backend.clamp(x, lower: b.lower, upper: b.upper) }
        var step = done + 1
        while step <= max(iterations, 1) {
            terms = try evaluate(x, g)
            let keep = try onStep(OptimizerStep(evaluation: step, terms: terms))
            if !terms.total.isFinite {
                throw EngineError.diverged("the loss became \\(terms.total) after \\(step) Adam steps; nothing was written: lower --learning-rate")
            }
            if !keep {
                // x is the point just evaluated, before this step's update: the state of `done` steps
                try onAccepted?(AcceptedStep(evaluations: done, stopping: true, capture: capture))
                break
            }
            if let tol = tolerance, let p = previous, abs(p - terms.total) / max(abs(terms.total), 1) < tol { break }
            previous = terms.total
            if step == iterations { break }  // the last evaluation's x is the result
            try backend.adamStep(x, gradient: g, m: m, v: v, learningRate: learningRate, beta1: beta1,
                                 beta2: beta2, epsilon: epsilon, step: step)
            if let b = bounds { try backend.clamp(x, lower: b.lower, upper: b.upper) }
            done = step
            try onAccepted?(AcceptedStep(evaluations: done, stopping: false, capture: capture))
            step += 1
        }
        return terms
    }
}
