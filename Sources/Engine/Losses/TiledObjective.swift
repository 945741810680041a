import Foundation

/// L(x) and ∇L(x) for images too large to evaluate at once. The image is cut into tiles whose
/// interiors cover it; each tile is evaluated with a halo of `Architecture.receptiveRadius`
/// pixels (rounded up to the pooling alignment), so the features of its interior equal the
/// whole image's exactly. Style uses Gram matrices of the whole image:
///   pass 1 — per tile, forward, and add the interior's share (N_t/N)·G_t to G;
///   then the style losses and dG from the whole-image G;
///   pass 2 — per tile, forward again and backward, injecting the content gradient and
///   (N_t/N)·dG's contribution on the interior only, and add the tile's input gradient into ∇L.
/// The content term is exact per pixel. Tiles whose halo would cross the image edge stop at it,
/// so their zero padding is the image's own. Centred Gram matrices are not supported here.
public final class TiledObjective: Objective {
    public let network: VGGNetwork
    public let config: LossConfig
    public let height: Int
    public let width: Int
    public let tile: Int
    public let halo: Int
    public private(set) var evaluations = 0

    let backend: Backend
    let layers: LossLayers
    let acts: VGGNetwork.Activations
    var contentTarget: Tensor?
    var styleTargets: [Tensor] = []
    var grams: [Tensor] = []
    var gramGrads: [Tensor] = []
    var scaledGrad: [Tensor] = []

    /// A tile: its interior [y0, y1) × [x0, x1) and the evaluated extent [ey0, ey1) × [ex0, ex1).
    struct Tile { let y0, y1, x0, x1, ey0, ey1, ex0, ex1: Int }

    public init(network: VGGNetwork, config: LossConfig, height: Int, width: Int, tile requested: Int,
                content: [Float]?, style: (pixels: [Float], height: Int, width: Int)?) throws {
        try config.validate()
        guard !config.centeredGram else {
            throw EngineError.invalidArgument("--centered-gram is not available with tiled evaluation; drop it, or raise --memory-limit")
        }
        self.network = network
        self.config = config
        self.height = height
        self.width = width
        backend = network.backend
        let layers = try LossLayers(config, network: network)
        self.layers = layers
        halo = layers.halo
        tile = max(layers.alignment, (requested + layers.alignment - 1) / layers.alignment * layers.alignment)
        let maxExtent = tile + 2 * halo
        acts = try network.makeActivations(height: min(maxExtent, max(height, style?.height ?? 0)),
                                           width: min(maxExtent, max(width, style?.width ?? 0)),
                                           upTo: layers.last, separate: layers.separate)
        let shapes = network.shapes(height: height, width: width)
        for i in layers.style {
            let c = shapes[i].channels
            grams.append(try backend.makeTensor(1, c, c))
            gramGrads.append(try backend.makeTensor(1, c, c))
            scaledGrad.append(try backend.makeTensor(1, c, c))
        }
        if let ci = layers.content {
            guard let content = content else { throw EngineError.invalidArgument("a content layer needs a content image") }
            let xc = try backend.tensor(content, Shape(3, height, width))
            let target = try backend.makeTensor(shapes[ci])
            try backend.fill(target, 0)
            for t in tiles(height: height, width: width) {
                let tacts = try forwardTile(xc, t, upTo: ci)
                let (interior, top, left) = interiorRegion(t, layer: ci, full: shapes[ci])
                let f = try buffer("features", interior)
                try backend.crop(tacts.outputs[ci], top: top, left: left, into: f)
                let (gy, gx) = featureOrigin(t, layer: ci)
                try backend.accumulateCrop(f, top: gy, left: gx, into: target)
            }
            contentTarget = target
        }
        if !layers.style.isEmpty {
            guard let style = style else { throw EngineError.invalidArgument("style layers need a style image") }
            let xs = try backend.tensor(style.pixels, Shape(3, style.height, style.width))
            for i in layers.style {
                let c = shapes[i].channels
                styleTargets.append(try backend.makeTensor(1, c, c))
            }
            try accumulateGrams(xs, height: style.height, width: style.width, into: styleTargets)
        }
        try backend.synchronize()
    }

    func tiles(height: Int, width: Int) -> [Tile] {
        var out: [Tile] = []
        for y0 in Swift.stride(from: 0, to: height, by: tile) {
            for x0 in Swift.stride(from: 0, to: width, by: tile) {
                let y1 = min(height, y0 + tile), x1 = min(width, x0 + tile)
                out.append(Tile(y0: y0, y1: y1, x0: x0, x1: x1, ey0: max(0, y0 - halo), ey1: min(height, y1 + halo),
                                ex0: max(0, x0 - halo), ex1: min(width, x1 + halo)))
            }
        }
        return out
    }

    /// Scale (stride) of layer i relative to the input.
    func stride(_ i: Int) -> Int { network.architecture.alignment(upTo: i) }

    /// The interior of tile t at layer i (`full`: that layer's shape for the whole image): its
    /// shape and its offset inside the tile's feature map. A tile ending at the image edge keeps
    /// the whole image's last (floor-pooled) row and column.
    func interiorRegion(_ t: Tile, layer i: Int, full: Shape, imageHeight: Int, imageWidth: Int) -> (Shape, Int, Int) {
        let s = stride(i)
        let qy0 = t.y0 / s, qx0 = t.x0 / s
        let qy1 = t.y1 == imageHeight ? full.height : t.y1 / s
        let qx1 = t.x1 == imageWidth ? full.width : t.x1 / s
        return (Shape(full.channels, max(0, qy1 - qy0), max(0, qx1 - qx0)), qy0 - t.ey0 / s, qx0 - t.ex0 / s)
    }

    func interiorRegion(_ t: Tile, layer i: Int, full: Shape) -> (Shape, Int, Int) {
        interiorRegion(t, layer: i, full: full, imageHeight: height, imageWidth: width)
    }

    /// Where tile t's interior starts in the whole image's feature map at layer i.
    func featureOrigin(_ t: Tile, layer i: Int) -> (Int, Int) { (t.y0 / stride(i), t.x0 / stride(i)) }

    /// Crops the tile's extent out of the image and runs the network on it.
    func forwardTile(_ x: Tensor, _ t: Tile, upTo: Int) throws -> VGGNetwork.Activations {
        let h = t.ey1 - t.ey0, w = t.ex1 - t.ex0
        let xt = try tileInput(h: h, w: w)
        try backend.crop(x, top: t.ey0, left: t.ex0, into: xt)
        let tacts = network.view(of: acts, height: h, width: w)
        try network.forward(xt, into: tacts, upTo: upTo)
        return tacts
    }

    /// Reused buffers for the interior crops (features, targets, gradients) and per-tile Grams,
    /// grown to the largest size asked for; tiles of one image see views of them.
    var buffers: [String: Tensor] = [:]
    func buffer(_ name: String, _ shape: Shape) throws -> Tensor {
        if let b = buffers[name], b.storage.count >= shape.count { return b.reshaped(shape) }
        let b = try backend.makeTensor(shape)
        buffers[name] = b
        return b
    }

    var inputBuffer: Tensor?
    func tileInput(h: Int, w: Int) throws -> Tensor {
        if inputBuffer == nil || inputBuffer!.storage.count < 3 * h * w {
            inputBuffer = try backend.makeTensor(Shape(3, acts.height, acts.width))
        }
        return inputBuffer!.reshaped(Shape(3, h, w))
    }

    /// Whole-image Gram matrices of `x` at the style layers, tile by tile: G = Σ_t (N_t/N)·G_t.
    func accumulateGrams(_ x: Tensor, height h: Int, width w: Int, into out: [Tensor]) throws {
        let shapes = network.shapes(height: h, width: w)
        for g in out { try backend.fill(g, 0) }
        for t in tiles(height: h, width: w) {
            let tacts = try forwardTile(x, t, upTo: layers.style.max()!)
            for (k, i) in layers.style.enumerated() {
                let (interior, top, left) = interiorRegion(t, layer: i, full: shapes[i], imageHeight: h, imageWidth: w)
                guard interior.plane > 0 else { continue }
                let f = try buffer("features", interior)
                try backend.crop(tacts.outputs[i], top: top, left: left, into: f)
                let gt = try buffer("gram", out[k].shape)
                try backend.gram(f, centered: false, into: gt)
                try backend.axpy(Float(interior.plane) / Float(shapes[i].plane), gt, out[k])
            }
        }
    }

    public func evaluate(_ x: Tensor, gradient: Tensor?) throws -> LossTerms {
        evaluations += 1
        var terms = LossTerms()
        let shapes = network.shapes(height: height, width: width)
        let all = tiles(height: height, width: width)
        if !layers.style.isEmpty { try accumulateGrams(x, height: height, width: width, into: grams) }
        try backend.addStyleTerms(&terms, grams: grams, targets: styleTargets, gradients: gradient != nil ? gramGrads : nil,
                                  config: config, layerWeights: layers.styleWeights)
        if let g = gradient { try backend.fill(g, 0) }
        let needPass2 = gradient != nil || layers.content != nil
        if needPass2 {
            for t in all {
                let tacts = try forwardTile(x, t, upTo: layers.last)
                // The content term of the tile's interior: its value, and with `grad` its gradient
                // added there. Normalised by the whole map, so weighted by the interior's share.
                func contentTerm(into grad: Tensor?) throws {
                    guard let ci = layers.content else { return }
                    let (interior, top, left) = interiorRegion(t, layer: ci, full: shapes[ci])
                    guard interior.plane > 0 else { return }
                    let f = try buffer("features", interior), p = try buffer("target", interior)
                    try backend.crop(tacts.outputs[ci], top: top, left: left, into: f)
                    let (gy, gx) = featureOrigin(t, layer: ci)
                    try backend.crop(contentTarget!, top: gy, left: gx, into: p)
                    let share = Double(interior.count) / Double(shapes[ci].count)
                    let gi = grad == nil ? nil : try buffer("gradient", interior)
                    if let gi { try backend.fill(gi, 0) }
                    terms.content += share * (try backend.contentLoss(f, target: p, weight: Float(share), accumulateGradient: gi))
                    if let grad, let gi { try backend.accumulateCrop(gi, top: top, left: left, into: grad) }
                }
                guard let gradient = gradient else {
                    try contentTerm(into: nil)
                    continue
                }
                let xt = inputBuffer!.reshaped(Shape(3, t.ey1 - t.ey0, t.ex1 - t.ex0))
                let dxt = try network.backward(xt, acts: tacts, from: layers.last) { i, grad in
                    if i == layers.content { try contentTerm(into: grad) }
                    for (k, si) in layers.style.enumerated() where si == i {
                        let (interior, top, left) = interiorRegion(t, layer: i, full: shapes[i])
                        guard interior.plane > 0 else { continue }
                        let f = try buffer("features", interior), gi = try buffer("gradient", interior)
                        try backend.crop(tacts.outputs[i], top: top, left: left, into: f)
                        try backend.fill(gi, 0)
                        // accumulateGramBackward divides by the interior's H·W; the whole image's is N
                        try backend.copy(gramGrads[k], into: scaledGrad[k])
                        try backend.scale(scaledGrad[k], by: Float(interior.plane) / Float(shapes[i].plane))
                        try backend.accumulateGramBackward(scaledGrad[k], features: f, centered: false, into: gi)
                        try backend.accumulateCrop(gi, top: top, left: left, into: grad)
                    }
                }
                try backend.accumulateCrop(dxt, top: t.ey0, left: t.ex0, into: gradient)
            }
        }
        try backend.addTVTerm(&terms, x: x, config: config, gradient: gradient)
        return terms
    }
}
