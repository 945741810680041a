import CLKernels
import Foundation

/// Per-kernel (OpenCL) or per-operation (CPU) timing, aggregated into one table format.
public final class Profiler {
    /// What one call does, so the report can give GFLOP/s or GB/s.
    public enum Work { case none, flops(Double), bytes(Double) }

    public struct Row: Codable {
        public let name: String
        public var calls: Int = 0
        public var seconds: Double = 0
        public var flops: Double = 0
        public var bytes: Double = 0
    }

    private var pending: [(String, OpaquePointer, Work)] = []
    private var rows: [String: Row] = [:]

    public init() {}

    func record(_ name: String, event: OpaquePointer, work: Work) {
        pending.append((name, event, work))
        if pending.count >= 4096 { resolvePending() }
    }

    /// Adds one measured call (CPU backend, or anything timed on the host).
    public func add(_ name: String, seconds: Double, work: Work = .none) {
        var row = rows[name] ?? Row(name: name)
        row.calls += 1
        row.seconds += seconds
        switch work {
        case .none: break
        case .flops(let f): row.flops += f
        case .bytes(let b): row.bytes += b
        }
        rows[name] = row
    }

    /// Times `body` on the host clock.
    @inline(__always)
    public func measure<T>(_ name: String, work: Work = .none, _ body: () throws -> T) rethrows -> T {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = try body()
        add(name, seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9, work: work)
        return r
    }

    /// Waits for recorded OpenCL events and folds their times into the table.
    func resolvePending() {
        for (name, event, work) in pending {
            var start: UInt64 = 0, end: UInt64 = 0
            var err = ns_error()
            if ns_event_times(event, &start, &end, &err) == 0 {
                add(name, seconds: Double(end &- start) * 1e-9, work: work)
            }
            ns_event_release(event)
        }
        pending.removeAll()
    }

    deinit { resolvePending() }

    public var table: [Row] {
        resolvePending()
        return rows.values.sorted { $0.seconds > $1.seconds }
    }

    public func reset() {
        resolvePending()
        rows.removeAll()
    }

    /// The report: calls, total ms, mean µs, share of time, and GFLOP/s or GB/s where known.
    public func report(title: String) -> String {
        let rows = table
        let total = rows.reduce(0) { $0 + $1.seconds }
        var out = title + "\n"
        out += pad("operation", 28) + lpad("calls", 8) + lpad("total ms", 12) + lpad("mean µs", 12)
            + lpad("share", 8) + lpad("rate", 14) + "\n"
        for r in rows {
            var rate = ""
            if r.flops > 0 && r.seconds > 0 { rate = String(format: "%.1f GFLOP/s", r.flops / r.seconds / 1e9) }
            else if r.bytes > 0 && r.seconds > 0 { rate = String(format: "%.1f GB/s", r.bytes / r.seconds / 1e9) }
            out += pad(r.name, 28) + lpad("\(r.calls)", 8)
                + lpad(String(format: "%.2f", r.seconds * 1e3), 12)
                + lpad(String(format: "%.1f", r.seconds * 1e6 / Double(max(r.calls, 1))), 12)
                + lpad(String(format: "%.1f%%", total > 0 ? 100 * r.seconds / total : 0), 8)
                + lpad(rate, 14) + "\n"
        }
        out += pad("total", 28) + lpad("", 8) + lpad(String(format: "%.2f", total * 1e3), 12) + "\n"
        return out
    }
}

/// Table columns: `pad` left-aligns, `lpad` right-aligns; both keep at least one space between columns.
public func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
public func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }

/// Bytes in binary units: "512 B", "1.5 GiB".
public func formatBytes<I: BinaryInteger>(_ b: I) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(b), i = 0
    while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
    return i == 0 ? "\(b) B" : String(format: "%.1f %@", v, units[i])
}
