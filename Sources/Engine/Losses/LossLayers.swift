/// The layers a loss reads, resolved once against an architecture: the objectives, the memory
/// model and the tiling all start from this.
struct LossLayers {
    let content: Int?
    let style: [Int]
    let styleWeights: [Float]
    /// The deepest layer any term reads: forward passes stop there.
    let last: Int
    /// Convolutions that are loss layers keep their pre-ReLU output (no in-place ReLU).
    let separate: Set<Int>
    /// 2^(pools up to `last`): tiles start on multiples of this so pooling grids line up.
    let alignment: Int
    /// The receptive radius of `last` rounded up to the alignment: a tile evaluated with this
    /// much extra image on each side has exact features in its interior.
    let halo: Int

    init(_ config: LossConfig, architecture: Architecture) throws {
        content = try config.contentLayer.map { try architecture.layerIndex($0) }
        style = try config.styleLayers.map { try architecture.layerIndex($0) }
        styleWeights = config.resolvedStyleLayerWeights
        let last = max(content ?? 0, style.max() ?? 0)
        self.last = last
        let layers = architecture.layers
        separate = Set(([content].compactMap { $0 } + style).filter {
            if case .conv = layers[$0].kind { return true } else { return false }
        })
        let align = architecture.alignment(upTo: last)
        alignment = align
        halo = (architecture.receptiveRadius(upTo: last) + align - 1) / align * align
    }

    /// The same, checked against the depth a network was built for.
    init(_ config: LossConfig, network: VGGNetwork) throws {
        try self.init(config, architecture: network.architecture)
        guard last <= network.depth else {
            throw EngineError.invalidArgument("layer \(network.layers[last].name) is deeper than this network was built for")
        }
    }
}
