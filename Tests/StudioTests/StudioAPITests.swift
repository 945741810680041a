import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import Engine
@testable import Studio

/// Every endpoint through Hummingbird's router tester: the page, images (good and bad uploads),
/// jobs from submission to download, cancel, unknown ids and bad requests.
final class StudioAPITests: StudioTestCase {
    func testPageAndInfo() async throws {
        let studio = try makeStudio()
        try await Application(router: studio.router()).test(.router) { client in
            try await client.execute(uri: "/", method: .get, headers: self.headers()) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertTrue(String(buffer: r.body).contains("<html"), "the page")
                XCTAssertEqual(r.headers[.contentType], "text/html; charset=utf-8")
            }
            for asset in ["/studio.js", "/studio.css"] {
                try await client.execute(uri: asset, method: .get, headers: self.headers()) { XCTAssertEqual($0.status, .ok) }
            }
            try await client.execute(uri: "/api/info", method: .get, headers: self.headers()) { r in
                XCTAssertEqual(r.status, .ok)
                let o = try self.object(r)
                XCTAssertEqual((o["devices"] as? [[String: Any]])?.first?["id"] as? String, "cpu")
                XCTAssertEqual(o["models"] as? [String], ["random"])
                XCTAssertEqual((o["defaults"] as? [String: String])?["style-weight"], "5")
            }
        }
    }

    func testUploads() async throws {
        let studio = try makeStudio(maxUploadBytes: 20_000, maxUploadPixels: 4_000)
        let good = try png(40, 30)
        try await Application(router: studio.router()).test(.router) { client in
            // a name with a path in it is kept as text only; the file is stored under its id
            let id = try await client.execute(uri: "/api/images?name=../../etc/passwd.png", method: .post, headers: self.headers(),
                                              body: ByteBuffer(bytes: good)) { r -> String in
                XCTAssertEqual(r.status, .created)
                let o = try self.object(r)
                XCTAssertEqual(o["name"] as? String, "passwd.png")
                XCTAssertEqual(o["width"] as? Int, 40)
                XCTAssertEqual(o["height"] as? Int, 30)
                return o["id"] as! String
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: self.folder + "/images"), ["\(id).png"])
            // the same bytes again: the same image
            try await client.execute(uri: "/api/images?name=b.png", method: .post, headers: self.headers(), body: ByteBuffer(bytes: good)) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(try self.object(r)["id"] as? String, id)
            }
            try await client.execute(uri: "/api/images/\(id)", method: .get, headers: self.headers()) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(Data(buffer: r.body), good)
            }
            try await client.execute(uri: "/api/images", method: .get, headers: self.headers()) { r in
                XCTAssertEqual((try self.object(r)["images"] as? [[String: Any]])?.count, 1)
            }
            let bad: [(String, Data, HTTPResponse.Status, String)] = [
                ("text", Data("hello, this is not a picture".utf8), .badRequest, "is not a PNG or JPEG"),
                ("truncated", good.prefix(good.count / 2), .badRequest, "cannot be read"),
                ("empty", Data(), .badRequest, "empty"),
                ("too many bytes", Data(repeating: 0x89, count: 30_000), .contentTooLarge, "upload limit"),
                ("too many pixels", try self.png(80, 80), .contentTooLarge, "megapixels"),
            ]
            for (what, data, status, message) in bad {
                try await client.execute(uri: "/api/images?name=x.png", method: .post, headers: self.headers(), body: ByteBuffer(bytes: data)) { r in
                    XCTAssertEqual(r.status, status, what)
                    let error = try self.object(r)["error"] as? String ?? ""
                    XCTAssertTrue(error.contains(message), "\(what): \(error)")
                }
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: self.folder + "/uploads"), [], "nothing half-stored")
            try await client.execute(uri: "/api/images/000000000000", method: .get, headers: self.headers()) { XCTAssertEqual($0.status, .notFound) }
        }
    }

    func testBadJobRequests() async throws {
        let studio = try makeStudio()
        try await Application(router: studio.router()).test(.router) { client in
            let c = try await self.upload(client, try self.png(32, 32, seed: 1))
            let s = try await self.upload(client, try self.png(32, 32, seed: 2))
            let cases: [(Any, String)] = [
                (["content": c, "styles": ["ffffffffffff"]], "is not uploaded"),
                (["content": c, "styles": [String]()], "at least one style"),
                (["content": c, "styles": [s], "options": ["weights": "/etc/passwd"]], "unknown option \"weights\""),
                (["content": c, "styles": [s], "options": ["init": "/etc/passwd"]], "init must be content or random"),
                (["content": c, "styles": [s], "options": ["size": "-5"]], "size"),
                (["content": c, "styles": [s], "options": ["optimizer": "sgd"]], "--optimizer must be lbfgs or adam"),
                (["content": c, "styles": [s], "options": ["style-weight": "1,10"]], "one value per job"),
                (["content": c, "styles": [s], "options": ["style-mean-weight": "-1"]], "--style-mean-weight must be a finite number"),
                (["content": c, "styles": [s], "masks": ["3": s]], "masks are keyed"),
                (["content": c, "styles": [s], "device": "opencl:9"], "unknown device"),
                (["styles": [s]], "content is missing"),
            ]
            for (request, message) in cases {
                try await client.execute(uri: "/api/jobs", method: .post, headers: self.headers(), body: try self.body(request)) { r in
                    XCTAssertEqual(r.status, .badRequest, "\(request)")
                    let error = try self.object(r)["error"] as? String ?? ""
                    XCTAssertTrue(error.contains(message), "\(request): \(error)")
                }
            }
            try await client.execute(uri: "/api/jobs", method: .post, headers: self.headers(), body: ByteBuffer(string: "{not json")) { r in
                XCTAssertEqual(r.status, .badRequest)
            }
            for (uri, method) in [("/api/jobs/ffffffffffff", HTTPRequest.Method.get), ("/api/jobs/ffffffffffff/cancel", .post),
                                  ("/api/jobs/ffffffffffff/result.png", .get), ("/api/jobs/ffffffffffff", .delete)] {
                try await client.execute(uri: uri, method: method, headers: self.headers()) { XCTAssertEqual($0.status, .notFound, uri) }
            }
            try await client.execute(uri: "/api/jobs", method: .get, headers: self.headers()) { r in
                XCTAssertEqual((try self.object(r)["jobs"] as? [Any])?.count, 0, "no bad request left a job")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: self.folder + "/jobs"), [], "nor a folder")
        }
    }

    /// Submit, run on the worker, download: the PNG carries the command line, which the CLI's
    /// parser turns back into the same run.
    func testJobRunsToADownloadablePNG() async throws {
        let studio = try makeStudio()
        _ = try studio.startWorkers()
        defer { studio.stop() }
        try await Application(router: studio.router()).test(.router) { client in
            let c = try await self.upload(client, try self.png(40, 32, seed: 1))
            let s = try await self.upload(client, try self.png(32, 32, seed: 2))
            let request: [String: Any] = ["content": c, "styles": [s], "device": "cpu",
                                          "options": ["model": "random", "size": "32", "iterations": "6", "style-weight": "50"]]
            try await client.execute(uri: "/api/plan", method: .post, headers: self.headers(), body: try self.body(request)) { r in
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                let o = try self.object(r)
                XCTAssertEqual((o["plans"] as? [[String: Any]])?.first?["width"] as? Int, 32)
                XCTAssertTrue((o["text"] as? String ?? "").hasPrefix("plan: 32×26, 6 iterations, whole image"), "\(o["text"] ?? "")")
            }
            let job = try await client.execute(uri: "/api/jobs", method: .post, headers: self.headers(), body: try self.body(request)) { r in
                XCTAssertEqual(r.status, .created, String(buffer: r.body))
                return try self.object(r)
            }
            let id = job["id"] as! String
            let command = job["command"] as! String
            XCTAssertTrue(command.hasPrefix("neural-style stylize /"), command)
            XCTAssertTrue(command.contains("--style-weight 50") && command.contains("-o neural-style-\(id).png"), command)
            let done = try await self.wait(client, id) { Self.isFinished($0) }
            XCTAssertEqual(done["status"] as? String, "done", "\(done["error"] ?? "")")
            XCTAssertEqual(done["iteration"] as? Int, 6)
            XCTAssertEqual((done["history"] as? [Any])?.count, 6)
            XCTAssertEqual(done["result"] as? String, "/api/jobs/\(id)/result.png")
            try await client.execute(uri: "/api/jobs/\(id)/result.png", method: .get, headers: self.headers()) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentDisposition], "attachment; filename=\"neural-style-\(id).png\"")
                let png = Data(buffer: r.body)
                XCTAssertTrue(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
                XCTAssertNotNil(png.range(of: Data("iTXt".utf8)), "text chunks")
                XCTAssertNotNil(png.range(of: Data(command.utf8)), "the command line is in the PNG")
            }
            try await client.execute(uri: "/api/jobs/\(id)/preview.png", method: .get, headers: self.headers()) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/api/jobs/\(id)/cancel", method: .post, headers: self.headers()) { r in
                XCTAssertEqual(r.status, .conflict)
            }
            try await client.execute(uri: "/api/jobs/\(id)", method: .delete, headers: self.headers()) { XCTAssertEqual($0.status, .noContent) }
            try await client.execute(uri: "/api/jobs/\(id)", method: .get, headers: self.headers()) { XCTAssertEqual($0.status, .notFound) }
        }
    }

    /// One device runs one job at a time: the second waits at position 1 and is cancelled at once;
    /// the running one stops at its next evaluation.
    func testQueueAndCancel() async throws {
        let studio = try makeStudio()
        _ = try studio.startWorkers()
        defer { studio.stop() }
        try await Application(router: studio.router()).test(.router) { client in
            let c = try await self.upload(client, try self.png(32, 32, seed: 1))
            let long: [String: Any] = ["content": c, "styles": [c], "options": ["model": "random", "size": "32", "iterations": "100000"]]
            let first = try await client.execute(uri: "/api/jobs", method: .post, headers: self.headers(), body: try self.body(long)) { try self.object($0) }
            let second = try await client.execute(uri: "/api/jobs", method: .post, headers: self.headers(), body: try self.body(long)) { try self.object($0) }
            let a = first["id"] as! String, b = second["id"] as! String
            let running = try await self.wait(client, a) { ($0["iteration"] as? Int ?? 0) > 0 || ($0["history"] as? [Any])?.isEmpty == false }
            XCTAssertEqual(running["status"] as? String, "running")
            XCTAssertEqual(running["position"] as? Int, 0)
            try await client.execute(uri: "/api/jobs/\(b)", method: .get, headers: self.headers()) { r in
                let o = try self.object(r)
                XCTAssertEqual(o["status"] as? String, "queued")
                XCTAssertEqual(o["position"] as? Int, 1)
            }
            try await client.execute(uri: "/api/jobs/\(b)/cancel", method: .post, headers: self.headers()) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(try self.object(r)["status"] as? String, "cancelled")
            }
            try await client.execute(uri: "/api/jobs/\(a)/cancel", method: .post, headers: self.headers()) { XCTAssertEqual($0.status, .ok) }
            let stopped = try await self.wait(client, a) { Self.isFinished($0) }
            XCTAssertEqual(stopped["status"] as? String, "cancelled")
            XCTAssertLessThan(stopped["iteration"] as? Int ?? 0, 100000)
            XCTAssertFalse(FileManager.default.fileExists(atPath: self.folder + "/jobs/\(a)/result.png"), "a cancelled job has no result")
        }
    }
}
