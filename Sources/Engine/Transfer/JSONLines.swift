import Foundation

/// Append-only JSON-lines files: the video job's frame manifest and the batch manifests. A
/// record is appended and flushed to disk before the call returns, so a killed process leaves at
/// most a torn last line, which `read` ignores (a line counts only with its newline).
public enum JSONLines {
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    /// Appends `record` as one line and flushes it to disk.
    public static func append<T: Encodable>(_ record: T, to path: String) throws {
        let data = try encoder.encode(record) + Data("\n".utf8)
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw EngineError.io("cannot write \(path)") }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw EngineError.io("cannot write \(path)") }
        defer { try? h.close() }
        do {
            try h.seekToEnd()
            try h.write(contentsOf: data)
            try h.synchronize()
        } catch {
            throw EngineError.io("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Every complete line of `path` that decodes as T, in order (none when the file is missing).
    public static func read<T: Decodable>(_ type: T.Type, from path: String) -> [T] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let complete = text.hasSuffix("\n") ? Substring(text) : text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)]
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return complete.split(separator: "\n").compactMap { try? decoder.decode(T.self, from: Data($0.utf8)) }
    }
}
