import Foundation

/// The record of a batch: one JSON line per finished (or failed) item, appended after the
/// image is renamed into place and flushed to disk, so a killed job never leaves a torn line or
/// an image without its line. `manifest.jsonl`, or `manifest-K-of-N.jsonl` for shard K of N.
public struct BatchRecord: Codable, Sendable {
    public struct Options: Codable, Sendable, Equatable {
        public var styleWeight: Float
        public var styleScale: Float
        public var size: Int
        public var preserveColor: String

        public init(styleWeight: Float, styleScale: Float, size: Int, preserveColor: String) {
            self.styleWeight = styleWeight
            self.styleScale = styleScale
            self.size = size
            self.preserveColor = preserveColor
        }
    }
    /// The item's index among all items of the batch, and their count (for `batch merge`).
    public var index: Int
    public var total: Int
    public var id: String
    public var content: String
    public var styles: [String]
    public var options: Options
    /// SHA-256 of everything that decides the output (inputs' bytes, weights, device, options).
    public var optionsHash: String
    /// "ok" or "failed".
    public var status: String
    public var reason: String?
    public var output: String?
    public var sha256: String?
    public var loss: LossTerms?
    public var seconds: Double
    /// Seconds that were not iterations (reading, setup, writing).
    public var overheadSeconds: Double
    public var device: String

    public init(index: Int, total: Int, id: String, content: String, styles: [String], options: Options, optionsHash: String,
                status: String, reason: String?, output: String?, sha256: String?, loss: LossTerms?, seconds: Double,
                overheadSeconds: Double, device: String) {
        self.index = index
        self.total = total
        self.id = id
        self.content = content
        self.styles = styles
        self.options = options
        self.optionsHash = optionsHash
        self.status = status
        self.reason = reason
        self.output = output
        self.sha256 = sha256
        self.loss = loss
        self.seconds = seconds
        self.overheadSeconds = overheadSeconds
        self.device = device
    }
}

public enum BatchManifest {
    public static func name(shard: (index: Int, count: Int)?) -> String {
        shard.map { "manifest-\($0.index)-of-\($0.count).jsonl" } ?? "manifest.jsonl"
    }

    public static func read(_ path: String) -> [BatchRecord] { JSONLines.read(BatchRecord.self, from: path) }

    /// Appends one line and flushes it to disk.
    public static func append(_ record: BatchRecord, to path: String) throws { try JSONLines.append(record, to: path) }

    /// Combines the shard manifests of `folder` into `manifest.jsonl` (ok records by index),
    /// checking that every item of the batch is there exactly once.
    public static func merge(_ folder: String) throws -> (items: Int, shards: Int) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasPrefix("manifest-") && $0.hasSuffix(".jsonl") }.sorted()
        guard !names.isEmpty else { throw EngineError.invalidArgument("\(folder) holds no shard manifests (manifest-K-of-N.jsonl)") }
        var byIndex: [Int: (BatchRecord, String)] = [:]
        var totals = Set<Int>()
        for name in names {
            // within a shard the last record of an item wins (a retried failure)
            var mine: [Int: BatchRecord] = [:]
            for r in read(folder + "/" + name) { mine[r.index] = r; totals.insert(r.total) }
            for (i, r) in mine where r.status == "ok" {
                if let other = byIndex[i] {
                    throw EngineError.invalidArgument("item \(i) (\(r.id)) is in both \(other.1) and \(name)")
                }
                byIndex[i] = (r, name)
            }
        }
        guard totals.count == 1, let total = totals.first else {
            throw EngineError.invalidArgument("the manifests in \(folder) come from batches of different sizes (\(totals.sorted())); merge one batch at a time")
        }
        let missing = (0..<total).filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            throw EngineError.invalidArgument("\(missing.count) of \(total) items are not finished (first: item \(missing[0])); rerun their shard")
        }
        let out = folder + "/manifest.jsonl"
        let tmp = folder + "/.manifest.jsonl.\(getpid()).tmp"
        var data = Data()
        for i in 0..<total { data += try JSONLines.encoder.encode(byIndex[i]!.0) + Data("\n".utf8) }
        do { try data.write(to: URL(fileURLWithPath: tmp)) } catch { throw EngineError.io("cannot write \(out): \(error.localizedDescription)") }
        guard rename(tmp, out) == 0 else { unlink(tmp); throw EngineError.io("cannot write \(out)") }
        return (total, names.count)
    }
}
