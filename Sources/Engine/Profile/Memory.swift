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

    /// How much more this process may use, and what sets that bound.
    public struct Budget: Sendable {
        public let bytes: Int
        /// "available RAM", "the cgroup limit (memory.max of /…)" or "the address-space limit (ulimit -v)".
        public let source: String
    }

    /// The smallest of: available RAM, the room left under the cgroup's memory limit (v2
    /// memory.max or v1 memory.limit_in_bytes, on this cgroup and each parent: what Docker,
    /// Kubernetes and Slurm set) and under the address-space limit (ulimit -v).
    public static var budget: Budget? {
        var candidates: [Budget] = []
        if let a = availableBytes { candidates.append(Budget(bytes: a, source: "available RAM")) }
        if let c = cgroupRoom() { candidates.append(c) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
           let used = field("VmSize:") {
            let room = max(0, Int(clamping: limit.rlim_cur) - used)
            candidates.append(Budget(bytes: room, source: "the address-space limit (ulimit -v)"))
        }
        return candidates.min { $0.bytes < $1.bytes }
    }

    /// Room left under the tightest memory limit of this process's cgroups. `procRoot` and
    /// `cgroupRoot` are parameters so the tests can point them at a fake tree.
    public static func cgroupRoom(selfCgroup: String = "/proc/self/cgroup", cgroupRoot: String = "/sys/fs/cgroup") -> Budget? {
        guard let text = try? String(contentsOfFile: selfCgroup, encoding: .utf8) else { return nil }
        func number(_ path: String) -> Int? {
            guard let t = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return Int(t.trimmingCharacters(in: .whitespacesAndNewlines))   // "max" → nil
        }
        var best: Budget?
        func consider(_ dir: String, limitFile: String, usageFile: String) {
            var d = dir
            while true {
                if let limit = number(d + "/" + limitFile), limit < (1 << 60) {
                    let room = max(0, limit - (number(d + "/" + usageFile) ?? 0))
                    if best == nil || room < best!.bytes {
                        best = Budget(bytes: room, source: "the cgroup limit (\(limitFile) of \(d))")
                    }
                }
                guard d.count > cgroupRoot.count, let slash = d.lastIndex(of: "/") else { break }
                d = String(d[..<slash])
                if d.count < cgroupRoot.count { break }
            }
        }
        for line in text.split(separator: "\n") {
            // "0::/path" (v2) or "4:memory:/path" (v1)
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = parts[2] == "/" ? "" : String(parts[2])
            if parts[0] == "0" && parts[1].isEmpty {
                consider(cgroupRoot + path, limitFile: "memory.max", usageFile: "memory.current")
            } else if parts[1].split(separator: ",").contains("memory") {
                consider(cgroupRoot + "/memory" + path, limitFile: "memory.limit_in_bytes", usageFile: "memory.usage_in_bytes")
            }
        }
        return best
    }

    static func field(_ name: String, file: String = "/proc/self/status") -> Int? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}
