/// The terms both objectives compute the same way, from whole-image Gram matrices and x.
extension Backend {
    /// α·Σ w_l·L_style^l from the Gram matrices already computed; with `gradients`, writes each
    /// layer's weighted dG into them.
    func addStyleTerms(_ terms: inout LossTerms, grams: [Tensor], targets: [Tensor], gradients: [Tensor]?,
                       config: LossConfig, layerWeights: [Float]) throws {
        for k in grams.indices {
            let w = config.styleWeight * layerWeights[k]
            let v = try styleLoss(grams[k], target: targets[k], weight: w, gradient: gradients?[k])
            terms.stylePerLayer.append(v)
            terms.style += Double(w) * v
        }
    }

    /// β·L_tv on x; with `gradient`, adds β·∇L_tv to it.
    func addTVTerm(_ terms: inout LossTerms, x: Tensor, config: LossConfig, gradient: Tensor?) throws {
        guard config.tvWeight > 0 else { return }
        terms.tvRaw = try tvLoss(x, kind: config.tv, weight: config.tvWeight, accumulateGradient: gradient)
        terms.tv = Double(config.tvWeight) * terms.tvRaw
    }
}
