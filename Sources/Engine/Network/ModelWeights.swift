import CImageIO
import Foundation

/// The convolution weights of one VGG model (OIHW weights, biases), as float32 on the host.
public struct ModelWeights {
    public struct Convolution {
        public let name: String
        public let inChannels: Int
        public let outChannels: Int
        public let weight: [Float]
        public let bias: [Float]
    }

    public let model: String
    /// What identifies these numbers in a run identity: the file's payload checksum, or the seed.
    public let fingerprint: String
    public let architecture: Architecture
    public let convolutions: [Convolution]

    public static let knownModels = ["vgg19-normalised", "vgg19", "vgg16"]

    /// Where `tools/fetch_weights.py` puts its files: $NEURAL_STYLE_WEIGHTS, else
    /// $XDG_CACHE_HOME/neural-style/weights, else ~/.cache/neural-style/weights.
    public static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["NEURAL_STYLE_WEIGHTS"], !d.isEmpty { return d }
        let cache = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.cache")
        return cache + "/neural-style/weights"
    }

    public static func defaultPath(model: String) -> String { cacheDirectory + "/\(model).nsw" }

    /// He-initialised weights of the architecture's shape (N(0, 2/(9·Cin)), zero bias), for
    /// benchmarks and tests that need no download.
    public static func random(_ architecture: Architecture = .vgg19, seed: UInt64 = 0) -> ModelWeights {
        var rng = SeededRandom(seed: seed)
        let convs = architecture.convolutions.map { c -> Convolution in
            let std = (2 / Float(9 * c.inChannels)).squareRoot()
            let w = (0..<(c.outChannels * c.inChannels * 9)).map { _ in rng.normal() * std }
            return Convolution(name: c.name, inChannels: c.inChannels, outChannels: c.outChannels, weight: w,
                               bias: [Float](repeating: 0, count: c.outChannels))
        }
        return ModelWeights(model: "random", fingerprint: "random \(architecture.rawValue) seed \(seed)",
                            architecture: architecture, convolutions: convs)
    }

    // MARK: the .nsw format (docs/weights.md)

    struct Manifest: Decodable {
        struct TensorEntry: Decodable { let shape: [Int]; let offset: Int; let bytes: Int }
        struct LayerEntry: Decodable {
            let name: String
            let `in`: Int
            let out: Int
            let weight: TensorEntry
            let bias: TensorEntry
        }
        struct Input: Decodable { let channels: String; let scale: Double; let mean: [Double] }
        let format: String
        let version: Int
        let model: String
        let architecture: String
        let dtype: String
        let input: Input
        let layers: [LayerEntry]
        let payload_bytes: Int
        let payload_crc32: UInt32
    }

    static let magic = Array("NSWGHT01".utf8)
    static let manifestKeys: Set<String> = ["format", "version", "model", "architecture", "dtype", "input", "source",
                                            "license", "layers", "payload_bytes", "payload_crc32"]

    /// Loads and verifies a `.nsw` file: magic, manifest, architecture, shapes, size and CRC-32.
    /// `expected`, when given, must match the file's architecture.
    public static func load(_ path: String, expected: Architecture? = nil) throws -> ModelWeights {
        let fetch = "run `python3 tools/fetch_weights.py` to (re)create it"
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EngineError.weights("weights file \(path) not found: \(fetch), or pass --model random")
        }
        guard !isDir.boolValue else {
            throw EngineError.weights("--weights \(path) is a folder: give the path of a .nsw file")
        }
        func bad(_ why: String) -> EngineError { .weights("weights file \(path) is \(why): \(fetch)") }
        // (a zero-length file is refused before Foundation reads it: Data(contentsOf:) leaks there)
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        guard size >= 16 else { throw bad("not a neural-style weights file") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            let reason = access(path, R_OK) != 0 ? String(cString: strerror(errno)).lowercased() : "unreadable"
            throw EngineError.weights("cannot read weights file \(path): \(reason)")
        }
        guard data.count >= 16, Array(data.prefix(8)) == magic else { throw bad("not a neural-style weights file") }
        let mlen = data.subdata(in: 8..<16).withUnsafeBytes { Int(clamping: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard mlen > 0, mlen <= data.count - 16 else { throw bad("truncated (manifest)") }
        let manifestData = data.subdata(in: 16..<(16 + mlen))
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: manifestData) } catch {
            throw bad("damaged (manifest unreadable)")
        }
        let keys = Set(((try? JSONSerialization.jsonObject(with: manifestData)) as? [String: Any])?.keys.map { $0 } ?? [])
        guard keys == Self.manifestKeys else { throw bad("damaged (unexpected manifest keys)") }
        guard manifest.format == "neural-style-weights", manifest.version == 1 else {
            throw bad("of an unsupported format version")
        }
        guard let arch = Architecture(rawValue: manifest.architecture) else {
            throw bad("for an unknown architecture \"\(manifest.architecture)\"")
        }
        if let expected = expected, expected != arch {
            throw EngineError.weights("weights file \(path) holds \(arch.rawValue), not \(expected.rawValue): pass a \(expected.rawValue) file, or --model \(arch.rawValue == "vgg16" ? "vgg16" : "vgg19") for this one")
        }
        guard manifest.input.channels == "BGR", manifest.input.scale == 255, manifest.input.mean.count == 3,
              zip(manifest.input.mean, RGBImage.meanBGR).allSatisfy({ abs($0 - Double($1)) < 1e-3 }) else {
            throw bad("for an input preprocessing this engine does not use")
        }
        let elem: Int
        switch manifest.dtype {
        case "float32": elem = 4
        case "float16": elem = 2
        default: throw bad("of unknown dtype \(manifest.dtype)")
        }
        let payloadStart = (16 + mlen + 63) / 64 * 64
        guard manifest.payload_bytes >= 0, payloadStart <= data.count,
              manifest.payload_bytes <= data.count - payloadStart else { throw bad("truncated") }
        guard payloadStart + manifest.payload_bytes == data.count else { throw bad("damaged (bytes after the payload)") }
        guard data[(16 + mlen)..<payloadStart].allSatisfy({ $0 == 0 }) else { throw bad("damaged (non-zero header padding)") }
        let crc = data.withUnsafeBytes { raw in
            nsio_crc32(0, raw.baseAddress! + payloadStart, manifest.payload_bytes)
        }
        guard crc == manifest.payload_crc32 else { throw bad("corrupt (checksum mismatch)") }

        let expectedConvs = arch.convolutions
        guard manifest.layers.count == expectedConvs.count else {
            throw bad("not a complete \(arch.rawValue) (\(manifest.layers.count) convolutions)")
        }
        var convs: [Convolution] = []
        var end = 0   // tensors must come in order, 64-byte aligned, without overlap
        for (entry, want) in zip(manifest.layers, expectedConvs) {
            guard entry.name == want.name, entry.in == want.inChannels, entry.out == want.outChannels,
                  entry.weight.shape == [want.outChannels, want.inChannels, 3, 3], entry.bias.shape == [want.outChannels]
            else { throw bad("inconsistent with \(arch.rawValue) at \(entry.name)") }
            func read(_ t: Manifest.TensorEntry) throws -> [Float] {
                let count = t.shape.reduce(1, *)
                guard t.bytes == count * elem, t.offset >= end, t.offset % 64 == 0,
                      t.bytes <= manifest.payload_bytes - t.offset else {
                    throw bad("inconsistent at \(entry.name) (tensor size, alignment or overlap)")
                }
                end = t.offset + t.bytes
                return data.withUnsafeBytes { raw -> [Float] in
                    let base = raw.baseAddress! + payloadStart + t.offset
                    if elem == 4 {
                        return (0..<count).map { Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
                    }
                    return (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
                }
            }
            let weight = try read(entry.weight), bias = try read(entry.bias)
            // a checksum only proves the bytes are the ones written: a NaN written is a NaN read
            for (what, values) in [("weight", weight), ("bias", bias)] {
                if let i = values.firstIndex(where: { !$0.isFinite }) {
                    throw bad("unusable: \(entry.name).\(what)[\(i)] is \(values[i])")
                }
            }
            convs.append(Convolution(name: entry.name, inChannels: entry.in, outChannels: entry.out,
                                     weight: weight, bias: bias))
        }
        return ModelWeights(model: manifest.model,
                            fingerprint: "\(manifest.model) \(arch.rawValue) \(manifest.dtype) crc32 \(manifest.payload_crc32)",
                            architecture: arch, convolutions: convs)
    }

    /// Resolves `--model` / `--weights` to weights: "random" needs no file.
    public static func resolve(model: String, weightsPath: String?, seed: UInt64 = 0) throws -> ModelWeights {
        if model == "random" { return random(.vgg19, seed: seed) }
        guard knownModels.contains(model) else {
            throw EngineError.invalidArgument("unknown model \"\(model)\"; choose one of \((knownModels + ["random"]).joined(separator: ", "))")
        }
        let arch: Architecture = model == "vgg16" ? .vgg16 : .vgg19
        return try load(weightsPath ?? defaultPath(model: model), expected: arch)
    }
}
