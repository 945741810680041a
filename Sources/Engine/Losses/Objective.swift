import Foundation

/// L(x) and ∇L(x): a list of loss terms evaluated over the regions of a tile plan. The whole
/// image is one region; a large one is cut into tiles (see `TilePlan`), and terms built on
/// whole-image statistics (Gram matrices) get two passes:
///   pass 1 — per tile, forward, and each such term adds the interior's share to its statistics;
///   then each computes its value and the gradient of its statistics;
///   pass 2 — per tile, forward again (not for a single region: its activations are still there)
///   and backward, each term injecting its gradient on the interior only; the tile's input
///   gradient is added into ∇L.
/// Terms of the image itself (total variation) act on x last.
public final class Objective {
    public let network: VGGNetwork
    public let height: Int
    public let width: Int
    public let plan: TilePlan
    public private(set) var terms: [LossTerm] = []
    public private(set) var evaluations = 0

    let backend: Backend
    /// Layers that are loss layers: forward passes stop at the deepest; conv layers among them
    /// keep their pre-ReLU output.
    public let lossLayers: Set<Int>
    let last: Int
    let acts: VGGNetwork.Activations

    /// Targets kept across objectives (a video's style Gram matrices), by the terms' keys.
    public final class Targets {
        public var tensors: [String: [Tensor]] = [:]
        public init() {}
    }
    let targets: Targets?

    /// Makes the terms of `specs` (in order: their targets are computed here, or taken from
    /// `targets`) for an image of height × width, tiled by `tile` px (nil: whole image).
    public init(network: VGGNetwork, height: Int, width: Int, tile: Int?, specs: [LossTermSpec],
                targets: Targets? = nil) throws {
        self.network = network
        self.targets = targets
        self.height = height
        self.width = width
        backend = network.backend
        let arch = network.architecture
        var layers = Set<Int>()
        for s in specs { for n in s.layerNames { layers.insert(try network.layerIndex(n)) } }
        lossLayers = layers
        separate = layers.filter { if case .conv = network.layers[$0].kind { return true } else { return false } }
        last = layers.max() ?? 0
        plan = TilePlan(tile: tile, architecture: arch, last: last)
        let extent = plan.extent(height: height, width: width)
        acts = try network.makeActivations(height: extent.height, width: extent.width, upTo: last, separate: separate)
        for s in specs { terms.append(try s.make(on: self)) }
        try backend.synchronize()
        buffers["setup-input"] = nil
    }

    /// Conv layers among the loss layers keep their pre-ReLU output (no in-place ReLU).
    let separate: Set<Int>

    /// Layer i's shape for the output image.
    public func fullShape(_ i: Int) -> Shape { network.shapes(height: height, width: width)[i] }

    // MARK: buffers

    /// Reused buffers (interior crops, per-tile Grams, the tile's input), grown to the largest
    /// size asked for; regions see views of them.
    var buffers: [String: Tensor] = [:]
    public func buffer(_ name: String, _ shape: Shape) throws -> Tensor {
        if let b = buffers[name], b.storage.count >= shape.count { return b.reshaped(shape) }
        let b = try backend.makeTensor(shape)
        buffers[name] = b
        return b
    }

    // MARK: regions

    /// Runs the network on every region of `image` (3 × h × w on the backend) up to layer
    /// `upTo`, calling `body` with each: what terms use to compute their targets. Images larger
    /// than the plan's activations get their own for the pass.
    public func forEachRegion(of image: Tensor, upTo: Int, _ body: (Region) throws -> Void) throws {
        let h = image.shape.height, w = image.shape.width
        let e = plan.extent(height: h, width: w)
        let base = e.height <= acts.height && e.width <= acts.width ? acts
            : try network.makeActivations(height: e.height, width: e.width, upTo: upTo, separate: separate)
        for t in plan.tiles(height: h, width: w) {
            let r = try forward(image, t, imageHeight: h, imageWidth: w, acts: base, upTo: upTo, input: "setup-input")
            try body(r)
        }
    }

    /// Crops the tile's extent out of the image (unless it is the whole image) and runs the
    /// network on it.
    func forward(_ x: Tensor, _ t: TilePlan.Tile, imageHeight: Int, imageWidth: Int, acts base: VGGNetwork.Activations,
                 upTo: Int, input: String = "input") throws -> Region {
        let h = t.ey1 - t.ey0, w = t.ex1 - t.ex0
        var xt = x
        if h != imageHeight || w != imageWidth {
            xt = try buffer(input, Shape(3, h, w))
            try backend.crop(x, top: t.ey0, left: t.ex0, into: xt)
        }
        let tacts = h == base.height && w == base.width ? base : network.view(of: base, height: h, width: w)
        try network.forward(xt, into: tacts, upTo: upTo)
        let r = Region(tile: t, imageHeight: imageHeight, imageWidth: imageWidth, acts: tacts, objective: self)
        r.input = xt
        return r
    }

    // MARK: evaluation

    /// Evaluates L(x); with `gradient`, also writes ∇L(x) into it (3×H×W).
    public func evaluate(_ x: Tensor, gradient: Tensor?) throws -> LossTerms {
        evaluations += 1
        for t in terms { t.reset() }
        let tiles = plan.tiles(height: height, width: width)
        let single = tiles.count == 1
        let statistics = terms.filter { $0.needsStatistics }
        let featureTerms = terms.filter { !$0.layers.isEmpty }
        var kept: Region?
        if !statistics.isEmpty {
            let deepest = statistics.flatMap(\.layers).max()!
            for t in tiles {
                let r = try forward(x, t, imageHeight: height, imageWidth: width, acts: acts, upTo: single ? last : deepest)
                for term in statistics { try term.accumulateStatistics(r) }
                if single { kept = r }
            }
            for term in statistics { try term.finishStatistics(gradient: gradient != nil) }
        }
        let pass2 = gradient != nil || featureTerms.contains { !$0.needsStatistics }
        if !featureTerms.isEmpty && pass2 {
            if let g = gradient, !single { try backend.fill(g, 0) }
            for t in tiles {
                let r = try kept ?? forward(x, t, imageHeight: height, imageWidth: width, acts: acts, upTo: last)
                guard let gradient = gradient else {
                    for term in featureTerms { for i in term.layers.sorted(by: >) { try term.evaluate(r, layer: i, gradient: nil) } }
                    continue
                }
                let dxt = try network.backward(r.input!, acts: r.acts, from: last) { i, grad in
                    guard lossLayers.contains(i) else { return }
                    for term in featureTerms where term.layers.contains(i) { try term.evaluate(r, layer: i, gradient: grad) }
                }
                if single { try backend.copy(dxt, into: gradient) } else {
                    try backend.accumulateCrop(dxt, top: t.ey0, left: t.ex0, into: gradient)
                }
            }
        } else if let g = gradient {
            try backend.fill(g, 0)   // only image terms
        }
        for term in terms where term.layers.isEmpty { try term.evaluateImage(x, gradient: gradient) }
        return LossTerms(terms: terms.map(\.value))
    }
}

extension Architecture {
    /// How far (in input pixels, each side) the features at layer `last` see beyond their own
    /// position: every 3×3 convolution at stride s adds s. 70 for relu5_1 of VGG-19.
    public func receptiveRadius(upTo last: Int) -> Int {
        var stride = 1, radius = 0
        for (i, l) in layers.enumerated() where i <= last {
            switch l.kind {
            case .conv: radius += stride
            case .pool: stride *= 2
            case .relu: break
            }
        }
        return radius
    }

    /// 2^(pools up to `last`): tiles start on multiples of this so pooling grids line up.
    public func alignment(upTo last: Int) -> Int {
        layers.prefix(last + 1).reduce(1) { a, l in l.kind == .pool ? a * 2 : a }
    }
}
