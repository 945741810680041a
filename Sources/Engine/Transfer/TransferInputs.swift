/// The images of one stylisation and the controls tied to them: one content image, one or more
/// style images (each with its blend weight, scale, mask, region and layers), and a content
/// weight map.
public struct TransferInputs {
    public var content: RGBImage?
    public var styles: [StyleInput]
    /// Weights the content term per output pixel (`--content-weight-map`).
    public var contentWeightMap: GreyMap?

    public init(content: RGBImage?, styles: [StyleInput] = [], contentWeightMap: GreyMap? = nil) {
        self.content = content
        self.styles = styles
        self.contentWeightMap = contentWeightMap
    }

    /// One content image and at most one style image, no controls.
    public init(content: RGBImage?, style: RGBImage?) {
        self.init(content: content, styles: style.map { [StyleInput(image: $0)] } ?? [])
    }

    /// The image whose size sets the output's (the content, else the first style).
    var reference: RGBImage? { content ?? styles.first?.image }
}

/// One style image and how it enters the loss.
public struct StyleInput {
    public var image: RGBImage
    /// Relative weight of its Gram matrices in the blended target (`--style-blend-weights`).
    public var blend: Float = 1
    /// Its size relative to the output (nil: `TransferOptions.styleScale`).
    public var scale: Float?
    /// Where on the output it applies (`--style-mask`), nil: everywhere.
    public var mask: GreyMap?
    /// Which part of the style image its statistics come from (`--style-region`).
    public var region: GreyMap?
    /// Only these style layers (`--style-layers-of`), nil: all of them.
    public var layers: [String]?
    /// Identifies the image (and its region) across runs of one `StyleTransfer`, so its Gram
    /// targets are computed once per size (a video's frames). nil: computed every time.
    public var targetKey: String?

    /// Colour preservation's change to the style image, applied at the size it is used (after
    /// resizing, which clamps, and unclamped itself: clamping would undo the matched statistics).
    public var recolor: Recolor?

    public enum Recolor {
        /// RGB mean and covariance matched to the target's (`--preserve-color histogram`).
        case match(RGBImage, ColorMatch)
        /// Grey luminance, matched in mean and deviation to the target's (`--preserve-color luminance`).
        case luminance(RGBImage)
    }

    public init(image: RGBImage) { self.image = image }

    /// The image the style term uses at width × height.
    public func image(width: Int, height: Int) -> RGBImage {
        let r = image.resized(width: width, height: height)
        switch recolor {
        case nil: return r
        case .match(let target, let method): return r.colorMatched(to: target, method: method)
        case .luminance(let target): return r.luminanceImage(matchedTo: target)
        }
    }
}
