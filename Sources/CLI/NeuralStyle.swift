import ArgumentParser
import Engine
import Foundation

@main
struct NeuralStyle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neural-style",
        abstract: "Optimisation-based neural style transfer (Gatys, Ecker & Bethge) on OpenCL or the CPU.",
        discussion: """
            Exit status: 0 success, 64 usage error, 65 bad input data, 69 device unavailable, 70 internal \
            error or a non-finite result, 74 I/O error (a full disk included), 75 out of memory, 130 interrupted \
            (SIGINT), 143 terminated (SIGTERM).
            """,
        subcommands: [StylizeCommand.self, VideoCommand.self, BatchCommand.self, EvaluateCommand.self, ReconstructCommand.self, DevicesCommand.self, CheckCommand.self, BenchCommand.self, TuneCommand.self, ServeCommand.self]
    )

    /// Parses and runs like ArgumentParser's own `main`, except that a usage error is one line
    /// `neural-style: …` and exit 64; help and version requests print as usual.
    static func main() {
        BLASKernels.reexecIfWeaker()
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            usageFailure(error)
        }
        do {
            var c = command
            try c.run()
        } catch {
            usageFailure(error)
        }
    }

    private static func usageFailure(_ error: Error) -> Never {
        if let e = error as? ExitCode { Foundation.exit(e.rawValue) }
        if let e = error as? EngineError { fail(e.description, code: e.exitCode) }
        let code = exitCode(for: error)
        // --help, --version, and errors the parser turns into a clean exit
        if code == .success { exit(withError: error) }
        let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid command line"
        let sentence = text.prefix(1).lowercased() + text.dropFirst()
        fail("\(sentence) (see neural-style help)", code: ExitStatus.usage)
    }
}

/// Prints one line to standard error and exits non-zero: the shape of every user-facing failure.
func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(("neural-style: " + message + "\n").data(using: .utf8)!)
    exit(code)
}

/// The exit status for any error the engine can throw.
func exitStatus(for error: Error) -> Int32 {
    switch error {
    case let e as EngineError: return e.exitCode
    case let e as OpenCLError: return e.isOutOfMemory ? ExitStatus.outOfMemory : ExitStatus.software
    case let e as ExitCode: return e.rawValue
    default: return ExitStatus.software
    }
}

/// Runs `body`, turning any thrown error into `fail` with the status that fits it.
func guarded<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch let e as ExitCode { Foundation.exit(e.rawValue) } catch {
        fail("\(error)", code: exitStatus(for: error))
    }
}
