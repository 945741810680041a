import CImageIO
import Foundation

/// SHA-256 as lowercase hex.
public enum SHA256 {
    public static func hex(_ data: Data) -> String {
        var s = nsio_sha256()
        nsio_sha256_init(&s)
        data.withUnsafeBytes { nsio_sha256_update(&s, $0.baseAddress, $0.count) }
        var digest = [UInt8](repeating: 0, count: 32)
        nsio_sha256_final(&s, &digest)
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    public static func hex(_ text: String) -> String { hex(Data(text.utf8)) }

    /// The digest of a file's bytes.
    public static func hex(ofFile path: String) throws -> String {
        do { return hex(try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)) } catch {
            throw EngineError.io("cannot read \(path): \(error.localizedDescription)")
        }
    }
}

/// What makes two runs the same run: the bytes of every input, the weights, the backend and
/// device, and every option that changes the result. A checkpoint is resumed only by a run of
/// the same identity; the video and batch commands key their items by it too.
public struct RunIdentity: Equatable, CustomStringConvertible {
    /// The canonical text, one `key=value` per line: readable when two identities differ.
    public let text: String
    public var digest: String { SHA256.hex(text) }
    public var description: String { digest }

    /// `controls`: lines for the settings tied to the inputs (blend weights, per-style scales and
    /// layers), which `TransferOptions` does not hold.
    public init(inputs: [(role: String, path: String)], weights: ModelWeights, backend: Backend,
                options: TransferOptions, controls: [String] = []) throws {
        var lines = ["neural-style run 1"]
        for (role, path) in inputs { lines.append("input.\(role)=\(try SHA256.hex(ofFile: path))") }
        if case .image(let p) = options.initialization { lines.append("input.init=\(try SHA256.hex(ofFile: p))") }
        lines.append("weights=\(weights.fingerprint)")
        lines.append("backend=\(backend.kind) \(backend.deviceName)")
        lines += options.identityLines
        lines += controls
        text = lines.joined(separator: "\n")
    }
}

extension TransferOptions {
    /// Every option that changes the result, one `key=value` line each, in a fixed order.
    var identityLines: [String] {
        func opt<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "default" }
        let initText: String
        switch initialization {
        case .content: initText = "content"
        case .random: initText = "random"
        case .image: initText = "image"
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let lossJSON = (try? enc.encode(loss)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return [
            "size=\(size)", "styleScale=\(styleScale)", "init=\(initText)", "seed=\(seed)",
            "optimizer=\(optimizer.rawValue)", "iterations=\(iterations)", "lbfgsHistory=\(lbfgsHistory)",
            "lineSearch=\(lineSearch.rawValue)",
            "learningRate=\(opt(learningRate))", "tolerance=\(opt(tolerance))", "pooling=\(pooling)",
            "loss=\(lossJSON)", "scales=\(resolvedScaleSizes.map(String.init).joined(separator: ","))",
            "scaleIterations=\((0..<resolvedScaleSizes.count).map { String(iterations(atScale: $0, of: resolvedScaleSizes.count)) }.joined(separator: ","))",
            "tile=\(opt(tile))", "memoryLimit=\(opt(memoryLimit))", "preserveColor=\(preserveColor)",
        ] + (boundPixels ? ["boundPixels=true"] : [])   // only when on: earlier runs keep their identity
          + (optimizer == .lbfgs && preconditioner != .none ? ["preconditioner=\(preconditioner.rawValue)"] : [])   // likewise
    }
}
