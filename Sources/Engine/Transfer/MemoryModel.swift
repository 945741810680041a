import Foundation

/// Bytes one stylisation needs, estimated before anything is allocated. It mirrors what the
/// code allocates: `VGGNetwork.makeActivations` (a ReLU shares its convolution's tensor unless
/// that convolution is a loss layer; two gradient buffers of the largest activation), the
/// weights and their flipped copies, the backends' scratch, the loss targets and the
/// optimiser's vectors, plus host-side image copies on the CPU backend.
public struct MemoryEstimate: Codable, Sendable {
    public var weights = 0
    public var activations = 0
    public var gradients = 0
    public var scratch = 0
    public var targets = 0
    public var optimizer = 0
    /// Activations for the style image while its Gram targets are computed (setup only).
    public var styleSetup = 0
    public var hostImages = 0
    /// The largest single buffer (OpenCL devices cap one allocation).
    public var largestBuffer = 0

    /// Peak: the larger of setup (style activations alive) and the iterations (optimiser state alive).
    public var total: Int {
        weights + activations + gradients + scratch + targets + hostImages + max(styleSetup, optimizer)
    }
}

public enum MemoryModel {
    /// Parses sizes like 512M, 2G, 1.5GiB, 800000000.
    public static func parseBytes(_ text: String) throws -> Int {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Double)] = [("GIB", 1_073_741_824), ("MIB", 1_048_576), ("KIB", 1024), ("GB", 1e9), ("MB", 1e6),
                                         ("KB", 1e3), ("G", 1_073_741_824), ("M", 1_048_576), ("K", 1024), ("B", 1)]
        let most = Double(1 << 50)   // 1 PiB: anything larger is a typing mistake
        var bytes: Double?
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count)) { bytes = v * scale; break }
        }
        if bytes == nil, let v = Double(t), t.allSatisfy({ $0.isNumber || $0 == "." }) { bytes = v }
        guard let b = bytes else {
            throw EngineError.invalidArgument("cannot read memory size \"\(text)\"; use forms like 512M, 2G or 1.5GiB")
        }
        guard b >= 1, b <= most, b.isFinite else {
            throw EngineError.invalidArgument("--memory-limit must be between 1 byte and 1 PiB (got \(text))")
        }
        return Int(b)
    }

    /// The estimate for one scale: an output of width × height with the loss `specs`, evaluated
    /// under `plan` on `backend` (asked for its own needs). The activations, the gradient buffers
    /// and the plain weights are the network's; each term adds its targets and buffers.
    public static func estimate(architecture: Architecture, options: TransferOptions, width: Int, height: Int,
                                specs: [LossTermSpec], plan: TilePlan, backend: BackendMemoryModel) -> MemoryEstimate {
        var e = MemoryEstimate()
        let layers = architecture.layers
        guard let indices = try? specs.flatMap({ try $0.layerNames.map { try architecture.layerIndex($0) } }),
              let last = indices.max() else { return e }
        let separate = Set(indices.filter { if case .conv = layers[$0].kind { return true } else { return false } })
        let styleLayers = specs.compactMap { $0 as? StyleTerm.Spec }.flatMap(\.layers).compactMap { try? architecture.layerIndex($0) }
        func activationFloats(_ w: Int, _ h: Int, upTo: Int) -> (total: Int, largest: Int, shapes: [Shape]) {
            var s = Shape(3, h, w)
            var total = 0, largest = 3 * w * h
            var shapes: [Shape] = []
            for (i, l) in layers.enumerated() where i <= upTo {
                switch l.kind {
                case .conv(_, _, let cout): s = Shape(cout, s.height, s.width); total += s.count
                case .relu: if separate.contains(i - 1) { total += s.count }
                case .pool: s = Shape(s.channels, s.height / 2, s.width / 2); total += s.count
                }
                largest = max(largest, s.count)
                shapes.append(s)
            }
            return (total, largest, shapes)
        }
        // Tiled: activations, gradients and scratch for one tile with its halo; the loss targets and
        // the optimiser's vectors stay whole-image.
        let (ah, aw) = plan.extent(height: height, width: width)
        let full = activationFloats(width, height, upTo: last)
        let a = activationFloats(aw, ah, upTo: last)
        e.activations = 4 * a.total
        e.gradients = 2 * 4 * a.largest
        // plain and flipped weights of every convolution up to the deepest layer, and what the
        // backend adds for them
        var weightFloats = 0
        var sites: [ConvolutionSite] = []
        var s = Shape(3, ah, aw)
        for (i, l) in layers.enumerated() where i <= last {
            switch l.kind {
            case .conv(_, let cin, let cout):
                weightFloats += 2 * (cout * cin * 9) + cout
                sites.append(ConvolutionSite(inChannels: cin, outChannels: cout, height: s.height, width: s.width))
                s = Shape(cout, s.height, s.width)
            case .pool: s = Shape(s.channels, s.height / 2, s.width / 2)
            case .relu: break
            }
        }
        let centered = specs.contains { ($0 as? StyleTerm.Spec)?.centered ?? false }
        let b = backend.memory(convolutions: sites, centeredGramFloats: centered ? a.largest : 0)
        e.weights = 4 * (weightFloats + b.extraWeightFloats)
        e.scratch = 4 * b.scratchFloats
        e.largestBuffer = 4 * max(a.largest, b.largestScratchFloats)
        let n = 3 * width * height
        var targets = specs.reduce(0) { $0 + $1.memoryBytes(architecture: architecture, shapes: full.shapes, plan: plan) / 4 }
        if plan.tile != nil {
            targets += 3 * aw * ah   // the tile's input
            // the interior crops every term shares: features and gradient at the largest loss layer
            targets += 2 * (Set(indices).map {
                plan.largestInterior(full: full.shapes[$0], stride: architecture.alignment(upTo: $0)).count
            }.max() ?? 0)
        }
        e.targets = 4 * targets
        switch options.optimizer {
        case .lbfgs: e.optimizer = 4 * n * (5 + 2 * options.lbfgsHistory)
        case .adam: e.optimizer = 4 * n * 4
        }
        if options.boundPixels && options.optimizer == .lbfgs { e.optimizer += 2 * 4 * n }   // LBFGS.bounds' two vectors
        if options.preconditioner == .pyramid && options.optimizer == .lbfgs {   // M·v and BlockPyramid's levels
            e.optimizer += 4 * (n + BlockPyramid.scratchFloats(Shape(3, height, width)))
        }
        let setup = specs.flatMap { (try? $0.setupImages(height: height, width: width)) ?? [] }
        let largestSetup = setup.map { $0.height * $0.width }.max() ?? 0
        if plan.tile != nil {
            // the whole image and the largest style image on the backend while the targets are computed
            e.styleSetup = 4 * 3 * (width * height + largestSetup)
        } else if let deepest = styleLayers.max() {
            // a style image larger than the output in either side gets activations of its own
            e.styleSetup = setup.filter { $0.height > height || $0.width > width }
                .map { 4 * { $0.total + 2 * $0.largest }(activationFloats($0.width, $0.height, upTo: deepest)) }.max() ?? 0
        }
        if b.hostImagesCount {
            // resized content and style (RGB floats) and their network-input copies, the final download
            e.hostImages = 4 * (3 * n + 2 * 3 * largestSetup)
        }
        return e
    }
}
