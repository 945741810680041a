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
    @Option(parsing: .unconditionalSingleValue, help: "Style image; repeat for several (in order: style 1, 2, …).") var style: [String]
    @Option(parsing: .unconditional, help: "The image to score; the loss is evaluated at its size.") var image: String
    @OptionGroup var common: CommonOptions
    @OptionGroup var controls: ControlOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guarded {
            let alphas = try common.styleWeights
            guard alphas.count == 1 else { throw EngineError.invalidArgument("evaluate takes one --style-weight") }
            try common.checkApplicable()
            let loss = try common.lossConfig(styleWeight: alphas[0])
            try controls.validate(styles: style.count, styleLayers: loss.styleLayers)
            let contentImage = try common.loadImage(content, role: "content")
            let styleImages = try style.enumerated().map { k, p in
                try common.loadImage(p, role: style.count == 1 ? "style" : "style \(k + 1)")
            }
            let scored = try common.loadImage(image, role: "scored")
            var o = TransferOptions()
            o.size = max(scored.width, scored.height)
            o.pooling = try common.poolKind
            o.loss = loss
            o.preserveColor = try controls.colorPreservation
            let backend = try common.makeBackend()
            let transfer = try StyleTransfer(backend: backend, weights: try common.loadWeights(), options: o)
            let given = try controls.inputs(content: contentImage, styles: styleImages) { path, role in
                try GreyMap.load(path, role: role, maxPixels: try common.maxInputPixels)
            }
            // scored the way a run optimises it: on luminance with --preserve-color luminance
            let objective = try transfer.makeObjective(transfer.prepared(given), width: scored.width, height: scored.height)
            let space = o.preserveColor == .luminance ? scored.luminanceImage() : scored
            let x = try backend.tensor(space.networkInput(), Shape(3, scored.height, scored.width))
            let terms = try objective.evaluate(x, gradient: nil)
            if json {
                print(jsonString(EvaluateReport(backend: backend.kind, device: backend.deviceName, model: transfer.network.model,
                                                imageSize: [scored.width, scored.height], styleLayers: o.loss.styleLayers,
                                                loss: terms, total: terms.total)))
            } else {
                print(String(format: "total    %.6e", terms.total))
                print(String(format: "content  %.6e   (%@)", terms.content, o.loss.contentLayer ?? "none"))
                print(String(format: "style    %.6e   (α = %g)", terms.style, alphas[0]))
                for t in terms.terms where t.name == "style" || t.name.hasPrefix("style:") {
                    if t.name != "style" { print(String(format: "  %@ %.6e", t.name, t.weighted)) }
                    for name in t.layerOrder ?? [] { print(String(format: "  %-8@ %.6e", name, t.layers![name]!)) }
                }
                print(String(format: "tv       %.6e   (β = %g, raw %.6e, %@)", terms.tv, common.tvWeight, terms.tvRaw, common.tv))
            }
        }
    }
}
