import Foundation

/// Comparisons of two images as their 8-bit files hold them (`bytes`: samples clamped to 0…255
/// and rounded): what `reconstruct` reports about its results.
extension RGBImage {
    /// Peak signal-to-noise ratio in dB against `reference` of the same size, on the 0–255 scale:
    /// 10·log₁₀(255² / mean squared difference); infinite for identical images.
    public func psnr(against reference: RGBImage) -> Double {
        precondition(width == reference.width && height == reference.height, "PSNR needs images of one size")
        let sum = zip(bytes, reference.bytes).reduce(0.0) { s, p in
            let d = Double(p.0) - Double(p.1)
            return s + d * d
        }
        let mse = sum / Double(max(pixels.count, 1))
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// The mean of each channel (red, green, blue), on the 0–255 scale.
    public var meanColour: [Double] {
        var sums = [0.0, 0.0, 0.0]
        for (i, b) in bytes.enumerated() { sums[i % 3] += Double(b) }
        return sums.map { $0 / Double(max(width * height, 1)) }
    }
}
