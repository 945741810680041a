import ArgumentParser
import Engine
import Foundation
import Studio

/// `neural-style serve`: the web studio on Hummingbird (see README, "The studio").
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "The web studio: upload, tune, watch the image form, compare, download (http://127.0.0.1:8080/).")

    @Option(parsing: .unconditional, help: "Address to listen on. Anything but loopback needs --token.") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port.") var port = 8080
    @Option(parsing: .unconditional, help: "Folder for the job database, uploads and results (kept across restarts).")
    var data = "studio-data"
    @Option(parsing: .unconditional, help: "A secret every request must carry (required when --host is not loopback).")
    var token: String?
    @Option(parsing: .unconditional, help: "Largest upload in MiB.") var maxUploadMb = 50
    @Option(parsing: .unconditional, help: "Largest uploaded image in megapixels.") var maxUploadMegapixels = 50
    @Option(parsing: .unconditional, help: "Checkpoint running jobs every N evaluations (a restart resumes them).")
    var checkpointEvery = 50
    @Option(parsing: .unconditional, help: "cpu, opencl or all: which devices get a job queue (default: the CPU backend and every OpenCL device).")
    var devices = "all"
    @Option(parsing: .unconditional, help: "Serve the page from this folder instead of the built-in copy (for work on web/).")
    var web: String?

    func validate() throws {
        guard (1...65535).contains(port) else { throw EngineError.invalidArgument("--port must be 1…65535 (got \(port))") }
        guard (1...4096).contains(maxUploadMb) else { throw EngineError.invalidArgument("--max-upload-mb must be 1…4096 (got \(maxUploadMb))") }
        guard (1...1000).contains(maxUploadMegapixels) else {
            throw EngineError.invalidArgument("--max-upload-megapixels must be 1…1000 (got \(maxUploadMegapixels))")
        }
        guard checkpointEvery >= 1 else { throw EngineError.invalidArgument("--checkpoint-every must be at least 1 (got \(checkpointEvery))") }
        guard ["all", "cpu", "opencl"].contains(devices) else {
            throw EngineError.invalidArgument("--devices must be all, cpu or opencl (got \"\(devices)\")")
        }
        if let t = token, t.count < 8 { throw EngineError.invalidArgument("--token must be at least 8 characters") }
        if token == nil && !SecurityPolicy.isLoopback(host) {
            throw EngineError.invalidArgument("--host \(host) lets other machines in: give --token SECRET too (every request must carry it)")
        }
    }

    /// The CPU backend and each OpenCL device, by the ids jobs name.
    func deviceList() -> [StudioDevice] {
        var list: [StudioDevice] = []
        if devices != "opencl" { list.append(StudioDevice(id: "cpu", name: "CPU backend (\(BLASKernels.Features.brand))", backend: "cpu", device: nil)) }
        if devices != "cpu" {
            for d in (try? DeviceInfo.all()) ?? [] {
                list.append(StudioDevice(id: "opencl:\(d.index)", name: "OpenCL \(d.index): \(d.name) (\(d.platform))", backend: "opencl", device: "\(d.index)"))
            }
        }
        return list
    }

    func run() throws {
        guarded {
            try validate()
            let list = deviceList()
            guard !list.isEmpty else { throw EngineError.device("no OpenCL device found; use --devices all or cpu") }
            let models = ["random"] + ModelWeights.knownModels.filter { FileManager.default.fileExists(atPath: ModelWeights.defaultPath(model: $0)) }
            let defaults = StylizeCommand.defaults(model: models.count > 1 ? models[1] : "random")
            var config = StudioConfiguration(dataFolder: data, devices: list, models: models.count > 1 ? Array(models[1...]) + ["random"] : models,
                                             defaults: defaults)
            config.host = host
            config.port = port
            config.token = token
            config.maxUploadBytes = maxUploadMb << 20
            config.maxUploadPixels = maxUploadMegapixels * 1_000_000
            config.checkpointEvery = checkpointEvery
            config.webFolder = web
            let studio = try Studio(configuration: config, planner: StudioPlanner())
            let requeued = try studio.startWorkers()
            let name = host.contains(":") ? "[\(host)]" : host
            let note = requeued > 0 ? "; \(requeued) interrupted job\(requeued == 1 ? "" : "s") queued again" : ""
            let folder = studio.configuration.dataFolder, ids = list.map(\.id).joined(separator: ", "), secret = token
            let announce: @Sendable (Int) -> Void = { bound in
                let address = "http://\(name):\(bound)/" + (secret.map { "?token=\($0)" } ?? "")
                FileHandle.standardError.write("serve: the studio is at \(address) (data in \(folder); devices \(ids)\(note)); Ctrl-C stops it\n".data(using: .utf8)!)
            }
            let done = DispatchSemaphore(value: 0)
            var failure: Error?
            Task.detached {
                do { try await studio.run(onRunning: announce) } catch { failure = error }
                done.signal()
            }
            done.wait()
            if let e = failure {
                let text = "\(e)"
                if text.contains("Address already in use") || text.contains("EADDRINUSE") || text.contains("errno: 98") {
                    throw EngineError.io("cannot listen on \(host):\(port): the address is in use; choose another --port")
                }
                throw EngineError.io("the server stopped: \(text)")
            }
        }
    }
}

extension StylizeCommand {
    /// The defaults the page starts from: stylize's own.
    static func defaults(model: String) -> [String: String] {
        let d = try! StylizeCommand.parse(["c", "s", "-o", "o.png"])
        return ["size": String(d.size), "style-weight": d.common.styleWeight, "tv-weight": String(d.common.tvWeight),
                "iterations": String(d.iterations), "optimizer": d.optimization.optimizer, "init": d.`init`,
                "preserve-color": d.controls.preserveColor, "model": model, "seed": d.common.seed,
                "line-search": d.optimization.lineSearch, "preconditioner": d.optimization.preconditioner,
                "style-mean-weight": String(d.common.styleMeanWeight)]
    }
}
