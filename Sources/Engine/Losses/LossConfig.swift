/// The loss of the README's definitions:
/// L(x) = L_content + α·Σ_l w_l·L_style^l + β·L_tv.
public struct LossConfig: Codable, Sendable {
    /// nil: no content term (texture synthesis).
    public var contentLayer: String? = "relu4_2"
    public var styleLayers: [String] = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    /// nil: 1/|L_s| each.
    public var styleLayerWeights: [Float]? = nil
    /// α
    public var styleWeight: Float = 5
    /// β
    public var tvWeight: Float = 1e-8
    public var tv: TVKind = .l2
    public var centeredGram = false
    /// λ: each style layer also matches its per-channel feature means, λ·‖μ − μ_A‖²/C beside the
    /// Gram term (StyleTerm). nil (the default, as the paper): the Gram alone. Optional so that
    /// runs without it keep their checkpoint identity.
    public var styleMeanWeight: Float? = nil

    public init() {}

    public var resolvedStyleLayerWeights: [Float] {
        styleLayerWeights ?? [Float](repeating: 1 / Float(max(styleLayers.count, 1)), count: styleLayers.count)
    }

    /// Rejects what cannot be meant: negative or non-finite weights, mismatched lists.
    public func validate() throws {
        func check(_ v: Float, _ name: String) throws {
            guard v.isFinite, v >= 0 else { throw EngineError.invalidArgument("\(name) must be a finite number ≥ 0 (got \(v))") }
        }
        try check(styleWeight, "--style-weight")
        try check(tvWeight, "--tv-weight")
        if let m = styleMeanWeight { try check(m, "--style-mean-weight") }
        if let w = styleLayerWeights {
            guard w.count == styleLayers.count else {
                throw EngineError.invalidArgument("--style-layer-weights has \(w.count) values for \(styleLayers.count) style layers")
            }
            for v in w { try check(v, "--style-layer-weights") }
        }
        if case .power(let g) = tv, !(g > 0 && g.isFinite) {
            throw EngineError.invalidArgument("--tv power:γ needs γ > 0")
        }
    }
}

