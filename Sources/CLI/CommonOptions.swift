import ArgumentParser
import Engine
import Foundation

/// Options shared by stylize, evaluate, reconstruct and bench: backend, model and loss.
struct CommonOptions: ParsableArguments {
    // Every option that takes a value parses it .unconditional: "-5" is taken as the value (and
    // rejected with a message about the value), not as an unknown option.
    @Option(parsing: .unconditional, help: "auto, cpu or opencl (gpu is an alias of opencl). auto: OpenCL when a GPU or accelerator is present, else the CPU backend.")
    var backend = "auto"
    @Option(parsing: .unconditional, help: "OpenCL device: index or name substring (default: first GPU, else accelerator, else CPU).")
    var device: String?
    @Option(parsing: .unconditional, help: "vgg19-normalised, vgg19, vgg16 or random (He-initialised, for tests and benchmarks).")
    var model = "vgg19-normalised"
    @Option(parsing: .unconditional, help: "Path of a .nsw weights file (default: the fetched file for --model).") var weights: String?
    @Option(parsing: .unconditional, help: "Seed for --model random and --init random (a whole number ≥ 0).") var seed: String = "0"
    @Option(parsing: .unconditional, help: "max or avg.") var pooling = "max"
    @Option(parsing: .unconditional, help: "Largest input image accepted, in megapixels (width × height / 10⁶).")
    var maxInputMegapixels: Double = RGBImage.defaultMaxPixels / 1e6

    @Option(parsing: .unconditional, help: "Content layer.") var contentLayer = "relu4_2"
    @Option(parsing: .unconditional, help: "Comma-separated style layers.") var styleLayers = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"
    @Option(parsing: .unconditional, help: "Comma-separated weight per style layer (default 1/|layers| each).")
    var styleLayerWeights: String?
    @Option(parsing: .unconditional, help: "α: weight of the style term; a comma-separated list writes one output per value.")
    var styleWeight = "5"
    @Option(name: .customLong("tv-weight"), parsing: .unconditional, help: "β: weight of the total-variation term (default: 1e-8; reconstruct: 0, as in the paper).")
    var tvWeightOption: Float?
    /// β unless a command has its own default (reconstruct: none, so each layer shows only what it keeps).
    var tvWeight: Float { tvWeightOption ?? Self.defaultTVWeight }
    static let defaultTVWeight: Float = 1e-8
    @Option(help: "Total variation: l2, l1 or power:γ.") var tv = "l2"
    @Flag(help: "Subtract each channel's mean before the Gram matrix.") var centeredGram = false
    @Option(parsing: .unconditional, help: "λ: each style layer also matches the painting's per-channel feature means, with this weight against its Gram matrix (default 0: the Gram alone, as the paper; 1 pins the painting's mean colour at relu1_1).")
    var styleMeanWeight: Float = 0
    @Flag(help: "Print the per-kernel profile and the time in setup, iterations and image I/O.") var profile = false

    var styleWeights: [Float] {
        get throws { try numberList(styleWeight, option: "--style-weight") }
    }

    /// The seed as a number; a negative or non-numeric one is a usage error.
    var seedValue: UInt64 {
        get throws {
            guard let v = UInt64(seed.trimmingCharacters(in: .whitespaces)) else {
                throw EngineError.invalidArgument("--seed must be a whole number ≥ 0 (got \(seed))")
            }
            return v
        }
    }

    /// The pixel limit for input images.
    var maxInputPixels: Int {
        get throws {
            guard maxInputMegapixels.isFinite, maxInputMegapixels > 0, maxInputMegapixels <= 4096 else {
                throw EngineError.invalidArgument("--max-input-megapixels must be in (0, 4096] (got \(maxInputMegapixels))")
            }
            return Int(maxInputMegapixels * 1e6)
        }
    }

    /// Rejects the options that would be silently ignored with this backend or model.
    func checkApplicable() throws {
        try refuseDevice(device, withBackend: backend)
        if weights != nil && model == "random" {
            throw EngineError.invalidArgument("--weights is not used with --model random; drop it, or name the model the file holds")
        }
    }

    func lossConfig(styleWeight alpha: Float, defaultTVWeight: Float = defaultTVWeight) throws -> LossConfig {
        var c = LossConfig()
        c.contentLayer = contentLayer
        c.styleLayers = styleLayers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let w = styleLayerWeights { c.styleLayerWeights = try numberList(w, option: "--style-layer-weights") }
        c.styleWeight = alpha
        c.tvWeight = tvWeightOption ?? defaultTVWeight
        guard let kind = TVKind(parsing: tv) else {
            throw EngineError.invalidArgument("--tv must be l2, l1 or power:γ with γ > 0 (got \"\(tv)\")")
        }
        c.tv = kind
        c.centeredGram = centeredGram
        c.styleMeanWeight = styleMeanWeight == 0 ? nil : styleMeanWeight
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
        try checkApplicable()
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
        try checkApplicable()
        return try ModelWeights.resolve(model: model, weightsPath: weights, seed: try seedValue)
    }

    /// Reads an input image under --max-input-megapixels, naming its role in any error.
    func loadImage(_ path: String, role: String) throws -> RGBImage {
        do { return try RGBImage.load(path, maxPixels: try maxInputPixels) } catch let e as EngineError {
            switch e {
            case .image(let m): throw EngineError.image("cannot read the \(role) image: \(m)")
            case .outOfMemory(let m): throw EngineError.outOfMemory("cannot read the \(role) image: \(m)")
            default: throw e
            }
        }
    }
}

/// `--device` with `--backend cpu` would be silently ignored: a usage error (stylize, bench, …).
func refuseDevice(_ device: String?, withBackend backend: String) throws {
    if device != nil && backend.lowercased() == "cpu" {
        throw EngineError.invalidArgument("--device selects an OpenCL device and does nothing with --backend cpu; drop one of them")
    }
}

/// `--init`: content, random, or the path of an image.
func initialization(_ text: String) -> TransferOptions.Initialization {
    switch text {
    case "content": return .content
    case "random": return .random
    default: return .image(text)
    }
}

/// "1, 5,25" → [1, 5, 25]; an empty entry or a word is a usage error naming the option.
func numberList(_ text: String, option: String) throws -> [Float] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.map { Float($0) }
    guard !parts.isEmpty, values.allSatisfy({ $0 != nil }) else {
        throw EngineError.invalidArgument("\(option) takes numbers separated by commas (got \"\(text)\")")
    }
    return values.map { $0! }
}

func jsonString<T: Encodable>(_ value: T) -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: (try? enc.encode(value)) ?? Data(), as: UTF8.self)
}
