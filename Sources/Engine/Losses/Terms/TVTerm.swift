/// β·L_tv on the image itself (see `TVKind` for the forms).
public final class TVTerm: LossTerm {
    public struct Spec: LossTermSpec {
        public var kind: TVKind
        /// β
        public var weight: Float
        public init(kind: TVKind, weight: Float) {
            self.kind = kind
            self.weight = weight
        }
        public var layerNames: [String] { [] }
        public func setupImages(height: Int, width: Int) -> [(height: Int, width: Int)] { [] }
        public func memoryBytes(architecture: Architecture, shapes: [Shape], plan: TilePlan) -> Int { 0 }
        public func make(on objective: Objective) throws -> LossTerm { TVTerm(self, objective.backend) }
    }

    public let layers: [Int] = []
    public private(set) var value: TermValue
    let spec: Spec
    let backend: Backend

    init(_ spec: Spec, _ backend: Backend) {
        self.spec = spec
        self.backend = backend
        value = TermValue(name: "tv", weight: Double(spec.weight))
    }

    public func reset() { value.value = 0 }

    public func evaluateImage(_ x: Tensor, gradient: Tensor?) throws {
        value.value = try backend.tvLoss(x, kind: spec.kind, weight: spec.weight, accumulateGradient: gradient)
    }
}
