import Foundation

/// Comparisons of two images as their 8-bit files hold them (samples clamped to 0…255 and
/// rounded): what `reconstruct` reports about its results.
extension RGBImage {
    /// The sample as a PNG of this image stores it.
    static func stored(_ v: Float) -> Double { Double(min(max(v, 0), 255).rounded()) }

    /// Peak signal-to-noise ratio in dB against `reference` of the same size, on the 0–255 scale:
    /// 10·log₁₀(255² / mean squared difference); infinite for identical images.
    public func psnr(against reference: RGBImage) -> Double {
        precondition(width == reference.width && height == reference.height, "PSNR needs images of one size")
        var sum = 0.0
        for i in pixels.indices {
            let d = Self.stored(pixels[i]) - Self.stored(reference.pixels[i])
            sum += d * d
        }
        let mse = sum / Double(max(pixels.count, 1))
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// The mean of each channel (red, green, blue), on the 0–255 scale.
    public var meanColour: [Double] {
        var sums = [0.0, 0.0, 0.0]
        for i in pixels.indices { sums[i % 3] += Self.stored(pixels[i]) }
        return sums.map { $0 / Double(max(width * height, 1)) }
    }
}
