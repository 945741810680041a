/// L_content = ‖F − P‖² / (C·H·W) at one layer, P = Φ(x_c) computed once. Per pixel, so each
/// region adds its interior's share. With a weight map m (0…1, one value per output pixel,
/// brought to the layer's size), L = Σ m·(F − P)² / (C·H·W): computed as the plain loss of √m∘F
/// against √m∘P, whose gradient √m∘∂L/∂(√m∘F) is the map's weighting of the plain gradient.
public final class ContentTerm: LossTerm {
    public struct Spec: LossTermSpec {
        public var layer: String
        /// Network-input pixels (3×H×W) of the content image at the output size, made when the term is.
        public var content: () -> [Float]
        /// nil: every pixel weighs 1.
        public var weightMap: GreyMap?

        public init(layer: String, content: @escaping () -> [Float], weightMap: GreyMap? = nil) {
            self.layer = layer
            self.content = content
            self.weightMap = weightMap
        }

        public var layerNames: [String] { [layer] }
        /// None besides the output-sized content image, which the evaluator's activations fit.
        public func setupImages(height: Int, width: Int) -> [(height: Int, width: Int)] { [] }

        public func memoryBytes(architecture: Architecture, shapes: [Shape], plan: TilePlan) -> Int {
            guard let i = try? architecture.layerIndex(layer) else { return 0 }
            let full = shapes[i]
            var floats = full.count   // P
            if plan.tile != nil { floats += plan.largestInterior(full: full, stride: architecture.alignment(upTo: i)).count }
            if weightMap != nil { floats += full.plane + 2 * full.count }   // √m at the layer, √m∘F, √m∘P crops
            return 4 * floats
        }

        public func make(on objective: Objective) throws -> LossTerm { try ContentTerm(self, objective) }
    }

    public let layers: [Int]
    public private(set) var value: TermValue
    let layer: Int
    let target: Tensor
    /// √m at the layer's size (1×h×w), or nil.
    let rootMap: Tensor?
    let backend: Backend

    init(_ spec: Spec, _ objective: Objective) throws {
        layer = try objective.network.layerIndex(spec.layer)
        layers = [layer]
        let backend = objective.backend
        self.backend = backend
        value = TermValue(name: "content", weight: 1)
        let full = objective.fullShape(layer)
        let xc = try backend.tensor(spec.content(), Shape(3, objective.height, objective.width))
        let p = try backend.makeTensor(full)
        try backend.fill(p, 0)
        try objective.forEachRegion(of: xc, upTo: layer) { [layer] r in
            let f = try r.features(layer)
            let (gy, gx) = r.origin(layer)
            try backend.accumulateCrop(f, top: gy, left: gx, into: p)
        }
        target = p
        let layer = self.layer
        rootMap = try spec.weightMap.map { m in
            let at = m.atLayer(layer, of: objective.network.architecture, width: objective.width, height: objective.height)
            return try backend.tensor(at.values.map { $0.squareRoot() }, Shape(1, full.height, full.width))
        }
    }

    public func reset() { value.value = 0 }

    public func evaluate(_ region: Region, layer i: Int, gradient: Tensor?) throws {
        let (interior, _, _) = region.interior(i)
        guard interior.plane > 0 else { return }
        var f = try region.features(i)
        var p = try region.crop(target, layer: i, buffer: "target")
        let share = Double(interior.count) / Double(region.fullShape(i).count)
        let root = try rootMap.map { try region.crop($0, layer: i, buffer: "content-map") }
        if let root {
            let mf = try region.objective.buffer("content-mf", interior), mp = try region.objective.buffer("content-mp", interior)
            try backend.multiplyPlane(f, by: root, into: mf, accumulate: false)
            try backend.multiplyPlane(p, by: root, into: mp, accumulate: false)
            f = mf
            p = mp
        }
        let weight = Float(share)
        guard let gradient else {
            value.value += share * (try backend.contentLoss(f, target: p, weight: weight, accumulateGradient: nil))
            return
        }
        try region.addGradient(layer: i, into: gradient) { g in
            guard let root else {
                value.value += share * (try backend.contentLoss(f, target: p, weight: weight, accumulateGradient: g))
                return
            }
            let gm = try region.objective.buffer("content-gm", interior)
            try backend.fill(gm, 0)
            value.value += share * (try backend.contentLoss(f, target: p, weight: weight, accumulateGradient: gm))
            try backend.multiplyPlane(gm, by: root, into: g, accumulate: true)
        }
    }
}
