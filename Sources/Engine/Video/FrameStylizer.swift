import Foundation

/// Stylises the frames of a clip one after another without flicker (Ruder, Dosovitskiy & Brox,
/// "Artistic Style Transfer for Videos", 2016): frame t starts from the stylised frame t−1
/// warped into it by the optical flow (`frameInit = .warped`), and a temporal term per earlier
/// frame k ∈ `temporalFrames` penalises deviation from the stylised frame t−k warped into t,
/// wherever that flow is reliable. Long-term weights follow their eq. 8: frame t−k counts only
/// where no nearer frame in the list is reliable, c_k ← max(c_k − Σ_{j<k} c_j, 0).
///
/// One `StyleTransfer` serves the whole clip: the network, compiled kernels and the style Gram
/// targets (kept by `StyleInput.targetKey`) are made once.
public final class FrameStylizer {
    public enum FrameInit: String, Sendable { case warped, content }

    public struct Settings: Sendable {
        /// λ; 0: no temporal term.
        public var temporalWeight: Float = FrameStylizer.defaultTemporalWeight
        /// Earlier frames the temporal term looks at (1 = the previous frame).
        public var temporalFrames: [Int] = [1]
        public var frameInit = FrameInit.warped
        /// Evaluations for the first frame (nil: the options' iterations).
        public var firstFrameIterations: Int?
        public init() {}

        public func validate() throws {
            guard temporalWeight.isFinite && temporalWeight >= 0 else {
                throw EngineError.invalidArgument("--temporal-weight must be a finite number ≥ 0 (got \(temporalWeight))")
            }
            guard !temporalFrames.isEmpty, temporalFrames.allSatisfy({ $0 >= 1 && $0 <= 64 }),
                  Set(temporalFrames).count == temporalFrames.count else {
                throw EngineError.invalidArgument("--temporal-frames takes distinct frame distances 1…64, like 1,2,4")
            }
            if let n = firstFrameIterations, !(n >= 1 && n <= 1_000_000) {
                throw EngineError.invalidArgument("--first-frame-iterations must be between 1 and 1000000 (got \(n))")
            }
        }
    }

    /// λ in pixel units (0…255 scale, squared, averaged over 3·H·W): a 10-level deviation on
    /// reliable pixels costs about as much as the style term near convergence at α = 5.
    public static let defaultTemporalWeight: Float = 0.05

    public let transfer: StyleTransfer
    public let settings: Settings
    /// The styles and their controls; the content is each frame.
    public let template: TransferInputs
    let iterations: Int

    /// An earlier frame: its content (for the flow) and its stylised output.
    public struct Earlier {
        public let content: RGBImage
        public let stylised: RGBImage
        public init(content: RGBImage, stylised: RGBImage) {
            self.content = content
            self.stylised = stylised
        }
    }

    public init(transfer: StyleTransfer, settings: Settings, template: TransferInputs) throws {
        try settings.validate()
        self.transfer = transfer
        self.settings = settings
        self.template = template
        iterations = transfer.options.iterations
    }

    /// The most earlier frames any term or the init looks at.
    public var historyLength: Int { settings.temporalFrames.max() ?? 1 }

    public struct FrameResult {
        public let image: RGBImage
        public let terms: LossTerms
        public let evaluations: Int
        /// Seconds computing flows and warps.
        public let flowSeconds: Double
        public let result: StyleTransfer.Result
    }

    /// Stylises `content` given the earlier frames, most recent first (empty for the first frame).
    public func stylize(_ content: RGBImage, after earlier: [Earlier],
                        onStep: (OptimizerStep, Tensor) throws -> Bool = { _, _ in true }) throws -> FrameResult {
        let t0 = Date()
        // flows at the output size, where the stylised frames live
        let (w, h) = transfer.outputSize(for: content)
        let frame = content.resized(width: w, height: h)
        var inputs = template
        inputs.content = frame
        var warpedPrevious: RGBImage?
        var temporal: [(k: Int, warped: RGBImage, reliability: GreyMap)] = []
        let warpedInit = settings.frameInit == .warped, temporalOn = settings.temporalWeight > 0
        if !earlier.isEmpty && (warpedInit || temporalOn) {
            // the frames a flow is needed for: the temporal terms', and the previous one for the init
            var ks = temporalOn ? settings.temporalFrames.sorted().filter { $0 <= earlier.count } : []
            if warpedInit && ks.first != 1 { ks.insert(1, at: 0) }
            var covered: GreyMap?
            for k in ks {
                let e = earlier[k - 1]
                let before = e.content.resized(width: w, height: h)
                let backward = try OpticalFlow.compute(from: frame, to: before)   // t → t−k
                let warped = e.stylised.resized(width: w, height: h).warped(by: backward)
                if k == 1 { warpedPrevious = warped }
                guard temporalOn && settings.temporalFrames.contains(k) else { continue }
                let forward = try OpticalFlow.compute(from: before, to: frame)   // t−k → t
                var c = OpticalFlow.reliability(forward: forward, backward: backward)
                if let seen = covered {
                    let raw = c
                    c.values = zip(raw.values, seen.values).map { max(0, $0 - $1) }
                    covered!.values = zip(seen.values, raw.values).map { min(1, $0 + $1) }
                } else {
                    covered = c
                }
                temporal.append((k, warped, c))
            }
        }
        let flowSeconds = Date().timeIntervalSince(t0)
        transfer.options.iterations = earlier.isEmpty ? (settings.firstFrameIterations ?? iterations) : iterations
        // the first frame follows --init; later ones start from the warped previous frame or their content
        transfer.startImage = earlier.isEmpty || !warpedInit ? nil : warpedPrevious
        if !earlier.isEmpty && !warpedInit { transfer.options.initialization = .content }
        let lambda = settings.temporalWeight, single = temporal.count == 1
        transfer.extraTerms = { sw, sh in
            temporal.map { t in
                var spec = TemporalTerm.Spec(weight: lambda, warped: t.warped.resized(width: sw, height: sh).networkInput(),
                                             reliability: t.reliability)
                spec.name = single ? "temporal" : "temporal:\(t.k)"
                return spec
            }
        }
        defer { transfer.extraTerms = { _, _ in [] }; transfer.startImage = nil }
        let result = try transfer.run(inputs, onStep: onStep)
        return FrameResult(image: result.image, terms: result.terms, evaluations: result.evaluations,
                           flowSeconds: flowSeconds, result: result)
    }
}
