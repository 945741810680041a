import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import CLI
@testable import Engine
@testable import Studio

/// A studio on a data folder of its own, with the CLI's planner (jobs are stylize command lines)
/// and the CPU backend only; requests carry the Host header a browser would send.
class StudioTestCase: XCTestCase {
    var folder: String!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ns-studio-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws {
        if let f = folder { try? FileManager.default.removeItem(atPath: f) }
    }

    func makeStudio(port: Int = 8080, token: String? = nil, maxUploadBytes: Int = 1 << 20, maxUploadPixels: Int = 1_000_000,
                    checkpointEvery: Int = 50) throws -> Studio {
        var c = StudioConfiguration(dataFolder: folder, devices: [StudioDevice(id: "cpu", name: "CPU backend", backend: "cpu", device: nil)],
                                    models: ["random"], defaults: StylizeCommand.defaults(model: "random"))
        c.port = port
        c.token = token
        c.maxUploadBytes = maxUploadBytes
        c.maxUploadPixels = maxUploadPixels
        c.checkpointEvery = checkpointEvery
        return try Studio(configuration: c, planner: StudioPlanner())
    }

    /// The headers of a same-origin request from the page.
    func headers(_ port: Int = 8080, _ extra: HTTPFields = [:]) -> HTTPFields {
        var h: HTTPFields = [.hostHeader: "127.0.0.1:\(port)"]
        h.append(contentsOf: extra)
        return h
    }

    /// A PNG of seeded noise, as an upload's bytes.
    func png(_ w: Int, _ h: Int, seed: UInt64 = 1) throws -> Data {
        var rng = SeededRandom(seed: seed)
        let px = (0..<(w * h * 3)).map { _ in Float(rng.next() % 256) }
        let p = folder + "-img-\(seed)-\(w)x\(h).png"
        try RGBImage(width: w, height: h, pixels: px).writePNG(p)
        defer { unlink(p) }
        return try Data(contentsOf: URL(fileURLWithPath: p))
    }

    func object(_ r: TestResponse) throws -> [String: Any] {
        let d = Data(buffer: r.body)
        guard let o = try JSONSerialization.jsonObject(with: d) as? [String: Any] else {
            XCTFail("not a JSON object: \(String(decoding: d, as: UTF8.self))")
            return [:]
        }
        return o
    }

    func body(_ o: Any) throws -> ByteBuffer { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: o)) }

    @discardableResult
    func upload(_ client: some TestClientProtocol, _ data: Data, name: String = "a.png", port: Int = 8080) async throws -> String {
        try await client.execute(uri: "/api/images?name=\(name)", method: .post, headers: headers(port), body: ByteBuffer(bytes: data)) { r in
            XCTAssertTrue(r.status == .created || r.status == .ok, "upload: \(r.status) \(String(buffer: r.body))")
            return try self.object(r)["id"] as? String ?? ""
        }
    }

    /// Polls a job until `done` says so (60 s at most) and returns its last state.
    func wait(_ client: some TestClientProtocol, _ id: String, port: Int = 8080, until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let job = try await client.execute(uri: "/api/jobs/\(id)", method: .get, headers: headers(port)) { try self.object($0) }
            if done(job) { return job }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTFail("job \(id) did not get there in 60 s")
        return [:]
    }

    static func isFinished(_ j: [String: Any]) -> Bool { ["done", "failed", "cancelled"].contains(j["status"] as? String ?? "") }
}

extension HTTPField.Name {
    /// Host as a browser sends it over HTTP/1.1 (HTTPTypes keeps it apart as the authority).
    static let hostHeader = HTTPField.Name("Host")!
}
