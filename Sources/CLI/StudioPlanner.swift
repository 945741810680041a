import ArgumentParser
import Engine
import Foundation
import Studio

/// The studio's jobs are stylize command lines, run by the command's own parser, checks and
/// loaders: one definition of every option, its default and its error messages.
struct StudioPlanner: RunPlanner {
    func plan(_ arguments: [String]) throws -> any PlannedRun {
        let command: StylizeCommand
        do { command = try StylizeCommand.parse(arguments) } catch {
            let text = StylizeCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid options"
            throw EngineError.invalidArgument(text.prefix(1).lowercased() + text.dropFirst())
        }
        let alphas = try command.common.styleWeights
        guard alphas.count == 1 else { throw EngineError.invalidArgument("a studio job takes one style weight") }
        try command.validate(alphas)
        return StudioRun(command: command, alpha: alphas[0])
    }
}

struct StudioRun: PlannedRun {
    let command: StylizeCommand
    let alpha: Float

    var modelKey: String { "\(command.common.model) \(command.common.weights ?? "") \(command.common.seed)" }
    func loadWeights() throws -> ModelWeights { try command.common.loadWeights() }
    func makeBackend() throws -> Backend { try command.common.makeBackend() }
    func transferOptions() throws -> TransferOptions { try command.options(styleWeight: alpha) }

    func loadInputs() throws -> TransferInputs {
        let c = command.common
        let content = try c.loadImage(command.content, role: "content")
        let styles = try command.styles.enumerated().map { k, p in
            try c.loadImage(p, role: command.styles.count == 1 ? "style" : "style \(k + 1)")
        }
        return try command.controls.inputs(content: content, styles: styles) { path, role in
            try GreyMap.load(path, role: role, maxPixels: try c.maxInputPixels)
        }
    }

    func checkpointPolicy(backend: Backend, weights: ModelWeights, options: TransferOptions) throws -> StyleTransfer.CheckpointPolicy? {
        try command.checkpointPolicy(output: command.output, backend: backend, weights: weights, options: options)
    }
}
