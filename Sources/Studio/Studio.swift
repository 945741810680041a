import Engine
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A device a job can run on: the CPU backend, or one OpenCL device.
public struct StudioDevice: Codable, Sendable {
    public let id: String
    public let name: String
    public let backend: String
    public let device: String?

    public init(id: String, name: String, backend: String, device: String?) {
        self.id = id
        self.name = name
        self.backend = backend
        self.device = device
    }

    /// The stylize arguments that select it.
    var arguments: [String] { ["--backend", backend] + (device.map { ["--device", $0] } ?? []) }
}

public struct StudioConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// The data folder: studio.sqlite, images/, jobs/. Made absolute at start.
    public var dataFolder: String
    public var token: String?
    public var maxUploadBytes = 50 << 20
    public var maxUploadPixels = 50_000_000
    public var devices: [StudioDevice]
    public var models: [String]
    public var defaults: [String: String]
    public var checkpointEvery = 50
    /// Serve web/ from this folder instead of the embedded copy (for work on the page).
    public var webFolder: String?

    public init(dataFolder: String, devices: [StudioDevice], models: [String], defaults: [String: String]) {
        self.dataFolder = dataFolder
        self.devices = devices
        self.models = models
        self.defaults = defaults
    }
}

/// The web studio: the page, the JSON API, live events over a WebSocket, the job queue and the
/// SQLite store. `neural-style serve` makes one and runs it; the tests make one on a free port.
public final class Studio: Sendable {
    public let configuration: StudioConfiguration
    let store: Store
    let events = Events()
    let workers: Workers
    let planning: Planning

    public init(configuration given: StudioConfiguration, planner: any RunPlanner) throws {
        var c = given
        c.dataFolder = URL(fileURLWithPath: given.dataFolder).standardizedFileURL.path
        configuration = c
        let fm = FileManager.default
        for sub in ["", "/images", "/jobs", "/uploads", "/plan"] {
            do { try fm.createDirectory(atPath: c.dataFolder + sub, withIntermediateDirectories: true) } catch {
                throw EngineError.io("cannot create the data folder \(c.dataFolder + sub): \(error.localizedDescription)")
            }
        }
        do { store = try Store(path: c.dataFolder + "/studio.sqlite") } catch {
            throw EngineError.io("cannot open \(c.dataFolder)/studio.sqlite: \(error)")
        }
        let weights = WeightsCache()
        workers = Workers(store: store, events: events, planner: planner, weights: weights, dataFolder: c.dataFolder,
                          checkpointEvery: c.checkpointEvery)
        planning = Planning(planner: planner, weights: weights)
    }

    /// Puts jobs a previous server left running back in the queue and starts one worker per device.
    public func startWorkers() throws -> Int {
        let n = try store.requeueInterrupted()
        workers.start(devices: configuration.devices.map(\.id))
        return n
    }

    /// Stops the workers (running jobs write their checkpoints and go back to the queue) and
    /// closes every live connection.
    public func stop() {
        events.finishAll()
        workers.stop()
    }

    /// The port the server bound, once it runs (the configuration's until then).
    let boundPort = NIOLockedValueBox<Int?>(nil)

    public var policy: SecurityPolicy {
        let configured = configuration.port, bound = boundPort
        return SecurityPolicy(port: { bound.withLockedValue { $0 } ?? configured },
                              loopback: SecurityPolicy.isLoopback(configuration.host), token: configuration.token)
    }

    /// The router: the page, the API and the events socket behind the security and error middleware.
    public func router() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: SecurityMiddleware(policy: policy))
        let api = API(studio: self)
        api.register(on: router)
        return router
    }

    public func application(logger: Logger = Logger(label: "neural-style.serve"),
                            onRunning: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let r = router()
        let bound = boundPort
        return Application(router: r, server: .http1WebSocketUpgrade(webSocketRouter: r),
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                                serverName: "neural-style"),
                           onServerRunning: { channel in
                               let port = channel.localAddress?.port ?? 0
                               bound.withLockedValue { $0 = port }
                               onRunning(port)
                           },
                           logger: logger)
    }

    /// Serves until SIGINT or SIGTERM; then stops the workers first (their checkpoints are
    /// written), closes the live sockets, and lets the server drain.
    public func run(logger: Logger = Logger(label: "neural-style.serve"), onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let app = application(logger: logger, onRunning: onRunning)
        let group = ServiceGroup(configuration: .init(services: [app, StopService(studio: self)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Shut down first (services stop in reverse order): stops the workers and closes the sockets
    /// so the HTTP server has no open connection to wait for.
    struct StopService: Service {
        let studio: Studio
        func run() async throws {
            try? await gracefulShutdown()
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread {
                    studio.stop()
                    done.resume()
                }
            }
        }
    }
}

/// `POST /api/plan`: the memory plan of a job before it runs, on a thread of its own with its
/// own backend per device (the workers' backends are theirs alone) and the workers' weights.
final class Planning: @unchecked Sendable {
    let planner: any RunPlanner
    let weights: WeightsCache
    private let lock = NSLock()
    private var backends: [String: Backend] = [:]

    init(planner: any RunPlanner, weights: WeightsCache) {
        self.planner = planner
        self.weights = weights
    }

    func plans(_ arguments: [String], device: String) throws -> [StyleTransfer.Plan] {
        lock.lock()
        defer { lock.unlock() }
        let planned = try planner.plan(arguments)
        let w = try weights.weights(for: planned)
        let b = try backends[device] ?? planned.makeBackend()
        backends[device] = b
        let transfer = try StyleTransfer(backend: b, weights: w, options: try planned.transferOptions())
        return try transfer.plans(transfer.prepared(planned.loadInputs()))
    }
}

/// Runs blocking work (image decoding, planning) off the event loops.
func offLoop<T>(_ body: @escaping () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
    }
}
