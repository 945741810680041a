import ArgumentParser
import Engine
import Foundation

struct EvaluateReport: Encodable {
    let backend: String
    let device: String
    let model: String
    let imageSize: [Int]
    let styleLayers: [String]
    let loss: LossTerms
    let total: Double
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Print each loss term of an existing image, to compare runs, settings and tools.")

    @Option(parsing: .unconditional, help: "Content image.") var content: String
    @Option(parsing: .unconditional, help: "Style image.") var style: String
    @Option(parsing: .unconditional, help: "The image to score; the loss is evaluated at its size.") var image: String
    @Option(parsing: .unconditional, help: "Size of the style image relative to the scored image.") var styleScale: Float = 1
    @OptionGroup var common: CommonOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guarded {
            let alphas = try common.styleWeights
            guard alphas.count == 1 else { throw EngineError.invalidArgument("evaluate takes one --style-weight") }
            try common.checkApplicable()
            let contentImage = try common.loadImage(content, role: "content")
            let styleImage = try common.loadImage(style, role: "style")
            let scored = try common.loadImage(image, role: "scored")
            var o = TransferOptions()
            o.size = max(scored.width, scored.height)
            o.styleScale = styleScale
            o.pooling = try common.poolKind
            o.loss = try common.lossConfig(styleWeight: alphas[0])
            let backend = try common.makeBackend()
            let transfer = try StyleTransfer(backend: backend, weights: try common.loadWeights(), options: o)
            let objective = try transfer.makeObjective(content: contentImage, style: styleImage,
                                                       width: scored.width, height: scored.height)
            let x = try backend.tensor(scored.networkInput(), Shape(3, scored.height, scored.width))
            let terms = try objective.evaluate(x, gradient: nil)
            if json {
                print(jsonString(EvaluateReport(backend: backend.kind, device: backend.deviceName, model: transfer.network.model,
                                                imageSize: [scored.width, scored.height], styleLayers: o.loss.styleLayers,
                                                loss: terms, total: terms.total)))
            } else {
                print(String(format: "total    %.6e", terms.total))
                print(String(format: "content  %.6e   (%@)", terms.content, o.loss.contentLayer ?? "none"))
                print(String(format: "style    %.6e   (α = %g)", terms.style, alphas[0]))
                for (name, v) in zip(o.loss.styleLayers, terms.stylePerLayer) {
                    print(String(format: "  %-8@ %.6e", name, v))
                }
                print(String(format: "tv       %.6e   (β = %g, raw %.6e, %@)", terms.tv, common.tvWeight, terms.tvRaw, common.tv))
            }
        }
    }
}
