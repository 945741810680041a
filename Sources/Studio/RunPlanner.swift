import Engine

/// How the studio turns a job into a run: the `stylize` command line is the job's definition, so
/// the gallery's "copy as command line" gives the same result, and every option, check and error
/// message is the command's own. The CLI implements this with its `stylize` parser; the studio
/// only builds the arguments and runs what comes back.
public protocol RunPlanner: Sendable {
    /// Parses and checks `arguments` (everything after `neural-style stylize`, output and device
    /// included) without reading any image; throws the command's own usage errors.
    func plan(_ arguments: [String]) throws -> any PlannedRun
}

/// A checked stylize command line, ready to load and run.
public protocol PlannedRun {
    /// Weights cache key: the model, its weights file and the seed of a random model.
    var modelKey: String { get }
    func loadWeights() throws -> ModelWeights
    func makeBackend() throws -> Backend
    func transferOptions() throws -> TransferOptions
    /// The images and controls, read from disk.
    func loadInputs() throws -> TransferInputs
    /// The checkpoint policy the command line asks for (`--checkpoint-every`, `--resume`).
    func checkpointPolicy(backend: Backend, weights: ModelWeights, options: TransferOptions) throws -> StyleTransfer.CheckpointPolicy?
}
