import ArgumentParser
import Engine
import Foundation

struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "The paper's reconstruction experiment: an image from one image's content at a layer, or its style (texture) from the Gram matrices of some layers, starting from noise.")

    @Argument(help: "The image to reconstruct from.") var image: String
    @Option(parsing: .unconditional, help: "content, style, or both (with --sweep: the paper's figure, style row above content row).")
    var from = "content"
    @Option(parsing: .unconditional, help: "With --from both: the image the style row is reconstructed from (default: IMAGE), as the paper's figure uses a painting.")
    var styleSource: String?
    @Option(parsing: .unconditional, help: "Comma-separated layers. Content: one layer (or several with --sweep). Style: the layers used together.")
    var layers = "relu4_2"
    @Flag(help: "One image per layer: for content each layer alone, for style the first 1, 2, … layers (the paper's figure).")
    var sweep = false
    @Option(name: .shortAndLong, parsing: .unconditional, help: "Output PNG; with --sweep, OUTPUT-<layer>.png per layer (OUTPUT-style-<layer>.png and OUTPUT-content-<layer>.png with --from both) and OUTPUT-grid.png, the figure.")
    var output: String
    @Option(parsing: .unconditional, help: "Longest side in pixels.") var size = 256
    @Option(parsing: .unconditional, help: "Loss-and-gradient evaluations per image.") var iterations = 300
    @Option(parsing: .unconditional, help: "Print a progress line every N iterations when not on a terminal.") var printEvery = 50
    @OptionGroup var common: CommonOptions
    @OptionGroup var optimization: OptimizerOptions
    @Option(parsing: .unconditional, help: "random, or the path of an image to start from.") var `init` = "random"

    /// One reconstruction: its row in the grid ("style" or "content"), column, output and layers.
    struct Run {
        let kind: String
        let column: Int
        let output: String
        let contentLayer: String?
        let styleLayers: [String]
    }

    /// The runs `--from` and `--sweep` ask for, style rows before content rows as in the paper.
    func plannedRuns(_ names: [String]) -> [Run] {
        var runs: [Run] = []
        let kinds = from == "both" ? ["style", "content"] : [from]
        for kind in kinds {
            func out(_ layer: String) -> String { from == "both" ? suffixed(output, kind + "-" + layer) : suffixed(output, layer) }
            if !sweep {
                runs.append(Run(kind: kind, column: 0, output: output, contentLayer: kind == "content" ? names[0] : nil,
                                styleLayers: kind == "style" ? names : []))
            } else if kind == "content" {
                runs += names.enumerated().map { Run(kind: kind, column: $0, output: out($1), contentLayer: $1, styleLayers: []) }
            } else {
                runs += names.indices.map { Run(kind: kind, column: $0, output: out(names[$0]), contentLayer: nil,
                                                styleLayers: Array(names[...$0])) }
            }
        }
        return runs
    }

    /// How close a result is to its source: PSNR against the resized photograph for content, the
    /// mean colour against the painting's for style (a texture has no pixel-wise counterpart).
    func likeness(_ result: RGBImage, _ source: RGBImage, kind: String) -> String {
        if kind == "content" {
            return String(format: "PSNR %.2f dB against the source at %d×%d", result.psnr(against: source.resized(width: result.width, height: result.height)), result.width, result.height)
        }
        let (a, b) = (result.meanColour, source.meanColour)
        let worst = zip(a, b).map { abs($0 - $1) }.max()!
        return String(format: "mean colour %.1f, %.1f, %.1f against the source's %.1f, %.1f, %.1f (largest difference %.1f/255)",
                      a[0], a[1], a[2], b[0], b[1], b[2], worst)
    }

    func run() throws {
        guarded {
            guard ["content", "style", "both"].contains(from) else {
                throw EngineError.invalidArgument("--from must be content, style or both (got \"\(from)\")")
            }
            let names = layers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty else { throw EngineError.invalidArgument("--layers is empty") }
            if from != "style" && names.count > 1 && !sweep {
                throw EngineError.invalidArgument("content reconstruction uses one layer; pass --sweep for several")
            }
            if from == "both" && !sweep { throw EngineError.invalidArgument("--from both needs --sweep") }
            guard printEvery >= 0 else {
                throw EngineError.invalidArgument("--print-every must be 0 (never) or a positive whole number (got \(printEvery))")
            }
            try common.checkApplicable()
            _ = try common.seedValue
            let runs = plannedRuns(names)
            let gridPath = suffixed(output, "grid")
            try OutputPlan(files: runs.map(\.output) + (sweep ? [gridPath] : []))
                .check(inputs: [image] + [styleSource, self.`init` == "random" ? nil : self.`init`].compactMap { $0 })
            if styleSource != nil && from != "both" {
                throw EngineError.invalidArgument("--style-source is for --from both; drop it, or pass the image as IMAGE")
            }
            let source = try common.loadImage(image, role: "source")
            let styleImage = try styleSource.map { try common.loadImage($0, role: "style source") } ?? source
            let backend = try common.makeBackend()
            let weights = try common.loadWeights()
            installInterruptHandler()
            let rowKinds = from == "both" ? ["style", "content"] : [from]
            var grid = rowKinds.map { _ in [RGBImage?](repeating: nil, count: names.count) }
            for r in runs {
                var o = TransferOptions()
                o.size = size
                o.iterations = iterations
                // bounded by default: unbounded, the relu1_1 style reconstruction leaves 7 % of its
                // red samples below 0, and clamping them raises the written image's loss 18 000×
                try optimization.apply(to: &o, boundPixelsByDefault: true)
                o.initialization = self.`init` == "random" ? .random : .image(self.`init`)
                o.seed = try common.seedValue
                o.maxInputPixels = try common.maxInputPixels
                o.pooling = try common.poolKind
                // no TV by default, as in the paper: smoothing would hide what a layer keeps, and at
                // β = 1e-8 the minimiser of the content and TV terms at 256 px is a blurred photograph
                o.loss = try common.lossConfig(styleWeight: r.kind == "style" ? (try common.styleWeights)[0] : 0,
                                               defaultTVWeight: 0)
                o.loss.contentLayer = r.contentLayer
                o.loss.styleLayers = r.styleLayers
                o.loss.styleLayerWeights = nil
                let transfer = try StyleTransfer(backend: backend, weights: weights, options: o)
                let sources = (content: r.kind == "content" ? source : nil, style: r.kind == "style" ? styleImage : nil)
                _ = try transfer.plans(content: sources.content, style: sources.style)
                FileHandle.standardError.write("reconstruct \(r.kind) from \(r.contentLayer ?? r.styleLayers.joined(separator: "+")) on \(backend.kind)\n".data(using: .utf8)!)
                let progress = ProgressDisplay(total: iterations, printEvery: printEvery, quiet: false)
                let result = try transfer.run(content: sources.content, style: sources.style) { step, _ in
                    progress.update(step)
                    return !interruptRequested
                }
                progress.finish()
                try result.image.writePNG(r.output)
                grid[rowKinds.firstIndex(of: r.kind)!][r.column] = result.image
                FileHandle.standardError.write("wrote \(r.output): \(ProgressDisplay.format(result.terms)); \(likeness(result.image, r.kind == "content" ? source : styleImage, kind: r.kind))\n".data(using: .utf8)!)
                if interruptRequested { fail("interrupted; wrote the current image to \(r.output)", code: interruptedStatus) }
            }
            if sweep {
                // the paper's figure: style row above content row, layers left to right
                let image = RGBImage.grid(grid, rowLabels: rowKinds, columnLabels: names, cell: min(size, 256))
                try image.writePNG(gridPath)
                FileHandle.standardError.write("wrote \(gridPath): the sweep as one figure\n".data(using: .utf8)!)
            }
        }
    }
}
