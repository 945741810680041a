import Foundation

/// Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4 two-loop recursion) with one of two
/// line searches. All vectors live on the backend; only dot products come back.
///
/// - `.wolfe` (the default): a strong Wolfe search that can lengthen the step as well as shorten
///   it (`WolfeSearch`). Before the first step (and the first after a restart) one evaluation
///   probes the curvature: the gradient where −g moves the largest pixel by `probePixels`. That
///   pair (s, y) goes into the history and x stays where it was, so the first step is already a
///   quasi-Newton one (the BFGS update of (sᵀy/yᵀy)·I by that pair) and starts at t = learningRate
///   like every later one. Where the probe finds no curvature the first step moves the largest
///   pixel by `firstStepPixels` along −g.
///   Curvature pairs with yᵀs ≤ 1e-10·‖s‖·‖y‖ are skipped, so nothing depends on the loss's scale.
/// - `.armijo` (the first releases' form): the first iteration takes t = min(1, 1/‖g‖₂)·learningRate
///   along −g, later ones t = learningRate. While f(x + t·d) > f(x) + 1e-4·t·gᵀd, t moves to the
///   minimiser of the quadratic through f(x), gᵀd and f(x + t·d), kept within [t/10, t/2].
///   Curvature pairs with yᵀs ≤ 1e-10 are skipped.
///
/// The two-loop recursion's initial inverse Hessian is γ·M with γ = sᵀy / yᵀMy from the newest
/// pair: M = I with `preconditioner = .none`, and `BlockPyramid` (smooth directions lengthened)
/// with `.pyramid`, the default. A first step, which has no pair, is along −g either way.
///
/// With `bounds` (projected L-BFGS): every trial point is the projection P(x + t·d) onto the
/// box, so the gradient is always taken inside it and the curvature pairs are those of the
/// projected points; the line search's slope is that of t ↦ f(P(x + t·d)), ∇fᵀd over the
/// components that the projection leaves free. A pixel at a bound leaves it as soon as its
/// gradient points inwards.
///
/// If the evaluation budget ends inside a line search, the last accepted point is the result; a
/// failed search goes back to it and restarts from steepest descent.
///
/// State at an accepted step (`OptimizerState`): vectors "x", "g", then "s0", "y0", … oldest
/// first, with scalars "rho0", …, "first" (1 when the next step has no history to shape it: at
/// the start, after a restart, and after a resume whose history was dropped; Wolfe probes the
/// curvature before such a step), "retry" (Wolfe: the factor on the next first step after failed
/// searches) and "probed" (Wolfe: 1 when the curvature at x has been probed and no step taken
/// since).
public final class LBFGS: Optimizer {
    /// How a step length is found along the quasi-Newton direction.
    public enum LineSearch: String, CaseIterable, Sendable {
        /// Strong Wolfe conditions by bracketing and zoom with cubic interpolation (Nocedal and
        /// Wright, Algorithms 3.5 and 3.6): the step can grow as well as shrink, so the loss's
        /// scale does not matter. A curvature probe sets the first step's length.
        case wolfe
        /// Armijo backtracking from min(1, 1/‖g‖₂) (the form of the first releases, kept so
        /// earlier runs can be reproduced).
        case armijo
    }

    public let backend: Backend
    public let history: Int
    public var learningRate: Float = 1
    public var maxBacktracks = 10
    public var lineSearch = LineSearch.wolfe
    /// The M of the initial inverse Hessian γ·M; `.pyramid`'s β is `pyramidWeight`.
    public var preconditioner = Preconditioner.pyramid
    public var pyramidWeight: Float = 1
    /// Wolfe: the curvature probe before a first step moves the largest pixel by this much on the
    /// 0–255 scale (1/16: far above Float's resolution at 255, far below a visible change).
    public var probePixels = 0.0625
    /// Wolfe: a first step that the probe could not scale moves the largest pixel by this much.
    public var firstStepPixels = 4.0
    /// Wolfe: sufficient decrease and curvature constants, and the most evaluations one search takes.
    public var c1 = 1e-4, c2 = 0.9
    public var maxLineSearchEvaluations = 20
    /// Called at each step the Wolfe search accepts, with (t, f(0), f′(0), f(t), f′(t)): the tests
    /// check the strong Wolfe conditions with it. (A search that runs out of evaluations keeps a
    /// point with sufficient decrease only, and does not call it.)
    public var onLineSearch: ((_ t: Double, _ f0: Double, _ slope0: Double, _ f: Double, _ slope: Double) -> Void)?
    /// Stop when |Δf| / max(|f|, 1) falls below this (nil: run every iteration).
    public var tolerance: Double?
    public var resume: OptimizerState?
    public var bounds: ChannelBounds?
    public var onAccepted: ((AcceptedStep) throws -> Void)?

    public init(backend: Backend, history: Int = 100) {
        self.backend = backend
        self.history = max(1, history)
    }

    public func minimize(_ x: Tensor, iterations: Int,
                         evaluate: (Tensor, Tensor) throws -> LossTerms,
                         onStep: (OptimizerStep) throws -> Bool) throws -> LossTerms {
        let shape = x.shape
        let g = try backend.makeTensor(shape), gPrev = try backend.makeTensor(shape)
        let d = try backend.makeTensor(shape), xPrev = try backend.makeTensor(shape)
        var s: [Tensor] = [], y: [Tensor] = [], rho: [Double] = []
        var pool: [(Tensor, Tensor)] = []   // recycled history pairs
        // bounds: the unprojected trial point, and the gradient masked to its free components
        let unprojected = try bounds.map { _ in try backend.makeTensor(shape) }
        let free = try bounds.map { _ in try backend.makeTensor(shape) }
        let pyramid = preconditioner == .pyramid ? try BlockPyramid(backend: backend, shape: shape, weight: pyramidWeight) : nil
        let scratch = try pyramid.map { _ in try backend.makeTensor(shape) }   // M·y, then M·d

        var evals: Int
        var terms: LossTerms
        var first = true
        var retryScale = 1.0   // Wolfe: shrinks the first step after searches that failed
        var probed = false     // Wolfe: the curvature at x has been probed, and no step taken since
        if let r = resume {
            guard let gv = r.vector("g"), gv.count == shape.count else {
                throw EngineError.io("the checkpoint holds no gradient of \(shape.count) values")
            }
            try backend.upload(gv, to: g)
            var i = 0
            while i < history, let sv = r.vector("s\(i)"), let yv = r.vector("y\(i)"), let rhoI = r.scalars["rho\(i)"] {
                let (si, yi) = (try backend.makeTensor(shape), try backend.makeTensor(shape))
                try backend.upload(sv, to: si)
                try backend.upload(yv, to: yi)
                s.append(si); y.append(yi); rho.append(rhoI)
                i += 1
            }
            evals = r.evaluations
            terms = r.terms
            first = (r.scalars["first"] ?? 1) != 0
            retryScale = r.scalars["retry"] ?? 1
            probed = (r.scalars["probed"] ?? 0) != 0
        } else {
            if let b = bounds { try backend.clamp(x, lower: b.lower, upper: b.upper) }
            evals = 1
            terms = try evaluate(x, g)
        }
        var acceptedEvals = evals
        func capture(_ withHistory: Bool) throws -> OptimizerState {
            var st = OptimizerState(evaluations: acceptedEvals, terms: terms)
            st.vectors = [("x", try backend.download(x)), ("g", try backend.download(g))]
            st.scalars["first"] = first || !withHistory ? 1 : 0
            st.scalars["retry"] = retryScale
            st.scalars["probed"] = probed && withHistory ? 1 : 0
            if withHistory {
                for i in s.indices {
                    st.vectors.append(("s\(i)", try backend.download(s[i])))
                    st.vectors.append(("y\(i)", try backend.download(y[i])))
                    st.scalars["rho\(i)"] = rho[i]
                }
            }
            return st
        }
        func offer(stopping: Bool) throws {
            try onAccepted?(AcceptedStep(evaluations: acceptedEvals, stopping: stopping, capture: capture))
        }
        if resume == nil {
            guard try onStep(OptimizerStep(evaluation: evals, terms: terms)) else {
                try offer(stopping: true)
                return terms
            }
        }
        // bounds: d's components that point out of the box from a bound are set to 0, so that
        // gᵀd is the slope of t ↦ f(P(x + t·d)) at 0 (x + ε·d with |ε·dᵢ| ≤ 1e-3 decides which)
        func holdAtBounds(_ d: Tensor) throws {
            guard let b = bounds, let z = unprojected else { return }
            let norm = (try backend.sumOfSquares(d)).squareRoot()
            guard norm > 0 else { return }
            try backend.copy(x, into: z)
            try backend.axpy(Float(1e-3 / norm), d, z)
            try backend.zeroOutside(d, of: z, lower: b.lower, upper: b.upper)
        }
        // curvature pair s = x − xPrev, y = g − gPrev into the history; false when it is skipped
        @discardableResult
        func remember() throws -> Bool {
            let (sNew, yNew) = s.count >= history ? (s.removeFirst(), y.removeFirst()) : try pool.popLast() ?? (backend.makeTensor(shape), backend.makeTensor(shape))
            if rho.count >= history { rho.removeFirst() }
            try backend.copy(x, into: sNew)
            try backend.axpy(-1, xPrev, sNew)
            try backend.copy(g, into: yNew)
            try backend.axpy(-1, gPrev, yNew)
            let ys = try backend.dot(yNew, sNew)
            // Armijo keeps its absolute test; Wolfe's is relative to ‖s‖·‖y‖, so scale-free
            let curved = lineSearch == .armijo ? ys > 1e-10
                : ys > 1e-10 * ((try backend.sumOfSquares(sNew)) * (try backend.sumOfSquares(yNew))).squareRoot()
            if curved {
                s.append(sNew); y.append(yNew); rho.append(1 / ys)
            } else {
                pool.append((sNew, yNew))
            }
            return curved
        }
        var f = terms.total
        var alpha = [Double](repeating: 0, count: history)

        while evals < iterations {
            // d = −H·g by the two-loop recursion
            try backend.copy(g, into: d)
            for i in stride(from: s.count - 1, through: 0, by: -1) {
                alpha[i] = rho[i] * (try backend.dot(s[i], d))
                try backend.axpy(Float(-alpha[i]), y[i], d)
            }
            if let sl = s.last, let yl = y.last {
                // H₀ = γ·M with γ = sᵀy / yᵀMy
                let yMy: Double
                if let m = pyramid, let my = scratch {
                    try m.apply(yl, into: my)
                    yMy = try backend.dot(yl, my)
                    try m.apply(d, into: my)
                    try backend.copy(my, into: d)
                } else {
                    yMy = try backend.sumOfSquares(yl)
                }
                let gamma = (try backend.dot(sl, yl)) / max(yMy, 1e-30)
                try backend.scale(d, by: Float(gamma))
            }
            for i in 0..<s.count {
                let beta = rho[i] * (try backend.dot(y[i], d))
                try backend.axpy(Float(alpha[i] - beta), s[i], d)
            }
            try backend.scale(d, by: -1)
            try holdAtBounds(d)
            var gtd = try backend.dot(g, d)
            if !(gtd < 0) {  // not a descent direction: restart from steepest descent
                s.removeAll(); y.removeAll(); rho.removeAll()
                try backend.copy(g, into: d)
                try backend.scale(d, by: -1)
                first = true
                if bounds == nil {
                    gtd = -(try backend.sumOfSquares(g))
                } else {
                    try holdAtBounds(d)
                    gtd = try backend.dot(g, d)
                    if !(gtd < 0) { break }   // stationary on the box: every free component has g = 0
                }
            }
            try backend.copy(x, into: xPrev)
            try backend.copy(g, into: gPrev)
            let fPrev = f, termsPrev = terms
            var stop = false
            // one evaluation at x = xPrev + t·d
            func trial(_ t: Double) throws {
                try backend.copy(xPrev, into: x)
                try backend.axpy(Float(t), d, x)
                if let b = bounds, let z = unprojected {
                    try backend.copy(x, into: z)
                    try backend.clamp(x, lower: b.lower, upper: b.upper)
                }
                terms = try evaluate(x, g)
                evals += 1
                f = terms.total
                stop = !(try onStep(OptimizerStep(evaluation: evals, terms: terms)))
            }
            // d/dt f(P(xPrev + t·d)) = ∇fᵀd over the components P leaves free
            func projectedSlope() throws -> Double {
                guard let b = bounds, let z = unprojected, let m = free else { return try backend.dot(g, d) }
                try backend.copy(g, into: m)
                try backend.zeroOutside(m, of: z, lower: b.lower, upper: b.upper)
                return try backend.dot(m, d)
            }
            // back to the last accepted point
            func restore() throws {
                try backend.copy(xPrev, into: x)
                try backend.copy(gPrev, into: g)
                f = fPrev
                terms = termsPrev
            }
            // the first step after a probe is shortened like any first step after failed searches
            var t = Double(learningRate) * (probed ? retryScale : 1)
            if first {
                switch lineSearch {
                case .armijo: t = min(1, 1 / max((try backend.sumOfSquares(g)).squareRoot(), 1e-30)) * Double(learningRate)
                case .wolfe:
                    let largest = Double(try backend.download(d).reduce(Float(0)) { max($0, abs($1)) })
                    if !probed {
                        // curvature probe: one evaluation a short way along d; its pair is kept and x stays
                        try trial(probePixels / max(largest, 1e-30))
                        let kept = f.isFinite ? try remember() : false
                        try restore()
                        probed = true
                        first = !kept
                        acceptedEvals = evals
                        if stop { try offer(stopping: true); return terms }
                        if evals >= iterations { return terms }
                        if kept { continue }   // the next direction comes from the probe's pair
                    }
                    t = firstStepPixels * retryScale / max(largest, 1e-30)
                }
            }
            first = false
            probed = false
            var accepted = false
            switch lineSearch {
            case .wolfe:
                var c = WolfeSearch(t: t, f0: fPrev, slope0: gtd, c1: c1, c2: c2)
                while true {
                    try trial(c.t)
                    let slope = f.isFinite ? try projectedSlope() : .nan
                    let next = c.next(f: f, slope: slope)
                    if next == nil { accepted = true; onLineSearch?(c.t, fPrev, gtd, f, slope); break }
                    if stop || evals >= iterations || c.trials >= maxLineSearchEvaluations || !(next! > 0) || !next!.isFinite {
                        // out of evaluations: keep this point if it decreases f enough
                        // (sufficient decrease only, so not reported to onLineSearch)
                        accepted = f.isFinite && f < fPrev && f <= fPrev + c1 * c.t * gtd
                        break
                    }
                    c.t = next!
                }
                // a failed search from the same point would repeat itself: the next first step is 10× shorter
                retryScale = accepted ? 1 : retryScale * 0.1
            case .armijo:
                var backtracks = 0
                while true {
                    try trial(t)
                    if f <= fPrev + 1e-4 * t * gtd || backtracks >= maxBacktracks {
                        accepted = f <= fPrev
                        break
                    }
                    // out of budget inside the line search: the last accepted point is the result
                    if stop || evals >= iterations { break }
                    // minimiser of the quadratic through f(0), f'(0) and f(t), kept within [t/10, t/2]
                    let q = -gtd * t * t / (2 * (f - fPrev - gtd * t))
                    t = f.isFinite && q.isFinite ? min(max(q, 0.1 * t), 0.5 * t) : 0.1 * t
                    backtracks += 1
                }
            }
            if !accepted {
                // the line search failed: back to the last point, and restart from steepest descent
                try restore()
                if stop { try offer(stopping: true) }
                if stop || evals >= iterations { return terms }
                s.removeAll(); y.removeAll(); rho.removeAll()
                first = true
                continue
            }
            // curvature pair (also when stopping, so that a checkpoint taken now resumes exactly as
            // the run would have gone on)
            try remember()
            acceptedEvals = evals
            try offer(stopping: stop)
            if stop { return terms }
            if let tol = tolerance, abs(fPrev - f) / max(abs(f), 1) < tol { break }
        }
        return terms
    }
}

/// The step-length logic of a strong Wolfe line search, apart from the evaluations (Nocedal and
/// Wright, Algorithms 3.5 and 3.6). `next(f:slope:)` takes f(t) and f′(t) = ∇f(x + t·d)ᵀd at the
/// current `t` and returns nil when t satisfies both strong Wolfe conditions, else the next t to
/// try: 4t while the bracket is still open, then the safeguarded minimiser of the cubic through
/// the bracket's two ends.
struct WolfeSearch {
    var t: Double
    let f0: Double, slope0: Double, c1: Double, c2: Double
    private(set) var trials = 0
    /// The bracket: `lo` is the best point with sufficient decrease so far; `hi` is set once a
    /// point past the minimiser is known.
    private var lo: (t: Double, f: Double, slope: Double)
    private var hi: (t: Double, f: Double, slope: Double)?

    init(t: Double, f0: Double, slope0: Double, c1: Double, c2: Double) {
        self.t = t
        self.f0 = f0
        self.slope0 = slope0
        self.c1 = c1
        self.c2 = c2
        lo = (0, f0, slope0)
    }

    mutating func next(f: Double, slope: Double) -> Double? {
        trials += 1
        guard f.isFinite, slope.isFinite else {
            // overshot into overflow: the bracket ends here, at an infinitely bad point
            hi = (t, .infinity, .infinity)
            return 0.5 * (lo.t + t)
        }
        let decrease = f <= f0 + c1 * t * slope0
        if decrease && abs(slope) <= -c2 * slope0 { return nil }
        let here = (t: t, f: f, slope: slope)
        if !decrease || f >= lo.f {
            hi = here
        } else {
            if let h = hi, slope * (h.t - lo.t) >= 0 { hi = lo } else if hi == nil && slope >= 0 { hi = lo }
            lo = here
        }
        guard let h = hi else { return 4 * t }   // still bracketing: extrapolate
        return Self.cubic(lo, h)
    }

    /// Minimiser of the cubic through (a, fa, f′a) and (b, fb, f′b), kept in the middle 80 % of
    /// [a, b]; the midpoint when the cubic has none there.
    static func cubic(_ a: (t: Double, f: Double, slope: Double), _ b: (t: Double, f: Double, slope: Double)) -> Double {
        let lower = min(a.t, b.t), upper = max(a.t, b.t), width = upper - lower
        let mid = 0.5 * (a.t + b.t)
        guard b.f.isFinite, b.slope.isFinite, width > 0 else { return mid }
        let d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t)
        let disc = d1 * d1 - a.slope * b.slope
        guard disc >= 0 else { return mid }
        let d2 = (b.t > a.t ? 1.0 : -1.0) * disc.squareRoot()
        let denom = b.slope - a.slope + 2 * d2
        guard denom != 0 else { return mid }
        let t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / denom
        guard t.isFinite else { return mid }
        return min(max(t, lower + 0.1 * width), upper - 0.1 * width)
    }
}
