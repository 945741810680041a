import ArgumentParser
import Engine
import Foundation

struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "The paper's reconstruction experiment: an image from one image's content at a layer, or its style (texture) from the Gram matrices of some layers, starting from noise.")

    @Argument(help: "The image to reconstruct from.") var image: String
    @Option(parsing: .unconditional, help: "content or style.") var from = "content"
    @Option(parsing: .unconditional, help: "Comma-separated layers. Content: one layer (or several with --sweep). Style: the layers used together.")
    var layers = "relu4_2"
    @Flag(help: "One image per layer: for content each layer alone, for style the first 1, 2, … layers (the paper's figure).")
    var sweep = false
    @Option(name: .shortAndLong, parsing: .unconditional, help: "Output PNG; with --sweep, OUTPUT-<layer>.png per layer.") var output: String
    @Option(parsing: .unconditional, help: "Longest side in pixels.") var size = 256
    @Option(parsing: .unconditional, help: "Loss-and-gradient evaluations per image.") var iterations = 300
    @Option(parsing: .unconditional, help: "Print a progress line every N iterations when not on a terminal.") var printEvery = 50
    @OptionGroup var common: CommonOptions
    @OptionGroup var optimization: OptimizerOptions
    @Option(parsing: .unconditional, help: "random, or the path of an image to start from.") var `init` = "random"

    func run() throws {
        guarded {
            guard from == "content" || from == "style" else {
                throw EngineError.invalidArgument("--from must be content or style (got \"\(from)\")")
            }
            let names = layers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty else { throw EngineError.invalidArgument("--layers is empty") }
            if from == "content" && names.count > 1 && !sweep {
                throw EngineError.invalidArgument("content reconstruction uses one layer; pass --sweep for several")
            }
            guard printEvery >= 0 else {
                throw EngineError.invalidArgument("--print-every must be 0 (never) or a positive whole number (got \(printEvery))")
            }
            try common.checkApplicable()
            _ = try common.seedValue
            let outputs = sweep ? names.map { suffixed(output, $0) } : [output]
            try OutputPlan(files: outputs).check(inputs: [image] + (self.`init` == "random" ? [] : [self.`init`]))
            let source = try common.loadImage(image, role: "source")
            let backend = try common.makeBackend()
            let weights = try common.loadWeights()
            // each run: (output path, content layer or nil, style layers)
            var runs: [(String, String?, [String])] = []
            if from == "content" {
                runs = zip(outputs, names).map { ($0, $1, []) }
            } else if sweep {
                runs = names.indices.map { i in (outputs[i], nil, Array(names[...i])) }
            } else {
                runs = [(output, nil, names)]
            }
            installInterruptHandler()
            for (out, contentLayer, styleLayers) in runs {
                var o = TransferOptions()
                o.size = size
                o.iterations = iterations
                try optimization.apply(to: &o)
                o.initialization = self.`init` == "random" ? .random : .image(self.`init`)
                o.seed = try common.seedValue
                o.maxInputPixels = try common.maxInputPixels
                o.pooling = try common.poolKind
                o.loss = try common.lossConfig(styleWeight: from == "style" ? (try common.styleWeights)[0] : 0)
                o.loss.contentLayer = contentLayer
                o.loss.styleLayers = styleLayers
                o.loss.styleLayerWeights = nil
                let transfer = try StyleTransfer(backend: backend, weights: weights, options: o)
                let sources = (content: from == "content" ? source : nil, style: from == "style" ? source : nil)
                _ = try transfer.plans(content: sources.content, style: sources.style)
                FileHandle.standardError.write("reconstruct \(from) from \(contentLayer ?? styleLayers.joined(separator: "+")) on \(backend.kind)\n".data(using: .utf8)!)
                let progress = ProgressDisplay(total: iterations, printEvery: printEvery, quiet: false)
                let result = try transfer.run(content: sources.content, style: sources.style) { step, _ in
                    progress.update(step)
                    return !interruptRequested
                }
                progress.finish()
                try result.image.writePNG(out)
                FileHandle.standardError.write("wrote \(out): \(ProgressDisplay.format(result.terms))\n".data(using: .utf8)!)
                if interruptRequested { fail("interrupted; wrote the current image to \(out)", code: interruptedStatus) }
            }
        }
    }
}
