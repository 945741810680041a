import ArgumentParser
import Engine
import Foundation

/// The perceptual controls shared by stylize and evaluate: several styles with blend weights and
/// scales, colour preservation, spatial masks and regions, the content weight map and scale
/// control. One grammar for per-style lists: a comma list gives one value per style image, in
/// command-line order, and one value applies to all; options naming a style take `K:value` with
/// K counting the style images from 1.
struct ControlOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Size of each style image relative to the output: one value, or one per style, comma-separated.")
    var styleScale = "1"
    @Option(parsing: .unconditional, help: "Relative weight of each style's Gram matrices in the blended target, comma-separated, one per style (normalised to sum 1; default equal).")
    var styleBlendWeights: String?
    @Option(parsing: .unconditional, help: "none, luminance (transfer on luminance, keep the content's chroma), histogram (match the styles' colours to the content first) or post (put the content's chroma back afterwards).")
    var preserveColor = "none"
    @Option(parsing: .unconditional, help: "How --preserve-color histogram matches colours: pca, cholesky or sym.")
    var colorMatch = "pca"
    @Option(parsing: .unconditionalSingleValue, help: "K:mask.png — style K applies where the grey-level mask is white (repeat for several styles; all styles or none).")
    var styleMask: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "K:mask.png — take style K's statistics only where this mask over the style image is white.")
    var styleRegion: [String] = []
    @Option(parsing: .unconditional, help: "Grey-level map over the output weighting the content term per pixel (white keeps the content exact).")
    var contentWeightMap: String?
    @Option(parsing: .unconditionalSingleValue, help: "K:relu3_1,relu4_1 — style K only at these style layers (scale control; the others keep all).")
    var styleLayersOf: [String] = []

    /// `K:value` entries for `count` styles, by K.
    func numbered(_ entries: [String], option: String, styles count: Int) throws -> [Int: String] {
        var out: [Int: String] = [:]
        for e in entries {
            let parts = e.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let k = Int(parts[0]), !parts[1].isEmpty else {
                throw EngineError.invalidArgument("\(option) takes K:value with K the style's number from 1 (got \"\(e)\")")
            }
            guard k >= 1 && k <= count else {
                throw EngineError.invalidArgument("\(option) \(e): there \(count == 1 ? "is 1 style image" : "are \(count) style images"), so K must be 1…\(count)")
            }
            guard out[k] == nil else { throw EngineError.invalidArgument("\(option) is given twice for style \(k)") }
            out[k] = parts[1]
        }
        return out
    }

    /// One value per style from a comma list of one or `count` values.
    func perStyle(_ text: String, option: String, styles count: Int) throws -> [Float] {
        let v = try numberList(text, option: option)
        guard v.count == 1 || v.count == count else {
            throw EngineError.invalidArgument("\(option) has \(v.count) values for \(count) style images; give one, or one per style")
        }
        return v.count == 1 ? [Float](repeating: v[0], count: count) : v
    }

    var colorPreservation: ColorPreservation {
        get throws {
            guard let m = ColorMatch(rawValue: colorMatch) else {
                throw EngineError.invalidArgument("--color-match must be pca, cholesky or sym (got \"\(colorMatch)\")")
            }
            guard let c = ColorPreservation(parsing: preserveColor, match: m) else {
                throw EngineError.invalidArgument("--preserve-color must be none, luminance, histogram or post (got \"\(preserveColor)\")")
            }
            return c
        }
    }

    /// Every file the controls read, with its role (for the output checks and the run identity).
    func files(styles count: Int) throws -> [(role: String, path: String)] {
        var out: [(String, String)] = []
        for (k, p) in try numbered(styleMask, option: "--style-mask", styles: count).sorted(by: { $0.key < $1.key }) { out.append(("mask\(k)", p)) }
        for (k, p) in try numbered(styleRegion, option: "--style-region", styles: count).sorted(by: { $0.key < $1.key }) { out.append(("region\(k)", p)) }
        if let m = contentWeightMap { out.append(("content-weight-map", m)) }
        return out
    }

    /// Checks the values that need no file (before anything is read).
    func validate(styles count: Int, styleLayers: [String]) throws {
        let scales = try perStyle(styleScale, option: "--style-scale", styles: count)
        for s in scales where !(s > 0 && s <= 8 && s.isFinite) {
            throw EngineError.invalidArgument("--style-scale must be in (0, 8] (got \(s))")
        }
        if let b = styleBlendWeights {
            let w = try perStyle(b, option: "--style-blend-weights", styles: count)
            guard w.allSatisfy({ $0 >= 0 && $0.isFinite }), w.reduce(0, +) > 0 else {
                throw EngineError.invalidArgument("--style-blend-weights must be finite numbers ≥ 0, not all 0 (got \(b))")
            }
        }
        _ = try colorPreservation
        let masks = try numbered(styleMask, option: "--style-mask", styles: count)
        if !masks.isEmpty && masks.count != count {
            let missing = (1...count).filter { masks[$0] == nil }.map(String.init).joined(separator: ", ")
            throw EngineError.invalidArgument("--style-mask is given for some styles but not for style \(missing); give every style a mask, or none")
        }
        if !masks.isEmpty && styleBlendWeights != nil {
            throw EngineError.invalidArgument("--style-blend-weights blends styles over the whole image and --style-mask places them; use one of the two")
        }
        _ = try numbered(styleRegion, option: "--style-region", styles: count)
        for (k, text) in try numbered(styleLayersOf, option: "--style-layers-of", styles: count) {
            for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !styleLayers.contains(name) {
                throw EngineError.invalidArgument("--style-layers-of \(k):\(text): \(name) is not one of --style-layers (\(styleLayers.joined(separator: ",")))")
            }
        }
    }

    /// The inputs of a run: the content and style images already read, with the controls' maps.
    func inputs(content: RGBImage?, styles: [RGBImage], load: (String, String) throws -> GreyMap) throws -> TransferInputs {
        let n = styles.count
        let scales = try perStyle(styleScale, option: "--style-scale", styles: n)
        let blends = try styleBlendWeights.map { try perStyle($0, option: "--style-blend-weights", styles: n) }
        let masks = try numbered(styleMask, option: "--style-mask", styles: n)
        let regions = try numbered(styleRegion, option: "--style-region", styles: n)
        let layersOf = try numbered(styleLayersOf, option: "--style-layers-of", styles: n)
        var out = TransferInputs(content: content)
        for (k, image) in styles.enumerated() {
            var s = StyleInput(image: image)
            s.scale = scales[k]
            if let b = blends { s.blend = b[k] }
            s.mask = try masks[k + 1].map { try load($0, "--style-mask \(k + 1)") }
            s.region = try regions[k + 1].map { try load($0, "--style-region \(k + 1)") }
            s.layers = layersOf[k + 1].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            out.styles.append(s)
        }
        out.contentWeightMap = try contentWeightMap.map { try load($0, "--content-weight-map") }
        return out
    }

    /// The settings tied to the inputs, for the run identity.
    func identityLines(styles count: Int) throws -> [String] {
        ["styleScales=\(try perStyle(styleScale, option: "--style-scale", styles: count))",
         "blend=\(styleBlendWeights ?? "equal")", "layersOf=\(styleLayersOf.sorted())"]
    }
}
