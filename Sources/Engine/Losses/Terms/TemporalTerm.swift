/// Temporal consistency for video (Ruder, Dosovitskiy & Brox 2016, eq. 7):
/// L_temporal = Σ c ⊙ (x − ω)² / (3·H·W), where ω is an earlier stylised frame warped into this
/// one by the optical flow and c (0…1 per pixel) is zero where the flow is unreliable
/// (disocclusions, motion boundaries). On the image itself, in network-input space. Computed as
/// the plain squared distance of √c∘x to √c∘ω (the content term's kernels), whose gradient
/// √c∘∂/∂(√c∘x) is c's weighting of the plain gradient. One term per earlier frame used
/// (`--temporal-frames 1,2,4`), each with its own ω and c.
public final class TemporalTerm: LossTerm {
    public struct Spec: LossTermSpec {
        /// "temporal", or "temporal:k" for the frame k back.
        public var name = "temporal"
        /// λ
        public var weight: Float
        /// ω in network-input space (3 × H × W at the output size).
        public var warped: [Float]
        /// c at the output size.
        public var reliability: GreyMap

        public init(weight: Float, warped: [Float], reliability: GreyMap) {
            self.weight = weight
            self.warped = warped
            self.reliability = reliability
        }

        public var layerNames: [String] { [] }
        public func setupImages(height: Int, width: Int) -> [(height: Int, width: Int)] { [] }
        public func memoryBytes(architecture: Architecture, shapes: [Shape], plan: TilePlan) -> Int {
            guard let s = shapes.first else { return 0 }
            let n = 3 * s.plane   // conv1_1 has the input's plane
            return 4 * (s.plane + 4 * n)   // √c; √c∘ω; √c∘x and its gradient; ω
        }
        public func make(on objective: Objective) throws -> LossTerm { try TemporalTerm(self, objective) }
    }

    public let layers: [Int] = []
    public private(set) var value: TermValue
    let spec: Spec
    let backend: Backend
    let root: Tensor
    let target: Tensor
    let objective: Objective

    init(_ spec: Spec, _ objective: Objective) throws {
        self.spec = spec
        self.objective = objective
        backend = objective.backend
        let h = objective.height, w = objective.width
        guard spec.warped.count == 3 * h * w else {
            throw EngineError.invalidArgument("the warped frame is \(spec.warped.count / 3) pixels, the frame \(h)×\(w)")
        }
        value = TermValue(name: spec.name, weight: Double(spec.weight))
        let c = spec.reliability.resized(width: w, height: h)
        root = try backend.tensor(c.values.map { $0.squareRoot() }, Shape(1, h, w))
        let omega = try backend.tensor(spec.warped, Shape(3, h, w))
        target = try backend.makeTensor(3, h, w)
        try backend.multiplyPlane(omega, by: root, into: target, accumulate: false)
    }

    public func reset() { value.value = 0 }

    public func evaluateImage(_ x: Tensor, gradient: Tensor?) throws {
        let cx = try objective.buffer("temporal-cx", x.shape)
        try backend.multiplyPlane(x, by: root, into: cx, accumulate: false)
        guard let gradient else {
            value.value = try backend.contentLoss(cx, target: target, weight: spec.weight, accumulateGradient: nil)
            return
        }
        let g = try objective.buffer("temporal-g", x.shape)
        try backend.fill(g, 0)
        value.value = try backend.contentLoss(cx, target: target, weight: spec.weight, accumulateGradient: g)
        try backend.multiplyPlane(g, by: root, into: gradient, accumulate: true)
    }
}
