import Foundation
import NIOConcurrencyHelpers

/// Fan-out of the studio's live messages (job changes, progress, previews) to every connected
/// WebSocket. Workers publish from their own threads; each connection reads its own stream. A
/// slow browser only drops its own oldest previews (each stream buffers the newest 64 messages).
final class Events: Sendable {
    private let subscribers = NIOLockedValueBox<[UUID: AsyncStream<String>.Continuation]>([:])

    func subscribe() -> (UUID, AsyncStream<String>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(64))
        subscribers.withLockedValue { $0[id] = continuation }
        return (id, stream)
    }

    func unsubscribe(_ id: UUID) {
        subscribers.withLockedValue { $0.removeValue(forKey: id) }?.finish()
    }

    func publish<T: Encodable>(_ message: T) {
        guard let text = try? String(decoding: StudioJSON.encoder.encode(message), as: UTF8.self) else { return }
        for c in subscribers.withLockedValue({ Array($0.values) }) { c.yield(text) }
    }

    func finishAll() {
        for c in subscribers.withLockedValue({ s in defer { s = [:] }; return Array(s.values) }) { c.finish() }
    }
}

/// One JSON style for the API and the WebSocket: ISO dates, non-finite numbers as strings.
enum StudioJSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()
    static let decoder = JSONDecoder()
}
