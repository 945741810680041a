import CBLAS
import CCPUInfo
import Foundation

/// Which OpenBLAS kernel set the CPU backend runs, chosen from the instruction sets the CPU and
/// its OS support (cpuid, xgetbv), never from a table of CPU models.
///
/// OpenBLAS picks its kernels when it loads, from the CPU model. A build that does not know a
/// model falls back to generic SSE3 kernels ("Prescott"): Debian's 0.3.21 does this on recent
/// Xeons, where the 3×3 convolutions then run 1.5–3× slower. `reexecIfWeaker` fixes this before
/// any work. If OpenBLAS's own choice is of a lower tier than the features allow, the process
/// runs itself again, once, with OPENBLAS_CORETYPE set. An OPENBLAS_CORETYPE that the user set
/// always wins.
public enum BLASKernels {
    /// The instruction sets that matter for the choice.
    public struct Features: Equatable, Sendable {
        public var avx = false, avx2 = false, fma = false
        public var avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false
        public var avx512bf16 = false, amx = false
        public var vendor = ""

        public init() {}

        public static var host: Features {
            let m = ns_cpu_features()
            var f = Features()
            f.avx = m & UInt32(NS_CPU_AVX) != 0
            f.avx2 = m & UInt32(NS_CPU_AVX2) != 0
            f.fma = m & UInt32(NS_CPU_FMA) != 0
            f.avx512f = m & UInt32(NS_CPU_AVX512F) != 0
            f.avx512bw = m & UInt32(NS_CPU_AVX512BW) != 0
            f.avx512vl = m & UInt32(NS_CPU_AVX512VL) != 0
            f.avx512dq = m & UInt32(NS_CPU_AVX512DQ) != 0
            f.avx512bf16 = m & UInt32(NS_CPU_AVX512BF16) != 0
            f.amx = m & UInt32(NS_CPU_AMX) != 0
            var v = [CChar](repeating: 0, count: 13)
            ns_cpu_vendor(&v)
            f.vendor = String(cString: v)
            return f
        }

        /// The processor's brand string ("AMD EPYC 7B13 …"), trimmed.
        public static var brand: String {
            var b = [CChar](repeating: 0, count: 49)
            ns_cpu_brand(&b)
            return String(cString: b).trimmingCharacters(in: .whitespaces)
        }

        /// "AVX-512 (F BW VL DQ) AVX2 FMA", for the summaries.
        public var summary: String {
            var parts: [String] = []
            if avx512f { parts.append("AVX-512" + (avx512bw && avx512vl && avx512dq ? " (F BW VL DQ)" : " (F)")) }
            if avx512bf16 { parts.append("AVX-512 BF16") }
            if amx { parts.append("AMX") }
            if avx2 { parts.append("AVX2") }
            if fma { parts.append("FMA") }
            if avx && !avx2 { parts.append("AVX") }
            return parts.isEmpty ? "SSE only" : parts.joined(separator: " ")
        }
    }

    /// The OpenBLAS kernel set that fits `f` (nil: nothing better than what any x86-64 has).
    /// AVX-512 takes SkylakeX's kernels, as OpenBLAS itself does for Sapphire Rapids and Zen 4
    /// in later releases; AVX2 with FMA takes Haswell's (Intel) or Zen's (AMD and others).
    public static func choice(for f: Features) -> String? {
        if f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq { return "SkylakeX" }
        if f.avx2 && f.fma { return f.vendor == "GenuineIntel" ? "Haswell" : "Zen" }
        if f.avx { return "Sandybridge" }
        return nil
    }

    /// 0: SSE kernels, 1: AVX, 2: AVX2 + FMA, 3: AVX-512.
    public static func tier(_ core: String) -> Int {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 3
        case "haswell", "zen", "excavator": return 2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": return 1
        default: return 0
        }
    }

    /// The kernel set OpenBLAS is running.
    public static var current: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    static let reexecMark = "NEURAL_STYLE_BLAS_CHOSEN"

    /// Where the kernel set came from: "OpenBLAS's own detection", "OPENBLAS_CORETYPE", or
    /// "chosen from cpuid".
    public static var source: String {
        let env = ProcessInfo.processInfo.environment
        if env[reexecMark] != nil { return "chosen from cpuid" }
        if env["OPENBLAS_CORETYPE"] != nil { return "OPENBLAS_CORETYPE" }
        return "OpenBLAS's own detection"
    }

    /// One line for `devices`, `bench` and `--profile`, with a warning when the kernels are of a
    /// lower tier than the CPU supports.
    public static var report: String {
        let f = Features.host, core = current
        var line = "CPU \(Features.brand) (\(f.summary)); OpenBLAS kernels \(core) (\(source))"
        if let best = choice(for: f), tier(core) < tier(best) {
            line += "; warning: this CPU supports \(best)'s kernels, unset OPENBLAS_CORETYPE to use them"
        }
        return line
    }

    /// Runs the process again with OPENBLAS_CORETYPE set when OpenBLAS's own choice is weaker
    /// than the CPU's features allow. Returns (and the process goes on as it is) when no change
    /// is needed, the user set OPENBLAS_CORETYPE, or the process already is the re-run.
    public static func reexecIfWeaker() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env[reexecMark] == nil,
              let best = choice(for: Features.host), tier(current) < tier(best) else { return }
        setenv("OPENBLAS_CORETYPE", best, 1)
        setenv(reexecMark, "1", 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // exec failed: carry on with the kernels we have
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(reexecMark)
    }
}
