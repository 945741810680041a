/// α·Σ_l w_l·L_style^l with L_style^l = ‖G^l(x) − A^l‖² / C², G = F Fᵀ / N (Gram matrices of the
/// whole image, so a first pass over the regions gathers them).
///
/// The target A^l blends the Gram matrices of one or more style images: A^l = Σ_k b_k·G^l(x_k) /
/// Σ_k b_k over the styles k that use layer l (`--style-blend-weights`, `--style-layers-of`).
///
/// Spatial control (guided Gram matrices, Gatys et al. 2017 §4): with a mask m over the output,
/// brought to each layer's size, the features are weighted by it and the Gram normalised by its
/// sum, G_m = (F∘m)(F∘m)ᵀ / Σm; a mask of all ones is the plain Gram. A style's own region mask
/// (`--style-region`) guides its target the same way. Over tiles, G_m = Σ_t (F_t∘m_t)(F_t∘m_t)ᵀ/Σm,
/// and ∂L/∂F_t = m_t∘((dG + dGᵀ)(F_t∘m_t))/Σm.
///
/// Feature means (`--style-mean-weight` λ > 0): L_style^l gains λ·‖μ^l(x) − μ_A^l‖² / C, with
/// μ = (F∘m)·1 / Σm each channel's mean and μ_A its blended target, so the term matches each
/// channel's mean and (through the Gram) its second moments. A Gram matrix alone lets a texture
/// trade a darker mean for more contrast (README, Reconstructions); the means pin it. Gradient:
/// ∂L/∂F_t = m_t·(2λ(μ − μ_A)/C)/Σm broadcast over each channel's pixels.
public final class StyleTerm: LossTerm {
    /// One style image and how it enters the target.
    public struct Source {
        /// Network-input pixels (3 × height × width) at the size it is used, made when the term is.
        public var pixels: () -> [Float]
        public var height: Int
        public var width: Int
        /// b_k, before normalisation.
        public var blend: Float = 1
        /// nil: every layer of the term; else only these (scale control).
        public var layers: Set<String>?
        /// Where in the style image its statistics are taken (at its size), nil: everywhere.
        public var region: GreyMap?

        public init(pixels: @escaping () -> [Float], height: Int, width: Int) {
            self.pixels = pixels
            self.height = height
            self.width = width
        }
    }

    public struct Spec: LossTermSpec {
        /// "style", or "style:K" for the K-th masked style.
        public var name = "style"
        public var layers: [String]
        /// w_l, one per layer.
        public var layerWeights: [Float]
        /// α
        public var weight: Float
        public var centered = false
        /// λ, the weight of the feature means against the Gram matrix; 0: the Gram alone.
        public var meanWeight: Float = 0
        public var sources: [Source]
        /// Where on the output the term applies (made at the output size when the term is, so
        /// planning at many sizes resizes nothing), nil: everywhere.
        public var mask: (() -> GreyMap)?
        /// Names the targets for `Objective.targets` (the same styles at the same sizes): a video's
        /// frames then compute them once. nil: not kept.
        public var targetKey: String?

        public init(layers: [String], layerWeights: [Float], weight: Float, sources: [Source]) {
            self.layers = layers
            self.layerWeights = layerWeights
            self.weight = weight
            self.sources = sources
        }

        /// The term as the loss options define it: α = `loss.styleWeight`, the Gram centred or
        /// not, and the feature means' λ (the one place these options reach a style term).
        public init(layers: [String], layerWeights: [Float], loss: LossConfig, sources: [Source]) {
            self.init(layers: layers, layerWeights: layerWeights, weight: loss.styleWeight, sources: sources)
            centered = loss.centeredGram
            meanWeight = loss.styleMeanWeight ?? 0
        }

        public var layerNames: [String] { layers }

        public func setupImages(height: Int, width: Int) -> [(height: Int, width: Int)] {
            sources.map { ($0.height, $0.width) }
        }

        public func memoryBytes(architecture: Architecture, shapes: [Shape], plan: TilePlan) -> Int {
            var floats = 0, largest = 0
            for name in layers {
                guard let i = try? architecture.layerIndex(name) else { continue }
                let c = shapes[i].channels
                // G, dG, A; tiled: the scaled dG and the per-tile Gram
                floats += (plan.tile == nil ? 3 : 5) * c * c
                if meanWeight > 0 { floats += 3 * c }   // μ, its gradient and μ_A
                if sources.count > 1 { floats += c * c }   // one style's Gram while the blend is made
                if mask != nil {
                    floats += shapes[i].plane
                    largest = max(largest, plan.largestInterior(full: shapes[i], stride: architecture.alignment(upTo: i)).count)
                }
            }
            return 4 * (floats + 2 * largest)   // masked features and their gradient, reused
        }

        public func make(on objective: Objective) throws -> LossTerm { try StyleTerm(self, objective) }
    }

    public let layers: [Int]
    public private(set) var value: TermValue
    public var needsStatistics: Bool { true }
    let spec: Spec
    let backend: Backend
    var grams: [Tensor] = []
    var gramGrads: [Tensor] = []
    var scaledGrads: [Tensor] = []
    var targets: [Tensor] = []
    /// μ, ∂L/∂μ and μ_A per layer when the means are matched (λ > 0), else empty.
    var means: [Tensor] = []
    var meanGrads: [Tensor] = []
    var meanTargets: [Tensor] = []
    /// The output mask at each layer and its sum (nil: no mask).
    var masks: [(map: Tensor, sum: Double)?] = []
    var perLayer: [Double] = []

    init(_ spec: Spec, _ objective: Objective) throws {
        self.spec = spec
        backend = objective.backend
        let net = objective.network
        layers = try spec.layers.map { try net.layerIndex($0) }
        value = TermValue(name: spec.name, weight: Double(spec.weight))
        guard !spec.centered || objective.plan.tile == nil else {
            throw EngineError.invalidArgument("--centered-gram is not available with tiled evaluation; drop it, or raise --memory-limit")
        }
        guard !spec.centered || (spec.mask == nil && spec.sources.allSatisfy { $0.region == nil }) else {
            throw EngineError.invalidArgument("--centered-gram cannot be combined with --style-mask or --style-region")
        }
        let tiled = objective.plan.tile != nil
        for i in layers {
            let c = objective.fullShape(i).channels
            grams.append(try backend.makeTensor(1, c, c))
            gramGrads.append(try backend.makeTensor(1, c, c))
            if tiled { scaledGrads.append(try backend.makeTensor(1, c, c)) }
            targets.append(try backend.makeTensor(1, c, c))
            if spec.meanWeight > 0 {
                means.append(try backend.makeTensor(Shape(vector: c)))
                meanGrads.append(try backend.makeTensor(Shape(vector: c)))
                meanTargets.append(try backend.makeTensor(Shape(vector: c)))
            }
        }
        let mask = spec.mask?()
        masks = try layers.map { i in try mask.map { try Self.upload($0, layer: i, objective: objective, height: objective.height, width: objective.width) } }
        let key = spec.targetKey.map { "\($0)|\(spec.layers)|\(spec.centered)|tile \(objective.plan.tile ?? 0)" }
        let meanKey = key.map { $0 + "|means" }
        if let key, let kept = objective.targets?.tensors[key],
           means.isEmpty || objective.targets?.tensors[meanKey!] != nil {
            targets = kept
            if !means.isEmpty { meanTargets = objective.targets!.tensors[meanKey!]! }
        } else {
            try makeTargets(objective)
            if let key { objective.targets?.tensors[key] = targets }
            if let meanKey, !means.isEmpty { objective.targets?.tensors[meanKey] = meanTargets }
        }
    }

    /// A mask at layer i's size for an image of height × width, on the backend, and its sum.
    static func upload(_ m: GreyMap, layer i: Int, objective: Objective, height: Int, width: Int) throws -> (map: Tensor, sum: Double) {
        let at = m.atLayer(i, of: objective.network.architecture, width: width, height: height)
        return (try objective.backend.tensor(at.values, Shape(1, at.height, at.width)), at.sum)
    }

    /// A^l = Σ_k b_k G^l(x_k) / Σ_k b_k over the styles using layer l (and μ_A^l likewise).
    func makeTargets(_ objective: Objective) throws {
        let users = spec.layers.map { name in spec.sources.indices.filter { spec.sources[$0].layers?.contains(name) ?? true } }
        for (k, u) in users.enumerated() where u.isEmpty {
            throw EngineError.invalidArgument("no style uses layer \(spec.layers[k]); check --style-layers-of")
        }
        for t in targets + meanTargets { try backend.fill(t, 0) }
        for (s, source) in spec.sources.enumerated() {
            let mine = layers.indices.filter { users[$0].contains(s) }
            guard !mine.isEmpty else { continue }
            let x = try backend.tensor(source.pixels(), Shape(3, source.height, source.width))
            let region = try mine.map { k in
                try source.region.map { try Self.upload($0, layer: layers[k], objective: objective, height: source.height, width: source.width) }
            }
            // one style alone at a layer: its Gram is the target; else blended in
            let direct = mine.map { users[$0].count == 1 }
            var out: [Tensor] = [], outMeans: [Tensor] = []
            for (j, k) in mine.enumerated() {
                out.append(direct[j] ? targets[k] : try objective.buffer("style-gram-\(k)", targets[k].shape))
                if !means.isEmpty {
                    outMeans.append(direct[j] ? meanTargets[k] : try objective.buffer("style-gram-mean-\(k)", meanTargets[k].shape))
                }
            }
            try gather(over: { body in try objective.forEachRegion(of: x, upTo: layers.max()!, body) },
                       layers: mine, masks: region, into: out, means: outMeans, centered: spec.centered)
            for (j, k) in mine.enumerated() where !direct[j] {
                let total = users[k].reduce(Float(0)) { $0 + spec.sources[$1].blend }
                try backend.axpy(source.blend / total, out[j], targets[k])
                if !means.isEmpty { try backend.axpy(source.blend / total, outMeans[j], meanTargets[k]) }
            }
        }
        objective.buffers = objective.buffers.filter { !$0.key.hasPrefix("style-gram-") }
    }

    /// G^l over the regions a pass visits, at the term's layers `ks` (indices into `layers`):
    /// G = Σ_t gram(F_t∘m_t)·N_t/Σm (m = 1, Σm = N without a mask; a whole region: gram(F) itself);
    /// and μ^l = Σ_t (F_t∘m_t)·1/Σm into `means` unless it is empty.
    func gather(over pass: ((Region) throws -> Void) throws -> Void, layers ks: [Int],
                masks: [(map: Tensor, sum: Double)?], into out: [Tensor], means: [Tensor], centered: Bool) throws {
        var first = true
        try pass { r in
            try add(r, layers: ks, masks: masks, into: out, means: means, centered: centered, first: first)
            first = false
        }
    }

    /// One region's share of G and μ (the first region of a pass zeroes them first).
    func add(_ r: Region, layers ks: [Int], masks: [(map: Tensor, sum: Double)?], into out: [Tensor],
             means: [Tensor], centered: Bool, first: Bool) throws {
        if first && !r.isWhole { for g in out { try backend.fill(g, 0) } }
        if first { for m in means { try backend.fill(m, 0) } }
        for (j, k) in ks.enumerated() {
            let i = layers[k]
            let (interior, _, _) = r.interior(i)
            guard interior.plane > 0 else { continue }
            var f = try r.features(i)
            var n = Double(r.fullShape(i).plane)
            if let m = masks[j] {
                let mt = try r.crop(m.map, layer: i, buffer: "style-mask")
                let fm = try r.objective.buffer("style-masked", interior)
                try backend.multiplyPlane(f, by: mt, into: fm, accumulate: false)
                f = fm
                n = m.sum
            }
            let share = n > 0 ? Float(Double(interior.plane) / n) : 0
            if !means.isEmpty && n > 0 { try backend.accumulateChannelSums(f, scale: Float(1 / n), into: means[j]) }
            if r.isWhole && masks[j] == nil {
                try backend.gram(f, centered: centered, into: out[j])
            } else if r.isWhole {
                try backend.gram(f, centered: false, into: out[j])
                try backend.scale(out[j], by: share)
            } else {
                let gt = try r.objective.buffer("gram", out[j].shape)
                try backend.gram(f, centered: false, into: gt)
                try backend.axpy(share, gt, out[j])
            }
        }
    }

    // MARK: evaluation

    var started = false

    public func reset() {
        value.value = 0
        perLayer = []
        started = false
    }

    public func accumulateStatistics(_ region: Region) throws {
        try add(region, layers: Array(layers.indices), masks: masks, into: grams, means: means, centered: spec.centered,
                first: !started)
        started = true
    }

    public func finishStatistics(gradient: Bool) throws {
        var total = 0.0
        for k in layers.indices {
            let w = spec.weight * spec.layerWeights[k]
            var v = try backend.styleLoss(grams[k], target: targets[k], weight: w, gradient: gradient ? gramGrads[k] : nil)
            if !means.isEmpty {
                // contentLoss on C values: ‖μ − μ_A‖²/C, and 2·w·λ(μ − μ_A)/C into the cleared gradient
                if gradient { try backend.fill(meanGrads[k], 0) }
                v += Double(spec.meanWeight) * (try backend.contentLoss(means[k], target: meanTargets[k], weight: w * spec.meanWeight,
                                                                         accumulateGradient: gradient ? meanGrads[k] : nil))
            }
            perLayer.append(v)
            total += Double(spec.layerWeights[k]) * v
        }
        value.value = total
        value.layers = Dictionary(zip(spec.layers, perLayer), uniquingKeysWith: +)
        value.layerOrder = spec.layers
    }

    public func evaluate(_ region: Region, layer i: Int, gradient: Tensor?) throws {
        guard let gradient else { return }
        for k in layers.indices where layers[k] == i {
            let (interior, _, _) = region.interior(i)
            guard interior.plane > 0 else { continue }
            let f = try region.features(i)
            var n = Double(region.fullShape(i).plane)
            var mt: Tensor?
            var fm = f
            if let m = masks[k] {
                guard m.sum > 0 else { continue }
                mt = try region.crop(m.map, layer: i, buffer: "style-mask")
                fm = try region.objective.buffer("style-masked", interior)
                try backend.multiplyPlane(f, by: mt!, into: fm, accumulate: false)
                n = m.sum
            }
            var dg = gramGrads[k]
            let scale = Double(interior.plane) / n
            if !region.isWhole || mt != nil {
                dg = scaledGrads.isEmpty ? try region.objective.buffer("style-dg", dg.shape) : scaledGrads[k]
                try backend.copy(gramGrads[k], into: dg)
                try backend.scale(dg, by: Float(scale))
            }
            try region.addGradient(layer: i, into: gradient) { g in
                guard let mt else {
                    try backend.accumulateGramBackward(dg, features: fm, centered: spec.centered, into: g)
                    if !means.isEmpty { try backend.accumulateChannelBroadcast(meanGrads[k], scale: Float(1 / n), into: g) }
                    return
                }
                let gm = try region.objective.buffer("style-masked-grad", interior)
                try backend.fill(gm, 0)
                try backend.accumulateGramBackward(dg, features: fm, centered: false, into: gm)
                if !means.isEmpty { try backend.accumulateChannelBroadcast(meanGrads[k], scale: Float(1 / n), into: gm) }
                try backend.multiplyPlane(gm, by: mt, into: g, accumulate: true)
            }
        }
    }
}
