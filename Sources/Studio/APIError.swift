import Foundation
import Hummingbird

/// An API failure: an HTTP status and one line a person can act on, sent as {"error": "…"}.
struct APIError: Error {
    let status: HTTPResponse.Status
    let message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response() -> Response {
        json(["error": message], status: status)
    }
}

/// A JSON response in the studio's one encoding.
func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? StudioJSON.encoder.encode(value)) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Turns any thrown error into the API's JSON error: our own with their status, the engine's
/// usage and data errors as 400, anything else 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            return e.response()
        } catch let e as HTTPError {
            return APIError(e.status, e.body ?? "\(e.status.reasonPhrase.lowercased())").response()
        } catch {
            return APIError(.internalServerError, "\(error)").response()
        }
    }
}

extension HTTPResponse.Status {
    /// 507: the data folder's disk refused the upload.
    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
}
