import Foundation

/// L(x) and ∇L(x) for style transfer. Targets — Φ^{l_c}(x_c) and G^l(x_s) — are computed once,
/// in the constructor.
public final class StyleObjective {
    public let network: VGGNetwork
    public let config: LossConfig
    public let height: Int
    public let width: Int

    let backend: Backend
    let layers: LossLayers
    let acts: VGGNetwork.Activations
    var contentTarget: Tensor?
    var styleTargets: [Tensor] = []
    var grams: [Tensor] = []
    var gramGrads: [Tensor] = []
    public private(set) var evaluations = 0

    /// `content` and `style` are network-input images (3×H×W); either may be nil when its term is
    /// off. The style image may have another size than x.
    public init(network: VGGNetwork, config: LossConfig, height: Int, width: Int,
                content: [Float]?, style: (pixels: [Float], height: Int, width: Int)?) throws {
        try config.validate()
        self.network = network
        self.config = config
        self.height = height
        self.width = width
        backend = network.backend
        let layers = try LossLayers(config, network: network)
        self.layers = layers
        acts = try network.makeActivations(height: height, width: width, upTo: layers.last, separate: layers.separate)
        let shapes = network.shapes(height: height, width: width)
        for i in layers.style {
            let c = shapes[i].channels
            grams.append(try backend.makeTensor(1, c, c))
            gramGrads.append(try backend.makeTensor(1, c, c))
        }

        if let ci = layers.content {
            guard let content = content else { throw EngineError.invalidArgument("a content layer needs a content image") }
            let x = try backend.tensor(content, Shape(3, height, width))
            try network.forward(x, into: acts, upTo: ci)
            let target = try backend.makeTensor(shapes[ci])
            try backend.copy(acts.outputs[ci], into: target)
            contentTarget = target
        }
        if !layers.style.isEmpty {
            guard let style = style else { throw EngineError.invalidArgument("style layers need a style image") }
            let sameSize = style.height == height && style.width == width
            let sacts = sameSize ? acts : try network.makeActivations(height: style.height, width: style.width,
                                                                       upTo: layers.style.max()!, separate: layers.separate)
            let xs = try backend.tensor(style.pixels, Shape(3, style.height, style.width))
            try network.forward(xs, into: sacts, upTo: layers.style.max()!)
            for i in layers.style {
                let c = sacts.outputs[i].shape.channels
                let a = try backend.makeTensor(1, c, c)
                try backend.gram(sacts.outputs[i], centered: config.centeredGram, into: a)
                styleTargets.append(a)
            }
        }
        try backend.synchronize()
    }

    /// Evaluates L(x); with `gradient`, also writes ∇L(x) into it (3×H×W).
    public func evaluate(_ x: Tensor, gradient: Tensor?) throws -> LossTerms {
        evaluations += 1
        var terms = LossTerms()
        try network.forward(x, into: acts, upTo: layers.last)
        // Style values (and dG) first: they need only the forward activations.
        let wantGrad = gradient != nil
        for (k, i) in layers.style.enumerated() {
            try backend.gram(acts.outputs[i], centered: config.centeredGram, into: grams[k])
        }
        try backend.addStyleTerms(&terms, grams: grams, targets: styleTargets, gradients: wantGrad ? gramGrads : nil,
                                  config: config, layerWeights: layers.styleWeights)
        if let ci = layers.content, !wantGrad {
            terms.content = try backend.contentLoss(acts.outputs[ci], target: contentTarget!, weight: 1, accumulateGradient: nil)
        }
        if let gradient = gradient {
            let dx = try network.backward(x, acts: acts, from: layers.last) { i, grad in
                if i == layers.content {
                    terms.content = try backend.contentLoss(acts.outputs[i], target: contentTarget!, weight: 1,
                                                            accumulateGradient: grad)
                }
                for (k, si) in layers.style.enumerated() where si == i {
                    try backend.accumulateGramBackward(gramGrads[k], features: acts.outputs[i],
                                                       centered: config.centeredGram, into: grad)
                }
            }
            try backend.copy(dx, into: gradient)
        }
        try backend.addTVTerm(&terms, x: x, config: config, gradient: gradient)
        return terms
    }
}
