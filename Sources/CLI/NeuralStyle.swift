import ArgumentParser
import Engine
import Foundation

@main
struct NeuralStyle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neural-style",
        abstract: "Optimisation-based neural style transfer (Gatys, Ecker & Bethge) on OpenCL or the CPU.",
        subcommands: [StylizeCommand.self, EvaluateCommand.self, ReconstructCommand.self, DevicesCommand.self, CheckCommand.self, BenchCommand.self]
    )
}

/// Prints one line to standard error and exits non-zero: the shape of every user-facing failure.
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(("neural-style: " + message + "\n").data(using: .utf8)!)
    exit(code)
}

/// Runs `body`, turning any thrown error into `fail`.
func guarded<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch let e as ExitCode { Foundation.exit(e.rawValue) } catch { fail("\(error)") }
}
