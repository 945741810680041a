import ArgumentParser
import Engine
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks: full iterations (default) or single operations.",
        subcommands: [BenchIterations.self, BenchOps.self], defaultSubcommand: BenchIterations.self)
}

/// Which backends a benchmark runs on.
func benchBackends(_ spec: String, device: String?) throws -> [Backend] {
    try refuseDevice(device, withBackend: spec)
    try CPUBackend.checkEnvironment()
    switch spec {
    case "cpu": return [CPUBackend()]
    case "opencl", "gpu": return [try OpenCLBackend(device: device)]
    case "both": return [CPUBackend(), try OpenCLBackend(device: device)]
    default: throw EngineError.invalidArgument("--backend must be cpu, opencl or both (got \"\(spec)\")")
    }
}

struct BenchIterations: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iterations",
        abstract: "Median seconds per L-BFGS iteration (VGG-19 to relu5_1, content relu4_2, style relu1_1…relu5_1).")

    @Option(parsing: .unconditional, help: "Comma-separated image sizes (square).") var sizes = "128,256,512,1024"
    @Option(parsing: .unconditional, help: "cpu, opencl or both.") var backend = "both"
    @Option(parsing: .unconditional, help: "OpenCL device.") var device: String?
    @Option(parsing: .unconditional, help: "random (no download) or a fetched model.") var model = "random"
    @Option(parsing: .unconditional, help: "Timed iterations per size.") var iterations = 5
    @Option(parsing: .unconditional, help: "Untimed warm-up iterations per size.") var warmup = 2
    @Option(parsing: .unconditional, help: "L-BFGS history.") var lbfgsHistory = 100
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guarded {
            let sizeList = sizes.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) ?? 0 }
            guard !sizeList.isEmpty, sizeList.allSatisfy({ $0 >= 16 && $0 <= 32768 }) else {
                throw EngineError.invalidArgument("--sizes takes sizes between 16 and 32768 separated by commas (got \(sizes))")
            }
            guard iterations >= 1, warmup >= 0, lbfgsHistory >= 1 else {
                throw EngineError.invalidArgument("--iterations and --lbfgs-history must be ≥ 1 and --warmup ≥ 0")
            }
            let weights = try ModelWeights.resolve(model: model, weightsPath: nil)
            var options = TransferOptions()
            options.lbfgsHistory = lbfgsHistory
            var rows: [IterationBenchmark.Row] = []
            let backends = try benchBackends(backend, device: device)
            if !json {
                print(BLASKernels.report)
                print(pad("backend", 9) + pad("size", 7) + lpad("s/iter", 10) + lpad("min", 10) + lpad("GFLOP/it", 10)
                      + lpad("GFLOP/s", 10) + lpad("peak RSS", 11) + lpad("peak dev", 11) + "  device")
            }
            for b in backends {
                for s in sizeList {
                    let r = try IterationBenchmark.run(backend: b, weights: weights, size: s, iterations: iterations,
                                                       warmup: warmup, options: options)
                    rows.append(r)
                    if !json {
                        print(pad(r.backend, 9) + pad("\(r.size)", 7) + lpad(String(format: "%.3f", r.medianSeconds), 10)
                              + lpad(String(format: "%.3f", r.minSeconds), 10) + lpad(String(format: "%.1f", r.gflopPerIteration), 10)
                              + lpad(String(format: "%.1f", r.gflops), 10)
                              + lpad(r.peakHostBytes.map { formatBytes(UInt64($0)) } ?? "?", 11)
                              + lpad(r.peakDeviceBytes.map { formatBytes(UInt64($0)) } ?? "—", 11) + "  " + r.device)
                    }
                }
            }
            if json { print(jsonString(rows)) }
        }
    }
}

struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops", abstract: "Time each operation at the VGG-19 layer shapes of one image size.")

    @Option(parsing: .unconditional, help: "Image size (square).") var size = 256
    @Option(parsing: .unconditional, help: "cpu, opencl or both.") var backend = "both"
    @Option(parsing: .unconditional, help: "OpenCL device.") var device: String?
    @Option(parsing: .unconditional, help: "Timed repeats per operation (median reported).") var repeats = 5
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guarded {
            guard size >= 16 && size <= 8192 else { throw EngineError.invalidArgument("--size must be between 16 and 8192 (got \(size))") }
            guard repeats >= 1 else { throw EngineError.invalidArgument("--repeats must be ≥ 1 (got \(repeats))") }
            var rows: [OperationBenchmark.Row] = []
            for b in try benchBackends(backend, device: device) {
                let r = try OperationBenchmark.run(backend: b, size: size, repeats: repeats)
                rows += r
                if !json {
                    if b.kind == "cpu" { print(BLASKernels.report) }
                    print("\(b.kind): \(b.deviceName), image \(size)×\(size)")
                    print(pad("operation", 18) + pad("shape", 30) + lpad("median ms", 11) + lpad("rate", 16))
                    for row in r {
                        let rate = row.gflops.map { String(format: "%.1f GFLOP/s", $0) } ?? row.gbps.map { String(format: "%.1f GB/s", $0) } ?? ""
                        print(pad(row.op, 18) + pad(row.shape, 30) + lpad(String(format: "%.3f", row.medianMilliseconds), 11) + lpad(rate, 16))
                    }
                    print("")
                }
            }
            if json { print(jsonString(rows)) }
        }
    }
}

