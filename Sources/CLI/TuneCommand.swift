import ArgumentParser
import Engine
import Foundation

/// `neural-style tune`: per-device tuning of our OpenCL kernels, saved as data (see KernelTuner),
/// and CLBlast's own tuners for GPUs.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search the OpenCL kernels' parameters for a device, verify each against the CPU reference, and save the fastest for that device.")

    @Option(parsing: .unconditional, help: "OpenCL device: index or name substring (default: first GPU, else accelerator, else CPU).")
    var device: String?
    @Option(parsing: .unconditional, help: "Image size of the VGG-19 iterations timed per candidate.") var size = 256
    @Option(parsing: .unconditional, help: "Timed iterations per candidate (after one warm-up).") var iterations = 3
    @Option(parsing: .unconditional, help: "Time limit, like 10m or 90s; the search keeps the best found when it runs out.")
    var budget = "10m"
    @Option(parsing: .unconditional, help: "Run CLBlast's tuners (clblast_tuner_xgemm, …_direct) too: auto (on GPUs), on or off.")
    var clblast = "auto"
    @Flag(help: "Search and print, but do not save.") var dryRun = false
    @Flag(help: "Print the result as JSON.") var json = false

    func seconds(_ text: String) throws -> TimeInterval {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let unit: Double = t.hasSuffix("m") ? 60 : t.hasSuffix("h") ? 3600 : 1
        let number = t.hasSuffix("m") || t.hasSuffix("h") || t.hasSuffix("s") ? String(t.dropLast()) : t
        guard let v = Double(number), v > 0, v * unit <= 24 * 3600 else {
            throw EngineError.invalidArgument("--budget takes a time like 10m, 90s or 1h, at most 24h (got \"\(text)\")")
        }
        return v * unit
    }

    func run() throws {
        guarded {
            let limit = try seconds(budget)
            guard (32...2048).contains(size) else { throw EngineError.invalidArgument("--size must be 32…2048 (got \(size))") }
            guard (1...20).contains(iterations) else { throw EngineError.invalidArgument("--iterations must be 1…20 (got \(iterations))") }
            guard ["auto", "on", "off"].contains(clblast) else { throw EngineError.invalidArgument("--clblast must be auto, on or off (got \"\(clblast)\")") }
            if let e = ProcessInfo.processInfo.environment[OpenCLBackend.parametersVariable], !e.isEmpty {
                throw EngineError.invalidArgument("\(OpenCLBackend.parametersVariable) is set (\(e)): tune searches those parameters itself; unset it")
            }
            let d = try DeviceInfo.select(device)
            let profile = try OpenCLBackend.parameterProfile(for: d)
            let say: (String) -> Void = { if !json { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) } }
            say("tune: \(d.name) (\(d.platform), driver \(d.driverVersion)), \(profile.rawValue) profile; VGG-19 iterations at \(size)², budget \(budget)")
            let tuner = KernelTuner(device: d, size: size, iterations: iterations, budget: limit)
            let result = try tuner.run { t in
                let time = t.seconds.map { String(format: "%.3f s/iteration", $0) } ?? "dropped: \(t.failure ?? "?")"
                say("  \(t.group): \(t.settings.isEmpty ? "(defaults)" : t.settings) — \(time)")
            }
            let gain = result.parameters.isEmpty ? "the defaults stay (nothing was faster by 3 %)"
                : String(format: "%@: %.3f → %.3f s/iteration (%.0f %% faster)", result.parameters, result.defaultSeconds,
                         result.tunedSeconds, 100 * (1 - result.tunedSeconds / result.defaultSeconds))
            say("tune: \(result.candidates) candidates; \(gain)")
            if (clblast == "on" || (clblast == "auto" && profile == .gpu)), !dryRun, let folder = TunedParameters.clblastFolder(for: d) {
                try runCLBlastTuners(d, into: folder, say: say)
            }
            if !dryRun {
                let path = try result.save(for: d)
                say("tune: saved \(path); the OpenCL backend uses it on this device (NEURAL_STYLE_CL_PARAMETERS still wins)")
            }
            if json { print(jsonString(result)) }
        }
    }

    /// CLBlast's tuners write one JSON file per kernel into `folder`, which the backend reads.
    func runCLBlastTuners(_ d: DeviceInfo, into folder: String, say: (String) -> Void) throws {
        let all = try DeviceInfo.all()
        let platforms = all.map(\.platform).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let platform = platforms.firstIndex(of: d.platform) ?? 0
        let inPlatform = all.filter { $0.platform == d.platform }.firstIndex { $0.index == d.index } ?? 0
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (tool, args) in [("clblast_tuner_xgemm", ["-m", "1024", "-n", "1024", "-k", "1024", "-fraction", "0.25"]),
                             ("clblast_tuner_xgemm_direct", ["-m", "256", "-n", "256", "-k", "256", "-fraction", "0.1"])] {
            guard let exe = ["/usr/bin/" + tool, "/usr/local/bin/" + tool].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                say("tune: \(tool) is not installed (Debian: clblast-utils); CLBlast stays untuned")
                continue
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["-platform", String(platform), "-device", String(inPlatform), "-precision", "32"] + args
            p.currentDirectoryURL = URL(fileURLWithPath: folder)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            say("tune: \(tool) \(p.terminationStatus == 0 ? "done" : "failed (status \(p.terminationStatus))") in \(folder)")
        }
    }
}
