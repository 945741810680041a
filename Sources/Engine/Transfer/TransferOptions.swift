import Foundation

/// Everything that decides one stylisation besides the images and the backend.
public struct TransferOptions: Sendable {
    public enum Initialization: Equatable, Sendable {
        case content
        case random
        case image(String)
    }
    public enum OptimizerKind: String, Sendable { case lbfgs, adam }

    /// Longest side of the output, in pixels.
    public var size = 512
    /// Size of the style image relative to the output.
    public var styleScale: Float = 1
    public var initialization = Initialization.content
    public var seed: UInt64 = 0
    public var optimizer = OptimizerKind.lbfgs
    /// Loss-and-gradient evaluations (line-search evaluations included).
    public var iterations = 500
    public var lbfgsHistory = 100
    public var lineSearch = LBFGS.LineSearch.wolfe
    /// L-BFGS's initial inverse Hessian γ·M (`Preconditioner`; `.none` reproduces earlier runs).
    public var preconditioner = Preconditioner.pyramid
    /// Keep every evaluated image inside 0…255 (projected L-BFGS or Adam, `Optimizer.bounds`), so
    /// the loss reported is that of the image written. Off, the optimiser may leave pixels
    /// outside 0…255, and the written image, clamped, scores worse than reported (relu1_1-only
    /// style reconstruction at 256 px: 0.81 against 4.5e-5).
    public var boundPixels = false
    /// nil: 1 for L-BFGS, 10 for Adam.
    public var learningRate: Float?
    public var tolerance: Double?
    public var pooling = PoolKind.max
    public var loss = LossConfig()
    /// Colour preservation (`--preserve-color`).
    public var preserveColor = ColorPreservation.none

    /// Coarse-to-fine: the number of scales, each twice the size of the one before and ending at
    /// `size` (1: a single scale), or explicit sizes (the last one is the output size).
    public var scales = 1
    public var scaleSizes: [Int]?
    /// Evaluations at the scales before the last: one number for all of them, or one per scale
    /// (nil: `iterations / 2`, at least 1).
    public var scaleIterations: [Int]?
    /// Memory budget in bytes (nil: the device's global memory for OpenCL, available RAM for the CPU).
    public var memoryLimit: Int?
    /// Forces tiled evaluation with tiles of this many pixels a side (nil: tile only when the
    /// budget requires it).
    public var tile: Int?

    /// Input images (content, style, --init) larger than this many pixels are refused on decode.
    public var maxInputPixels = Int(RGBImage.defaultMaxPixels)

    /// Total evaluations over all scales.
    public var totalIterations: Int {
        let n = resolvedScaleSizes.count
        return (0..<n).reduce(0) { $0 + iterations(atScale: $1, of: n) }
    }

    /// Evaluations at scale k (0 = coarsest) of `count` scales.
    public func iterations(atScale k: Int, of count: Int) -> Int {
        if k == count - 1 { return iterations }
        guard let its = scaleIterations, !its.isEmpty else { return max(1, iterations / 2) }
        return its.count == 1 ? its[0] : its[min(k, its.count - 1)]
    }

    /// The output's longest side at each scale, coarse to fine.
    public var resolvedScaleSizes: [Int] {
        if let s = scaleSizes, !s.isEmpty { return s }
        return (0..<max(scales, 1)).reversed().map { max(16, size >> $0) }
    }

    public init() {}

    /// Bounds that catch typing mistakes before any work is done.
    public func validate() throws {
        guard size >= 16 && size <= 32768 else {
            throw EngineError.invalidArgument("--size must be between 16 and 32768 pixels (got \(size))")
        }
        guard styleScale > 0 && styleScale <= 8 && styleScale.isFinite else {
            throw EngineError.invalidArgument("--style-scale must be in (0, 8] (got \(styleScale))")
        }
        guard iterations >= 1 && iterations <= 1_000_000 else {
            throw EngineError.invalidArgument("--iterations must be between 1 and 1000000 (got \(iterations))")
        }
        guard lbfgsHistory >= 1 && lbfgsHistory <= 1000 else {
            throw EngineError.invalidArgument("--lbfgs-history must be between 1 and 1000 (got \(lbfgsHistory))")
        }
        guard scales >= 1 && scales <= 8 else {
            throw EngineError.invalidArgument("--scales must be between 1 and 8 (got \(scales))")
        }
        // each scale halves the one after it; the coarsest must still be 16 px
        if scaleSizes == nil && (size >> (scales - 1)) < 16 {
            let most = 1 + Int(log2(Double(size) / 16))
            throw EngineError.invalidArgument("--scales \(scales) with --size \(size) would start below 16 px; at most \(most) scales fit")
        }
        if let s = scaleSizes {
            guard !s.isEmpty, s.allSatisfy({ $0 >= 16 && $0 <= 32768 }), zip(s, s.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw EngineError.invalidArgument("--scale-sizes must increase, each between 16 and 32768 pixels")
            }
        }
        if let t = tile, !(t >= 16 && t <= 32768) {
            throw EngineError.invalidArgument("--tile must be between 16 and 32768 pixels (got \(t))")
        }
        if let its = scaleIterations {
            guard its.allSatisfy({ $0 >= 1 }), its.count == 1 || its.count == resolvedScaleSizes.count - 1 else {
                throw EngineError.invalidArgument("--scale-iterations takes one count ≥ 1, or one per scale before the last (\(resolvedScaleSizes.count - 1))")
            }
        }
        if let tol = tolerance, !(tol > 0 && tol.isFinite) {
            throw EngineError.invalidArgument("--tolerance must be a number > 0 (got \(tol))")
        }
        guard maxInputPixels > 0 else {
            throw EngineError.invalidArgument("the input pixel limit must be positive (got \(maxInputPixels))")
        }
        if let lr = learningRate, !(lr > 0 && lr.isFinite) {
            throw EngineError.invalidArgument("--learning-rate must be > 0 (got \(lr))")
        }
        try loss.validate()
        if preserveColor == .luminance && loss.contentLayer == nil {
            throw EngineError.invalidArgument("--preserve-color luminance needs a content image (its chroma is kept)")
        }
    }
}
