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

    /// The estimate for one scale: output width × height, style image sw × sh.
    public static func estimate(architecture: Architecture, options: TransferOptions, width: Int, height: Int,
                                styleWidth: Int, styleHeight: Int, backendKind: String,
                                openCLPath: OpenCLBackend.Parameters.Path = .direct,
                                openCLParameters: OpenCLBackend.Parameters = .init(),
                                cpuParameters: CPUBackend.Parameters = .init(),
                                tile: Int? = nil) -> MemoryEstimate {
        var e = MemoryEstimate()
        let layers = architecture.layers
        guard let resolved = try? LossLayers(options.loss, architecture: architecture) else { return e }
        let content = resolved.content, style = resolved.style, last = resolved.last
        let separate = resolved.separate
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
        var aw = width, ah = height
        if let t = tile {
            aw = min(width, t + 2 * resolved.halo)
            ah = min(height, t + 2 * resolved.halo)
        }
        let full = activationFloats(width, height, upTo: last)
        let a = activationFloats(aw, ah, upTo: last)
        e.activations = 4 * a.total
        e.gradients = 2 * 4 * a.largest
        e.largestBuffer = 4 * a.largest
        // weights + flipped copies of every convolution up to the deepest layer
        var weightFloats = 0, scratchFloats = 0
        var clSlots = [0, 0, 0]   // the OpenCL backend's scratch buffers (see OpenCLBackend.scratchBuffer)
        var s = Shape(3, ah, aw)
        for (i, l) in layers.enumerated() where i <= last {
            switch l.kind {
            case .conv(_, let cin, let cout):
                weightFloats += 2 * (cout * cin * 9) + cout
                if backendKind == "cpu" {
                    // transformed Winograd copies, forward and backward
                    let m = cpuParameters.winogradTile(height: s.height, width: s.width), positions = (m + 2) * (m + 2)
                    if cpuParameters.convMethod(cin: cin, cout: cout) == .winograd { weightFloats += positions * cin * cout }
                    if cpuParameters.convMethod(cin: cout, cout: cin) == .winograd { weightFloats += positions * cin * cout }
                    scratchFloats = max(scratchFloats,
                                        cpuParameters.convScratchFloats(cin: cin, cout: cout, height: s.height, width: s.width),
                                        cpuParameters.convScratchFloats(cin: cout, cout: cin, height: s.height, width: s.width))
                } else {
                    let p = openCLParameters
                    for (ci, co) in [(cin, cout), (cout, cin)] {   // forward, backward
                        if p.usesWinograd(cin: ci, cout: co) {
                            weightFloats += 36 * ci * co
                            let f = p.winogradLayout(cin: ci, cout: co, height: s.height, width: s.width)
                                .scratchFloats(cin: ci, cout: co)
                            clSlots = [max(clSlots[0], f.v), max(clSlots[1], f.m), max(clSlots[2], f.padded)]
                        } else if openCLPath == .clblast {
                            clSlots[0] = max(clSlots[0], p.im2colBand(cin: ci, height: s.height, width: s.width).floats)
                        } else {
                            clSlots[0] = max(clSlots[0], p.directScratchFloats(cin: ci, height: s.height, width: s.width))
                        }
                    }
                }
                s = Shape(cout, s.height, s.width)
            case .pool: s = Shape(s.channels, s.height / 2, s.width / 2)
            case .relu: break
            }
        }
        if backendKind != "cpu" {
            if options.loss.centeredGram { clSlots[0] = max(clSlots[0], a.largest) }
            scratchFloats = clSlots.reduce(0, +)
            e.largestBuffer = max(e.largestBuffer, 4 * (clSlots.max() ?? 0))
        } else {
            if options.loss.centeredGram { scratchFloats = max(scratchFloats, a.largest) }
            e.largestBuffer = max(e.largestBuffer, 4 * scratchFloats)
        }
        e.weights = 4 * weightFloats
        e.scratch = 4 * scratchFloats
        let n = 3 * width * height
        var targets = 0
        if let c = content { targets += full.shapes[c].count }
        for i in style { let ch = full.shapes[i].channels; targets += (tile == nil ? 3 : 5) * ch * ch }
        if let t = tile {
            targets += 3 * aw * ah   // the tile's input
            // interior crops, reused across tiles: features and gradient at the largest loss
            // layer, plus the content target's crop
            func interior(_ i: Int) -> Int {
                let sh = full.shapes[i], st = architecture.alignment(upTo: i)
                return sh.channels * min(sh.height, (t + st - 1) / st) * min(sh.width, (t + st - 1) / st)
            }
            let largest = ([content].compactMap { $0 } + style).map(interior).max() ?? 0
            targets += 2 * largest + (content.map(interior) ?? 0)
        }
        e.targets = 4 * targets
        switch options.optimizer {
        case .lbfgs: e.optimizer = 4 * n * (5 + 2 * options.lbfgsHistory)
        case .adam: e.optimizer = 4 * n * 4
        }
        if tile != nil {
            // whole content and style images on the backend while the targets are computed
            e.styleSetup = 4 * 3 * (width * height + styleWidth * styleHeight)
        } else if !style.isEmpty && (styleWidth != width || styleHeight != height) {
            let sa = activationFloats(styleWidth, styleHeight, upTo: style.max()!)
            e.styleSetup = 4 * (sa.total + 2 * sa.largest)
        }
        if backendKind == "cpu" {
            // resized content and style (RGB floats) and their network-input copies, the final download
            e.hostImages = 4 * (3 * n + 2 * 3 * styleWidth * styleHeight)
        }
        return e
    }
}
