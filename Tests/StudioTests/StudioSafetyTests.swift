import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import XCTest
@testable import Engine
@testable import Studio

/// Host, Origin and token checks; live events over the WebSocket; a restart that resumes an
/// interrupted job from its checkpoint.
final class StudioSafetyTests: StudioTestCase {
    func testHostAndOriginChecks() async throws {
        let studio = try makeStudio()
        try await Application(router: studio.router()).test(.router) { client in
            let cases: [(HTTPFields, HTTPResponse.Status)] = [
                ([.hostHeader: "127.0.0.1:8080"], .ok),
                ([.hostHeader: "localhost:8080"], .ok),
                ([.hostHeader: "127.0.0.1:8080", .origin: "http://127.0.0.1:8080"], .ok),
                ([.hostHeader: "evil.example:8080"], .forbidden),          // DNS rebinding
                ([.hostHeader: "127.0.0.1:9999"], .forbidden),
                ([.hostHeader: "127.0.0.1:8080", .origin: "http://evil.example"], .forbidden),   // another page in the browser
                ([.hostHeader: "127.0.0.1:8080", .origin: "null"], .forbidden),
                ([.hostHeader: "127.0.0.1:8080", HTTPField.Name("Sec-Fetch-Site")!: "cross-site"], .forbidden),
                ([.hostHeader: "localhost"], .forbidden),                 // no port: not what a browser on this page sends
                ([.hostHeader: "127.0.0.1:8080", .origin: "ws://evil.example"], .forbidden),
            ]
            for (h, status) in cases {
                try await client.execute(uri: "/api/info", method: .get, headers: h) { r in
                    XCTAssertEqual(r.status, status, "\(h)")
                    if status != .ok { XCTAssertNotNil(try self.object(r)["error"], "\(h)") }
                }
            }
            // a cross-site POST never reaches the route
            try await client.execute(uri: "/api/jobs", method: .post, headers: [.hostHeader: "127.0.0.1:8080", .origin: "http://evil.example"],
                                     body: ByteBuffer(string: "{}")) { XCTAssertEqual($0.status, .forbidden) }
        }
    }

    func testToken() async throws {
        let studio = try makeStudio(token: "s3cret-token")
        try await Application(router: studio.router()).test(.router) { client in
            try await client.execute(uri: "/api/info", method: .get, headers: self.headers()) { XCTAssertEqual($0.status, .unauthorized) }
            try await client.execute(uri: "/api/info", method: .get, headers: self.headers(8080, [.authorization: "Bearer wrong-token!"])) {
                XCTAssertEqual($0.status, .unauthorized)
            }
            try await client.execute(uri: "/api/info", method: .get, headers: self.headers(8080, [.authorization: "Bearer s3cret-token"])) {
                XCTAssertEqual($0.status, .ok)
            }
            let cookie = try await client.execute(uri: "/?token=s3cret-token", method: .get, headers: self.headers()) { r -> String in
                XCTAssertEqual(r.status, .ok)
                return r.headers[.setCookie] ?? ""
            }
            XCTAssertTrue(cookie.hasPrefix("neural_style_token=s3cret-token;") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie)
            try await client.execute(uri: "/api/jobs", method: .get, headers: self.headers(8080, [.cookie: "neural_style_token=s3cret-token"])) {
                XCTAssertEqual($0.status, .ok)
            }
        }
    }

    /// The page's live view: a job's status, progress and the current image arrive over the socket.
    func testEventsOverWebSocket() async throws {
        let studio = try makeStudio(port: 0)
        _ = try studio.startWorkers()
        defer { studio.stop() }
        let app = studio.application()
        try await app.test(.live) { client in
            let port = client.port!
            let c = try await self.upload(client, try self.png(32, 32, seed: 3), port: port)
            let request: [String: Any] = ["content": c, "styles": [c], "options": ["model": "random", "size": "32", "iterations": "8"]]
            let kinds = NIOLockedBox<Set<String>>([])
            let sawImage = NIOLockedBox(false)
            try await client.ws("/api/events") { inbound, outbound, _ in
                _ = try await client.execute(uri: "/api/jobs", method: .post, headers: self.headers(port), body: try self.body(request))
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    guard case .text(let text) = message,
                          let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                          let type = o["type"] as? String else { continue }
                    kinds.value.insert(type)
                    if type == "preview", (o["image"] as? String ?? "").hasPrefix("data:image/png;base64,") { sawImage.value = true }
                    if type == "job", (o["job"] as? [String: Any])?["status"] as? String == "done" { break }
                }
            }
            XCTAssertEqual(kinds.value, ["job", "progress", "preview"])
            XCTAssertTrue(sawImage.value)
        }
    }

    /// A server stopped mid-run writes the job's checkpoint and queues it again; the next server
    /// resumes it and ends on the same pixels as a run that was never interrupted.
    func testRestartResumesFromCheckpoint() async throws {
        let request: (String) -> [String: Any] = { c in
            ["content": c, "styles": [c], "options": ["model": "random", "size": "32", "iterations": "60", "style-weight": "100"]]
        }
        var first = try makeStudio(checkpointEvery: 5)
        _ = try first.startWorkers()
        let (image, id) = try await Application(router: first.router()).test(.router) { client -> (String, String) in
            let image = try await self.upload(client, try self.png(32, 32, seed: 4))
            let id = try await client.execute(uri: "/api/jobs", method: .post, headers: self.headers(), body: try self.body(request(image))) {
                try self.object($0)["id"] as! String
            }
            _ = try await self.wait(client, id) { ($0["history"] as? [Any])?.count ?? 0 >= 20 }
            return (image, id)
        }
        first.stop()   // as SIGTERM does
        let stopped = try first.store.job(id)!
        XCTAssertEqual(stopped.status, .queued)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/jobs/\(id)/result.ckpt"), "checkpoint written")
        XCTAssertLessThan(stopped.history.count, 60)

        first = try makeStudio(checkpointEvery: 5)
        XCTAssertEqual(try first.startWorkers(), 0, "queued jobs stay queued; only running ones are counted")
        defer { first.stop() }
        let reference = try await Application(router: first.router()).test(.router) { client -> String in
            let done = try await self.wait(client, id) { Self.isFinished($0) }
            XCTAssertEqual(done["status"] as? String, "done", "\(done["error"] ?? "")")
            XCTAssertEqual((done["history"] as? [Any])?.count, 60, "the curve goes on where it stopped")
            let reference = try await client.execute(uri: "/api/jobs", method: .post, headers: self.headers(), body: try self.body(request(image))) {
                try self.object($0)["id"] as! String
            }
            let again = try await self.wait(client, reference) { Self.isFinished($0) }
            XCTAssertEqual(again["status"] as? String, "done")
            return reference
        }
        let resumed = try RGBImage.load(folder + "/jobs/\(id)/result.png")
        let uninterrupted = try RGBImage.load(folder + "/jobs/\(reference)/result.png")
        XCTAssertEqual(resumed.pixels, uninterrupted.pixels, "the resumed job ends on the uninterrupted run's pixels")
    }
}

/// A value shared between a test and the callbacks it hands out.
final class NIOLockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ v: T) { stored = v }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
