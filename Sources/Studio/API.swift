import Engine
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The JSON API (docs/studio-openapi.yaml), the page and the events socket. The page uses
/// nothing else, so whatever it does a script can do with the same requests.
struct API: Sendable {
    let studio: Studio
    var store: Store { studio.store }
    var config: StudioConfiguration { studio.configuration }

    func register(on router: Router<BasicWebSocketRequestContext>) {
        router.get("/") { _, _ in try self.asset("index.html") }
        router.get("/studio.js") { _, _ in try self.asset("studio.js") }
        router.get("/studio.css") { _, _ in try self.asset("studio.css") }
        router.get("/api/info") { _, _ in self.info() }
        router.get("/api/images") { _, _ in json(["images": try self.store.images().map(ImageView.init)]) }
        router.post("/api/images") { request, _ in try await self.upload(request) }
        router.get("/api/images/:id") { _, context in try self.imageFile(context.parameters.get("id") ?? "") }
        router.post("/api/plan") { request, _ in try await self.plan(request) }
        router.post("/api/jobs") { request, _ in try await self.submit(request) }
        router.get("/api/jobs") { _, _ in try self.jobs() }
        router.get("/api/jobs/:id") { _, context in try self.job(context.parameters.get("id") ?? "") }
        router.post("/api/jobs/:id/cancel") { _, context in try self.cancel(context.parameters.get("id") ?? "") }
        router.delete("/api/jobs/:id") { _, context in try self.delete(context.parameters.get("id") ?? "") }
        router.get("/api/jobs/:id/result.png") { _, context in try self.jobFile(context.parameters.get("id") ?? "", "result.png", download: true) }
        router.get("/api/jobs/:id/preview.png") { _, context in try self.jobFile(context.parameters.get("id") ?? "", "preview.png", download: false) }
        router.ws("/api/events") { inbound, outbound, _ in
            let (id, stream) = self.studio.events.subscribe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in inbound {}   // the page sends nothing; this ends when it closes
                    self.studio.events.unsubscribe(id)
                }
                group.addTask {
                    for await message in stream { try await outbound.write(.text(message)) }
                }
                try await group.next()
                group.cancelAll()
            }
            self.studio.events.unsubscribe(id)
        }
    }

    // MARK: page

    func asset(_ name: String) throws -> Response {
        let type = name.hasSuffix(".html") ? "text/html; charset=utf-8" : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8"
        var text = WebAssets.files[name] ?? ""
        if let folder = config.webFolder {
            guard let t = try? String(contentsOfFile: folder + "/" + name, encoding: .utf8) else {
                throw APIError(.notFound, "\(folder)/\(name) is missing")
            }
            text = t
        }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store",
                                               .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    struct Info: Encodable {
        let version: String
        let devices: [StudioDevice]
        let models: [String]
        let options: [String]
        let limits: [String: Int]
        let defaults: [String: String]
    }

    func info() -> Response {
        json(Info(version: StudioVersion.text, devices: config.devices, models: config.models, options: StudioOptions.names,
                  limits: ["uploadBytes": config.maxUploadBytes, "megapixels": config.maxUploadPixels / 1_000_000],
                  defaults: config.defaults))
    }

    // MARK: images

    struct ImageView: Encodable {
        let id: String, name: String, width: Int, height: Int, bytes: Int
        init(_ r: ImageRecord) { id = r.id; name = r.name; width = r.width; height = r.height; bytes = r.bytes }
    }

    /// The body is the file itself. It is written under a name of our making, decoded to check
    /// it (type, truncation, pixel limit) off the event loop, and kept only if it decodes.
    func upload(_ request: Request) async throws -> Response {
        let limit = config.maxUploadBytes
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw APIError(.contentTooLarge, "the file is over the upload limit of \(limit >> 20) MiB (start the server with a larger --max-upload-mb)")
        }
        guard buffer.readableBytes > 0 else { throw APIError(.badRequest, "the upload is empty: send the image file as the request body") }
        let data = Data(buffer: buffer)
        let name = displayName(request.uri.queryParameters.get("name") ?? "image")
        let sha = SHA256.hex(data)
        if let known = try store.image(sha256: sha) { return json(ImageView(known), status: .ok) }
        let id = newID()
        let isPNG = data.starts(with: [0x89, 0x50, 0x4E, 0x47]), isJPEG = data.starts(with: [0xFF, 0xD8])
        guard isPNG || isJPEG else { throw APIError(.badRequest, "\(name) is not a PNG or JPEG image") }
        let tmp = config.dataFolder + "/uploads/\(id).tmp"
        let file = "\(id).\(isPNG ? "png" : "jpg")"
        let pixels = config.maxUploadPixels
        let image: RGBImage
        do {
            try data.write(to: URL(fileURLWithPath: tmp))
            image = try await offLoop { try RGBImage.load(tmp, maxPixels: pixels) }
        } catch let e as EngineError {
            unlink(tmp)
            let why = "\(e)".replacingOccurrences(of: tmp + ": ", with: "")
            if why.contains("over the limit") || why.contains("sides over") {
                throw APIError(.contentTooLarge, "\(name): \(why.components(separatedBy: " (raise").first!) — the studio takes up to \(pixels / 1_000_000) megapixels (--max-upload-megapixels)")
            }
            throw APIError(.badRequest, "\(name) cannot be read: \(why)")
        } catch {
            unlink(tmp)
            throw APIError(.insufficientStorage, "cannot store the upload: \(error.localizedDescription)")
        }
        guard rename(tmp, config.dataFolder + "/images/" + file) == 0 else {
            unlink(tmp)
            throw APIError(.insufficientStorage, "cannot store the upload: \(String(cString: strerror(errno)))")
        }
        let record = ImageRecord(id: id, name: name, file: file, width: image.width, height: image.height, bytes: data.count,
                                 sha256: sha, created: Date())
        try store.insert(record)
        return json(ImageView(record), status: .created)
    }

    func imageFile(_ id: String) throws -> Response {
        guard let r = try store.image(id) else { throw APIError(.notFound, "no image \(id)") }
        return try file(config.dataFolder + "/images/" + r.file, type: r.file.hasSuffix(".png") ? "image/png" : "image/jpeg")
    }

    // MARK: jobs

    /// The stylize arguments of a request, with the output in `folder`, and the command line a
    /// person can paste (the same arguments, the output named for the job).
    func arguments(_ r: JobRequest, output: String, shownOutput: String) throws -> (arguments: [String], command: String, device: StudioDevice, options: [String: String]) {
        func path(_ id: String, _ role: String) throws -> String {
            guard let image = try store.image(id) else { throw APIError(.badRequest, "the \(role) image \(id) is not uploaded (POST /api/images first)") }
            return config.dataFolder + "/images/" + image.file
        }
        guard !r.styles.isEmpty else { throw APIError(.badRequest, "a job needs at least one style image") }
        guard r.styles.count <= 16 else { throw APIError(.badRequest, "a job takes at most 16 style images") }
        let deviceID = r.device ?? config.devices.first!.id
        guard let device = config.devices.first(where: { $0.id == deviceID }) else {
            throw APIError(.badRequest, "unknown device \(deviceID); this server has \(config.devices.map(\.id).joined(separator: ", "))")
        }
        let options = (r.options ?? [:]).mapValues(\.text)
        var args = [try path(r.content, "content")] + (try r.styles.enumerated().map { try path($0.element, "style \($0.offset + 1)") })
        for (k, mask) in (r.masks ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let n = Int(k), n >= 1, n <= r.styles.count else {
                throw APIError(.badRequest, "masks are keyed by the style's number, 1…\(r.styles.count) (got \"\(k)\")")
            }
            args += ["--style-mask", "\(n):" + (try path(mask, "mask \(n)"))]
        }
        args += try StudioOptions.arguments(options)
        args += device.arguments
        let shown = ["neural-style", "stylize"] + args + ["-o", shownOutput]
        return (args + ["-o", output], shown.map(shellQuoted).joined(separator: " "), device, options)
    }

    func decode(_ request: Request) async throws -> JobRequest {
        let body = try await request.body.collect(upTo: 1 << 20)
        do { return try StudioJSON.decoder.decode(JobRequest.self, from: Data(buffer: body)) } catch {
            throw APIError(.badRequest, "the request is not a job: send {\"content\": id, \"styles\": [id, …], \"options\": {…}, \"device\": id} (\(describe(error)))")
        }
    }

    /// The planner's errors are the stylize command's own messages.
    func checked(_ arguments: [String]) throws -> any PlannedRun {
        do { return try studio.workers.planner.plan(arguments) } catch let e as EngineError {
            throw APIError(.badRequest, e.description)
        }
    }

    struct PlanView: Encodable {
        let device: String
        let text: String
        let plans: [StyleTransfer.Plan]
    }

    func plan(_ request: Request) async throws -> Response {
        let r = try await decode(request)
        let a = try arguments(r, output: config.dataFolder + "/plan/plan.png", shownOutput: "plan.png")
        _ = try checked(a.arguments)
        let planning = studio.planning
        do {
            let plans = try await offLoop { try planning.plans(a.arguments, device: a.device.id) }
            return json(PlanView(device: a.device.id, text: plans.map(\.summary).joined(separator: "\n"), plans: plans))
        } catch let e as EngineError {
            throw APIError(.badRequest, e.description)
        }
    }

    func submit(_ request: Request) async throws -> Response {
        let r = try await decode(request)
        let id = newID()
        let folder = studio.workers.jobFolder(id)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        do {
            let a = try arguments(r, output: folder + "/result.png", shownOutput: "neural-style-\(id).png")
            let planned = try checked(a.arguments)
            let iterations = try planned.transferOptions().totalIterations
            let job = JobRecord(id: id, status: .queued, device: a.device.id, content: r.content, styles: r.styles,
                                masks: r.masks ?? [:], options: a.options, arguments: a.arguments, command: a.command,
                                iteration: 0, iterations: iterations, secondsPerIteration: nil, loss: nil, history: [],
                                error: nil, created: Date(), started: nil, finished: nil)
            try store.insert(job)
            studio.workers.publishQueue(of: job.device, changed: job)
            studio.workers.wake()
            let positions = JobView.positions(try store.queue())
            return json(JobView(job, position: positions[id], curve: nil), status: .created)
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    func jobs() throws -> Response {
        let all = try store.jobs()
        let positions = JobView.positions(all.map(QueueEntry.init))
        return json(["jobs": all.reversed().map { JobView($0, position: positions[$0.id], curve: nil) }])
    }

    func job(_ id: String) throws -> Response {
        guard let j = try store.job(id) else { throw APIError(.notFound, "no job \(id)") }
        let positions = JobView.positions(try store.queue())
        return json(JobView(j, position: positions[id], curve: studio.workers.curve(of: id) ?? j.history))
    }

    func cancel(_ id: String) throws -> Response {
        switch try studio.workers.cancel(id) {
        case .unknown: throw APIError(.notFound, "no job \(id)")
        case .finished(let j): throw APIError(.conflict, "job \(id) has already \(j.status == .done ? "finished" : j.status.rawValue == "failed" ? "failed" : "been cancelled")")
        case .cancelled(let j):
            let positions = JobView.positions(try store.queue())
            return json(JobView(j, position: positions[id], curve: nil))
        }
    }

    func delete(_ id: String) throws -> Response {
        guard let j = try store.job(id) else { throw APIError(.notFound, "no job \(id)") }
        guard j.isFinished else { throw APIError(.conflict, "job \(id) is \(j.status.rawValue): cancel it first") }
        try store.delete(job: id)
        try? FileManager.default.removeItem(atPath: studio.workers.jobFolder(id))
        return Response(status: .noContent)
    }

    func jobFile(_ id: String, _ name: String, download: Bool) throws -> Response {
        guard let j = try store.job(id) else { throw APIError(.notFound, "no job \(id)") }
        if download && j.status != .done { throw APIError(.notFound, "job \(id) has no result: it is \(j.status.rawValue)") }
        var r = try file(studio.workers.jobFolder(id) + "/" + name, type: "image/png")
        if download { r.headers[.contentDisposition] = "attachment; filename=\"neural-style-\(id).png\"" }
        return r
    }

    func file(_ path: String, type: String) throws -> Response {
        guard let data = FileManager.default.contents(atPath: path) else { throw APIError(.notFound, "not there yet") }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Ids are random: 12 hex digits, never derived from anything a client sent.
func newID() -> String {
    var g = SystemRandomNumberGenerator()
    return (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
}

/// An upload's name as text to show: its last path component, printable characters only, at most 100.
func displayName(_ raw: String) -> String {
    let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? "image"
    let clean = String(last.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }.map(Character.init)).prefix(100)
    return clean.isEmpty ? "image" : String(clean)
}

func describe(_ error: Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let k, _): return "\(k.stringValue) is missing"
    case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
        return "\(c.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
    case DecodingError.dataCorrupted: return "not valid JSON"
    default: return "\(error)"
    }
}

enum StudioVersion { static let text = "neural-style studio 1" }
