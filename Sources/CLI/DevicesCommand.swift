import ArgumentParser
import Engine
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List every OpenCL platform and device.")

    @Flag(help: "Print JSON for scripts.") var json = false

    func run() throws {
        let devices = guarded { try DeviceInfo.all() }
        if !json { print("Host: " + BLASKernels.report + "\n") }
        if devices.isEmpty { fail("no OpenCL device found on any platform", code: ExitStatus.unavailable) }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(devices), as: UTF8.self))
            return
        }
        let chosen = try? DeviceInfo.select(nil)
        for d in devices {
            let mark = d.index == chosen?.index ? "  (default)" : ""
            print("Device \(d.index): \(d.name)\(mark)")
            print("  platform        \(d.platform) (\(d.platformVendor)), \(d.platformVersion)")
            print("  vendor          \(d.vendor)")
            print("  type            \(d.kind.rawValue)")
            print("  compute units   \(d.computeUnits) at \(d.clockMHz) MHz")
            print("  global memory   \(formatBytes(d.globalMemoryBytes))")
            print("  local memory    \(formatBytes(d.localMemoryBytes))")
            print("  max allocation  \(formatBytes(d.maxAllocationBytes))")
            print("  max work-group  \(d.maxWorkGroupSize)")
            print("  version         \(d.version); \(d.openCLCVersion); driver \(d.driverVersion)")
            print("  fp64            \(d.fp64 ? "yes" : "no")")
            print("  fused mul-add   \(d.fma ? "yes (the register-blocked kernels use fma unless fma=off)" : "no (mad)")")
            switch Result(catching: { try TunedParameters.load(for: d) }) {
            case .success(let t?):
                print("  tuned           \(t.parameters.isEmpty ? "defaults kept" : t.parameters) (\(String(format: "%.3f → %.3f s/iteration at %d²", t.defaultSeconds, t.tunedSeconds, t.size)); \(TunedParameters.path(for: d)!))")
            case .success(nil): print("  tuned           no: shipped defaults (run neural-style tune --device \(d.index))")
            case .failure(let e): print("  tuned           \(e)")
            }
        }
    }
}
