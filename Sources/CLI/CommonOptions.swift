import ArgumentParser
import Engine
import Foundation

/// Options shared by stylize, evaluate, reconstruct and bench: backend, model and loss.
struct CommonOptions: ParsableArguments {
    @Option(help: "auto, cpu or opencl (gpu is an alias of opencl). auto: OpenCL when a GPU or accelerator is present, else the CPU backend.")
    var backend = "auto"
    @Option(help: "OpenCL device: index or name substring (default: first GPU, else accelerator, else CPU).")
    var device: String?
    @Option(help: "vgg19-normalised, vgg19, vgg16 or random (He-initialised, for tests and benchmarks).")
    var model = "vgg19-normalised"
    @Option(help: "Path of a .nsw weights file (default: the fetched file for --model).") var weights: String?
    @Option(help: "Seed for --model random and --init random.") var seed: UInt64 = 0
    @Option(help: "max or avg.") var pooling = "max"

    @Option(help: "Content layer.") var contentLayer = "relu4_2"
    @Option(help: "Comma-separated style layers.") var styleLayers = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"
    // .unconditional: a negative value is taken as the value (and rejected with a clear message),
    // not as an unknown option.
    @Option(parsing: .unconditional, help: "Comma-separated weight per style layer (default 1/|layers| each).")
    var styleLayerWeights: String?
    @Option(parsing: .unconditional, help: "α: weight of the style term; a comma-separated list writes one output per value.")
    var styleWeight = "5"
    @Option(parsing: .unconditional, help: "β: weight of the total-variation term.") var tvWeight: Float = 1e-8
    @Option(help: "Total variation: l2, l1 or power:γ.") var tv = "l2"
    @Flag(help: "Subtract each channel's mean before the Gram matrix.") var centeredGram = false
    @Flag(help: "Print the per-kernel profile and the time in setup, iterations and image I/O.") var profile = false

    var styleWeights: [Float] {
        get throws {
            let values = styleWeight.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                throw EngineError.invalidArgument("--style-weight takes numbers separated by commas (got \"\(styleWeight)\")")
            }
            return values.map { $0! }
        }
    }

    func lossConfig(styleWeight alpha: Float) throws -> LossConfig {
        var c = LossConfig()
        c.contentLayer = contentLayer
        c.styleLayers = styleLayers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let w = styleLayerWeights {
            let values = w.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard values.allSatisfy({ $0 != nil }) else {
                throw EngineError.invalidArgument("--style-layer-weights takes numbers separated by commas")
            }
            c.styleLayerWeights = values.map { $0! }
        }
        c.styleWeight = alpha
        c.tvWeight = tvWeight
        guard let kind = TVKind(parsing: tv) else {
            throw EngineError.invalidArgument("--tv must be l2, l1 or power:γ with γ > 0 (got \"\(tv)\")")
        }
        c.tv = kind
        c.centeredGram = centeredGram
        return c
    }

    var poolKind: PoolKind {
        get throws {
            guard let p = PoolKind(rawValue: pooling) else {
                throw EngineError.invalidArgument("--pooling must be max or avg (got \"\(pooling)\")")
            }
            return p
        }
    }

    func makeBackend() throws -> Backend {
        try CPUBackend.checkEnvironment()
        switch backend.lowercased() {
        case "auto":
            if device == nil, (try? DeviceInfo.select(nil))?.kind ?? .cpu == .cpu { return CPUBackend(profile: profile) }
            return try OpenCLBackend(device: device, profile: profile)
        case "cpu": return CPUBackend(profile: profile)
        case "opencl", "gpu": return try OpenCLBackend(device: device, profile: profile)
        default: throw EngineError.invalidArgument("--backend must be auto, cpu or opencl (got \"\(backend)\")")
        }
    }

    func loadWeights() throws -> ModelWeights {
        try ModelWeights.resolve(model: model, weightsPath: weights, seed: seed)
    }
}

/// Reads an image, turning failures into one-line errors.
func loadImage(_ path: String, role: String) throws -> RGBImage {
    do { return try RGBImage.load(path) } catch {
        throw EngineError.image("cannot read the \(role) image: \(error)")
    }
}

/// Refuses an output path that names one of the inputs.
func checkOutput(_ output: String, inputs: [String]) throws {
    let out = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path
    for input in inputs where URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path == out {
        throw EngineError.invalidArgument("refusing to overwrite the input image \(input); choose another -o")
    }
    guard output.lowercased().hasSuffix(".png") else {
        throw EngineError.invalidArgument("the output is written as PNG: give -o a name ending in .png (got \(output))")
    }
}

/// out.png → out-<suffix>.png
func suffixed(_ path: String, _ suffix: String) -> String {
    let url = URL(fileURLWithPath: path)
    let ext = url.pathExtension
    let base = url.deletingPathExtension().path
    return base + "-" + suffix + (ext.isEmpty ? "" : "." + ext)
}

func jsonString<T: Encodable>(_ value: T) -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: (try? enc.encode(value)) ?? Data(), as: UTF8.self)
}
