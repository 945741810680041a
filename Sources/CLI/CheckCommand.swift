import ArgumentParser
import Engine
import Foundation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run every operation on an OpenCL device and compare it with the CPU reference.")

    @Option(parsing: .unconditional, help: "OpenCL device: index or name substring (default: first GPU, else accelerator, else CPU).")
    var device: String?
    @Option(parsing: .unconditional, help: "Only operations whose name contains this text.") var only: String?
    @Option(parsing: .unconditional, help: "full, or simulator: small shapes that still reach every kernel branch (for Oclgrind).")
    var table = "full"
    @Flag(help: "Print JSON for scripts.") var json = false

    func run() throws {
        guard let tableKind = OpCase.Table(rawValue: table) else {
            fail("--table must be full or simulator (got \(table))", code: ExitStatus.usage)
        }
        let backend = guarded { try OpenCLBackend(device: device) }
        var cases = OpCase.all(tableKind)
        if let only = only {
            cases = cases.filter { $0.op.contains(only) }
            if cases.isEmpty {
                let ops = Array(Set(OpCase.all().map(\.op))).sorted().joined(separator: ", ")
                fail("--only \(only) matches no operation; operations are \(ops)", code: ExitStatus.usage)
            }
        }
        if !json {
            print("Checking \(cases.count) cases on \(backend.deviceName) (\(backend.parameterProfile.rawValue) profile, \(backend.path.rawValue) path) against the CPU reference")
            print(ParityCheck.header)
        }
        let results = ParityCheck.run(on: backend, cases: cases) { r in
            if !json { print(ParityCheck.format(r)) }
        }
        let failed = results.filter { !$0.passed }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try enc.encode(results), as: UTF8.self))
        } else {
            print("\(results.count - failed.count) passed, \(failed.count) failed")
        }
        if !failed.isEmpty { throw ExitCode(ExitStatus.software) }
    }
}
