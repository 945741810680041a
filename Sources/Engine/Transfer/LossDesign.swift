/// The loss of a stylisation as a list of terms, made from the options and the inputs for one
/// output size: the content term (with its weight map), the style terms (one blended term, or one
/// per masked style) and total variation. Specs are cheap — images are resized only when a term
/// is made — so the planner can ask for them at every size it tries.
extension StyleTransfer {
    public func lossSpecs(_ inputs: TransferInputs, width: Int, height: Int) throws -> [LossTermSpec] {
        let loss = options.loss
        var specs: [LossTermSpec] = []
        if let layer = loss.contentLayer {
            guard let content = inputs.content else { throw EngineError.invalidArgument("a content layer needs a content image") }
            specs.append(ContentTerm.Spec(layer: layer, content: { content.resized(width: width, height: height).networkInput() },
                                          weightMap: inputs.contentWeightMap))
        }
        if !loss.styleLayers.isEmpty {
            guard !inputs.styles.isEmpty else { throw EngineError.invalidArgument("style layers need a style image") }
            let sources = try inputs.styles.enumerated().map { k, s in try source(s, number: k + 1, width: width, height: height) }
            let masks = inputs.styles.map(\.mask)
            if masks.allSatisfy({ $0 == nil }) {
                var spec = StyleTerm.Spec(layers: loss.styleLayers, layerWeights: loss.resolvedStyleLayerWeights,
                                          loss: loss, sources: sources)
                spec.targetKey = targetKey(inputs.styles, sources)
                specs.append(spec)
            } else {
                let normalised = NormalisedMasks { GreyMap.normalisedOverlaps(masks.map { $0!.resized(width: width, height: height) }) }
                for (k, source) in sources.enumerated() {
                    // the layers this style uses, in the order of --style-layers
                    let mine = loss.styleLayers.enumerated().filter { source.layers?.contains($0.element) ?? true }
                    var spec = StyleTerm.Spec(layers: mine.map(\.element),
                                              layerWeights: mine.map { loss.resolvedStyleLayerWeights[$0.offset] },
                                              loss: loss, sources: [source])
                    spec.name = "style:\(k + 1)"
                    spec.targetKey = targetKey([inputs.styles[k]], [source])
                    spec.mask = { normalised.maps[k] }
                    specs.append(spec)
                }
            }
        }
        if loss.tvWeight > 0 { specs.append(TVTerm.Spec(kind: loss.tv, weight: loss.tvWeight)) }
        return specs
    }

    /// The key of a style term's targets: every source's key, size, blend and layers; nil when
    /// any source has no key or is recoloured from the content (which changes per frame).
    func targetKey(_ styles: [StyleInput], _ sources: [StyleTerm.Source]) -> String? {
        var parts: [String] = []
        for (s, src) in zip(styles, sources) {
            guard let key = s.targetKey, s.recolor == nil else { return nil }
            parts.append("\(key) \(src.width)×\(src.height) b\(src.blend) \(src.layers.map { $0.sorted() } ?? [])")
        }
        return parts.joined(separator: "; ")
    }

    /// Style k (from 1) at its size for an output of width × height.
    func source(_ s: StyleInput, number k: Int, width: Int, height: Int) throws -> StyleTerm.Source {
        let (sw, sh) = try styleSize(s.image, scale: s.scale ?? options.styleScale, width: width, height: height)
        var source = StyleTerm.Source(pixels: { s.image(width: sw, height: sh).networkInput() }, height: sh, width: sw)
        source.blend = s.blend
        source.layers = s.layers.map(Set.init)
        source.region = s.region
        return source
    }
}

/// The masks at the output size with their overlaps normalised, made once and only when a term
/// is made (the planner asks for specs at many sizes).
final class NormalisedMasks {
    let make: () -> [GreyMap]
    lazy var maps: [GreyMap] = make()
    init(_ make: @escaping () -> [GreyMap]) { self.make = make }
}
