/// One 3×3 convolution as run at one input size: what a backend's memory depends on.
public struct ConvolutionSite: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let height: Int
    public let width: Int
}

/// What a backend allocates for the network beyond the activations and the plain and flipped
/// weights (which every backend keeps): transformed weight copies and scratch buffers, in floats.
public struct BackendMemory: Sendable {
    public var extraWeightFloats = 0
    public var scratchFloats = 0
    /// The largest single scratch buffer (OpenCL devices cap one allocation).
    public var largestScratchFloats = 0
    /// Whether the host's image copies share the budget (true for the CPU backend, whose
    /// budget is RAM; a device's budget is its own memory).
    public var hostImagesCount = false
}

/// Asked by the memory planner, so it needs to know nothing of a backend's internals.
public protocol BackendMemoryModel {
    /// For the network's convolutions, forward and backward, at `sites`; `centeredGramFloats`
    /// is the largest feature map a centred Gram matrix copies (0: no centring).
    func memory(convolutions sites: [ConvolutionSite], centeredGramFloats: Int) -> BackendMemory
}

extension CPUBackend: BackendMemoryModel {
    /// Transformed Winograd copies (forward and backward), and the largest convolution scratch.
    public func memory(convolutions sites: [ConvolutionSite], centeredGramFloats: Int) -> BackendMemory {
        var m = BackendMemory()
        m.hostImagesCount = true
        let p = parameters
        for s in sites {
            let cin = s.inChannels, cout = s.outChannels
            let t = p.winogradTile(height: s.height, width: s.width), positions = (t + 2) * (t + 2)
            if p.convMethod(cin: cin, cout: cout) == .winograd { m.extraWeightFloats += positions * cin * cout }
            if p.convMethod(cin: cout, cout: cin) == .winograd { m.extraWeightFloats += positions * cin * cout }
            m.scratchFloats = max(m.scratchFloats,
                                  p.convScratchFloats(cin: cin, cout: cout, height: s.height, width: s.width),
                                  p.convScratchFloats(cin: cout, cout: cin, height: s.height, width: s.width))
        }
        m.scratchFloats = max(m.scratchFloats, centeredGramFloats)
        m.largestScratchFloats = m.scratchFloats
        return m
    }
}

extension OpenCLBackend: BackendMemoryModel {
    /// Winograd's transformed weights, and the three scratch slots (see `scratchBuffer`): each
    /// the largest any convolution asks of it.
    public func memory(convolutions sites: [ConvolutionSite], centeredGramFloats: Int) -> BackendMemory {
        var m = BackendMemory()
        var slots = [0, 0, 0]
        let p = parameters
        for s in sites {
            for (ci, co) in [(s.inChannels, s.outChannels), (s.outChannels, s.inChannels)] {   // forward, backward
                if p.usesWinograd(cin: ci, cout: co) {
                    m.extraWeightFloats += 36 * ci * co
                    let f = p.winogradLayout(cin: ci, cout: co, height: s.height, width: s.width).scratchFloats(cin: ci, cout: co)
                    slots = [max(slots[0], f.v), max(slots[1], f.m), max(slots[2], f.padded)]
                } else if path == .clblast {
                    slots[0] = max(slots[0], p.im2colBand(cin: ci, height: s.height, width: s.width).floats)
                } else {
                    slots[0] = max(slots[0], p.directScratchFloats(cin: ci, height: s.height, width: s.width))
                }
            }
        }
        slots[0] = max(slots[0], centeredGramFloats)
        m.scratchFloats = slots.reduce(0, +)
        m.largestScratchFloats = slots.max() ?? 0
        return m
    }
}
