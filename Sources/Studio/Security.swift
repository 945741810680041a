import Foundation
import HTTPTypes
import Hummingbird

/// What every request must pass before a route sees it:
/// - **Host**: on a loopback address only `127.0.0.1`, `localhost` or `[::1]` with the server's
///   port, so a page on another site cannot reach the server through DNS rebinding (its requests
///   carry that site's name);
/// - **Origin** (and `Sec-Fetch-Site`): when a browser sends them, the request must come from the
///   studio's own page, so another page open in the same browser cannot drive it;
/// - **token**, when the server has one (required off loopback): `Authorization: Bearer T`, the
///   cookie the page gets, or `?token=T` on the page's address, which sets that cookie.
public struct SecurityPolicy: Sendable {
    /// The port requests name in Host: the one the server bound (`--port 0` picks one).
    let port: @Sendable () -> Int
    let loopback: Bool
    let token: String?
    static let cookie = "neural_style_token"

    enum Verdict: Equatable { case allow, setCookie, refuse(HTTPResponse.Status, String) }

    public static func isLoopback(_ host: String) -> Bool {
        ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased()) || host.hasPrefix("127.")
    }

    func check(host: String?, origin: String?, fetchSite: String?, authorization: String?, cookieToken: String?,
               queryToken: String?) -> Verdict {
        guard let host, !host.isEmpty else { return .refuse(.badRequest, "the request has no Host header") }
        if loopback {
            let p = port()
            let allowed = ["127.0.0.1:\(p)", "localhost:\(p)", "[::1]:\(p)"]
            guard allowed.contains(host.lowercased()) else {
                return .refuse(.forbidden, "Host \(host) is not this server's address; open http://127.0.0.1:\(p)/")
            }
        }
        if let origin {
            // a browser page sends its own origin, http(s)://host:port; WebSocket clients that are
            // not browsers (swift-websocket's) send ws://host without the port
            let o = origin.lowercased(), h = host.lowercased()
            let name = h.hasPrefix("[") ? String(h.prefix(through: h.firstIndex(of: "]")!)) : String(h.split(separator: ":").first ?? "")
            guard o == "http://" + h || o == "https://" + h || o == "ws://" + name else {
                return .refuse(.forbidden, "cross-origin request from \(origin) refused")
            }
        }
        if fetchSite?.lowercased() == "cross-site" { return .refuse(.forbidden, "cross-site request refused") }
        guard let token else { return .allow }
        if let a = authorization, a.hasPrefix("Bearer "), Self.same(String(a.dropFirst(7)), token) { return .allow }
        if let c = cookieToken, Self.same(c, token) { return .allow }
        if let q = queryToken, Self.same(q, token) { return .setCookie }
        return .refuse(.unauthorized, "this server needs its token: open the address it printed (…/?token=…) or send Authorization: Bearer TOKEN")
    }

    /// Compares in time independent of where the strings differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

struct SecurityMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: SecurityPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let h = request.headers
        let verdict = policy.check(
            host: h[HTTPField.Name("Host")!] ?? request.head.authority, origin: h[.origin], fetchSite: h[HTTPField.Name("Sec-Fetch-Site")!],
            authorization: h[.authorization], cookieToken: request.cookies[SecurityPolicy.cookie]?.value,
            queryToken: request.uri.queryParameters.get("token"))
        switch verdict {
        case .allow:
            return try await next(request, context)
        case .setCookie:
            var response = try await next(request, context)
            response.headers[.setCookie] = "\(SecurityPolicy.cookie)=\(policy.token!); Path=/; HttpOnly; SameSite=Strict"
            return response
        case .refuse(let status, let message):
            return APIError(status, message).response()
        }
    }
}
