import CLKernels
import Foundation

/// Tuned CLBlast parameters, as written by CLBlast's own tuners (`clblast_tuner_xgemm` and
/// friends, Debian package clblast-utils): one JSON file per kernel family with the device name,
/// the precision and "best_parameters". Applied with CLBlastOverrideParameters, they replace the
/// defaults CLBlast's database has for the device (or, for devices it does not know, for its
/// vendor or type). `NEURAL_STYLE_CLBLAST_TUNING=folder` points the OpenCL backend at the files;
/// `tools/gpu-check.sh` runs the tuners on the GPU and then benchmarks with their results.
public struct CLBlastTuning {
    /// CLBlast's database name of the kernel ("Xgemm", "XgemmDirect", "Copy", …).
    public let kernel: String
    /// The OpenCL device name the tuner ran on.
    public let device: String
    /// Best time the tuner measured, in milliseconds (the faster of two files for one kernel wins).
    public let milliseconds: Double
    public let parameters: [(name: String, value: Int)]

    public static let folderVariable = "NEURAL_STYLE_CLBLAST_TUNING"

    /// The database kernel a tuner's "kernel_family" tunes: xgemm_1 and xgemm_2 (its two GEMMK
    /// variants) are both Xgemm, xgemm_direct_1 and _2 XgemmDirect, copy Copy, and so on.
    static func kernelName(family: String) -> String? {
        let base = family.replacingOccurrences(of: "_1", with: "").replacingOccurrences(of: "_2", with: "")
        let names = ["xgemm": "Xgemm", "xgemm_direct": "XgemmDirect", "copy": "Copy", "pad": "Pad",
                     "transpose": "Transpose", "padtranspose": "Padtranspose", "xaxpy": "Xaxpy", "xdot": "Xdot",
                     "xgemv": "Xgemv", "xgemv_fast": "XgemvFast", "xgemv_fast_rot": "XgemvFastRot", "xger": "Xger"]
        return names[base]
    }

    /// Reads one tuner file; nil for a precision other than single.
    public static func read(_ path: String) throws -> CLBlastTuning? {
        let bad = { (why: String) in EngineError.invalidArgument("\(path): not a CLBlast tuner result (\(why))") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.io("cannot read CLBlast tuning file \(path)")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw bad("not JSON") }
        guard let family = json["kernel_family"] as? String, let precision = json["precision"] as? String,
              let device = json["device"] as? String, let best = json["best_parameters"] as? String else {
            throw bad("kernel_family, precision, device or best_parameters missing")
        }
        guard precision == "32" else { return nil }
        guard let kernel = kernelName(family: family) else { throw bad("unknown kernel family \(family)") }
        var parameters: [(name: String, value: Int)] = []
        for item in best.split(separator: " ") {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let v = Int(kv[1]) else { throw bad("bad parameter \(item)") }
            if kv[0] != "PRECISION" { parameters.append((String(kv[0]), v)) }
        }
        guard !parameters.isEmpty else { throw bad("no parameters") }
        let ms = Double(json["best_time"] as? String ?? "") ?? (json["best_time"] as? Double) ?? .infinity
        return CLBlastTuning(kernel: kernel, device: device, milliseconds: ms, parameters: parameters)
    }

    /// Every single-precision tuning in a folder's *.json files for `device`, the fastest per kernel.
    public static func load(folder: String, device: String) throws -> [CLBlastTuning] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw EngineError.io("\(folderVariable): \(folder) is not a folder")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }.sorted()
        var best: [String: CLBlastTuning] = [:]
        for f in files {
            guard let t = try read(folder + "/" + f), t.device == device else { continue }
            if let old = best[t.kernel], old.milliseconds <= t.milliseconds { continue }
            best[t.kernel] = t
        }
        return best.keys.sorted().map { best[$0]! }
    }
}

extension CLContext {
    /// Hands tuned parameters to CLBlast for this context's device.
    public func apply(_ tuning: CLBlastTuning) throws {
        var names = tuning.parameters.map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        let values = tuning.parameters.map { size_t($0.value) }
        try names.withUnsafeMutableBufferPointer { np in
            try np.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: np.count) { cnames in
                try clCall { ns_clblast_override(handle, tuning.kernel, values.count, cnames, values, $0) }
            }
        }
    }
}
