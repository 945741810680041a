import Foundation

/// Process memory from /proc (Linux).
public enum ProcessMemory {
    /// Peak resident set size (VmHWM) in bytes, or nil where /proc is missing.
    public static var peakResidentBytes: Int? { field("VmHWM:") }
    public static var residentBytes: Int? { field("VmRSS:") }

    /// Resets the peak to the current resident size (Linux ≥ 4.0); false where not possible.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(f) }
        return fputs("5", f) >= 0
    }

    /// Available memory (MemAvailable) in bytes.
    public static var availableBytes: Int? { field("MemAvailable:", file: "/proc/meminfo") }

    static func field(_ name: String, file: String = "/proc/self/status") -> Int? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}
