/// Keeping the content's colours (Gatys et al., "Preserving Color in Neural Artistic Style
/// Transfer", 2016), in the three ways people use:
/// - `luminance`: transfer on luminance only (§2.2). Content and style become grey images of
///   their Y (YIQ), the style's Y matched in mean and standard deviation to the content's; the
///   result's Y is combined with the content's I and Q.
/// - `histogram(method)`: before the transfer, the style images' RGB mean and covariance are
///   matched to the content's (§2.1; `ColorMatch` names the three matrix square roots).
/// - `post`: jcjohnson/neural-style's `-original_colors 1`: the content's I and Q put back onto
///   the result's Y afterwards.
public enum ColorPreservation: Equatable, Sendable, CustomStringConvertible {
    case none
    case luminance
    case histogram(ColorMatch)
    case post

    public init?(parsing text: String, match: ColorMatch = .pca) {
        switch text {
        case "none": self = .none
        case "luminance": self = .luminance
        case "histogram": self = .histogram(match)
        case "post": self = .post
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .luminance: return "luminance"
        case .histogram(let m): return "histogram:\(m.rawValue)"
        case .post: return "post"
        }
    }
}

extension StyleTransfer {
    /// The inputs the optimisation sees: style images colour-matched to the content, or
    /// everything as luminance.
    public func prepared(_ inputs: TransferInputs) -> TransferInputs {
        guard let content = inputs.content else { return inputs }
        var out = inputs
        switch options.preserveColor {
        case .none, .post:
            break
        case .histogram(let method):
            for k in out.styles.indices { out.styles[k].recolor = .match(content, method) }
        case .luminance:
            out.content = content.luminanceImage()
            for k in out.styles.indices { out.styles[k].recolor = .luminance(content) }
        }
        return out
    }

    /// The output image from the optimised one: for `luminance` and `post`, its luminance with
    /// the content's chroma (the content resized to the output), clamped to 0…255.
    public func finished(_ image: RGBImage, _ inputs: TransferInputs) -> RGBImage {
        recombined(image, inputs).clamped()
    }

    /// `finished` before clamping.
    func recombined(_ image: RGBImage, _ inputs: TransferInputs) -> RGBImage {
        guard let content = inputs.content else { return image }
        switch options.preserveColor {
        case .none, .histogram:
            return image
        case .luminance, .post:
            return content.resized(width: image.width, height: image.height).withLuminance(of: image)
        }
    }
}
