@testable import Engine

extension Objective {
    /// The objective of a `LossConfig` for network-input arrays (content at the output size, one
    /// style image of its own size), the way the tests build it.
    convenience init(network: VGGNetwork, config: LossConfig, height: Int, width: Int, tile: Int? = nil,
                     content: [Float]?, style: (pixels: [Float], height: Int, width: Int)?,
                     configure: (inout [LossTermSpec]) -> Void = { _ in }) throws {
        try config.validate()
        var specs: [LossTermSpec] = []
        if let layer = config.contentLayer, let content {
            specs.append(ContentTerm.Spec(layer: layer, content: { content }))
        }
        if !config.styleLayers.isEmpty, let style {
            specs.append(StyleTerm.Spec(layers: config.styleLayers, layerWeights: config.resolvedStyleLayerWeights, loss: config,
                                        sources: [StyleTerm.Source(pixels: { style.pixels }, height: style.height, width: style.width)]))
        }
        if config.tvWeight > 0 { specs.append(TVTerm.Spec(kind: config.tv, weight: config.tvWeight)) }
        configure(&specs)
        try self.init(network: network, height: height, width: width, tile: tile, specs: specs)
    }
}
