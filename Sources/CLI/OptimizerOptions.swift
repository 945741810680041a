import ArgumentParser
import Engine

/// The optimiser's options, shared by stylize and reconstruct.
struct OptimizerOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "lbfgs or adam.") var optimizer = "lbfgs"
    @Option(parsing: .unconditional, help: "L-BFGS line search: wolfe (strong Wolfe, scale-free) or armijo (backtracking, the first releases' form).")
    var lineSearch = LBFGS.LineSearch.wolfe.rawValue
    @Option(parsing: .unconditional, help: "L-BFGS preconditioner: pyramid (smooth directions take longer steps) or none (the first releases' form).")
    var preconditioner = Preconditioner.pyramid.rawValue
    @Option(parsing: .unconditional, help: "L-BFGS history size (the main memory lever).") var lbfgsHistory = 100
    @Option(parsing: .unconditional, help: "Step size (default 1 for L-BFGS, 10 for Adam).") var learningRate: Float?

    @Flag(inversion: .prefixedNo, help: "Keep every image the optimiser evaluates inside 0…255 (projected L-BFGS or Adam), so the loss reported is that of the image written (default: on for reconstruct, off elsewhere, which reproduces earlier runs).")
    var boundPixels: Bool?

    /// `boundPixelsByDefault`: what --bound-pixels is when neither it nor --no-bound-pixels is given.
    func apply(to o: inout TransferOptions, boundPixelsByDefault: Bool = false) throws {
        guard let opt = TransferOptions.OptimizerKind(rawValue: optimizer) else {
            throw EngineError.invalidArgument("--optimizer must be lbfgs or adam (got \"\(optimizer)\")")
        }
        guard let search = LBFGS.LineSearch(rawValue: lineSearch) else {
            throw EngineError.invalidArgument("--line-search must be wolfe or armijo (got \"\(lineSearch)\")")
        }
        guard let m = Preconditioner(rawValue: preconditioner) else {
            throw EngineError.invalidArgument("--preconditioner must be pyramid or none (got \"\(preconditioner)\")")
        }
        o.optimizer = opt
        o.preconditioner = m
        o.lineSearch = search
        o.lbfgsHistory = lbfgsHistory
        o.learningRate = learningRate
        o.boundPixels = boundPixels ?? boundPixelsByDefault
    }
}
