import Foundation
import XCTest
@testable import Engine

/// Colour matching (Gatys et al. 2017 / 2016 §2.1) moves an image's RGB mean and covariance to
/// another's by each of the three transforms; YIQ conversion and the luminance helpers used for
/// luminance-only transfer and `--preserve-color post` are exact inverses of each other.
final class ColorTransferTests: XCTestCase {

    // MARK: fixtures

    /// A "style" image with a strongly skewed, correlated colour distribution: R is log-normal
    /// (long bright tail), G follows R, B falls as R rises. Clamped to 0…255 like a real image.
    static func styleImage() -> RGBImage {
        var rng = SeededRandom(seed: 17)
        let (w, h) = (40, 30)
        var px = [Float]()
        for _ in 0..<(w * h) {
            let z1 = rng.normal(), z2 = rng.normal(), z3 = rng.normal()
            let r = 30 + 25 * expf(0.9 * z1)
            let g = 0.8 * r + 12 * z2 + 10
            let b = 210 - 0.6 * r + 6 * z3 + 5 * z2
            px += [r, g, b].map { min(255, max(0, $0)) }
        }
        return RGBImage(width: w, height: h, pixels: px)
    }

    /// A "content" image with a different distribution: bluish-green, B and G strongly correlated,
    /// R skewed the other way (a dark tail).
    static func contentImage() -> RGBImage {
        var rng = SeededRandom(seed: 4242)
        let (w, h) = (50, 20)
        var px = [Float]()
        for _ in 0..<(w * h) {
            let z1 = rng.normal(), z2 = rng.normal(), z3 = rng.normal()
            let r = 200 - 20 * expf(0.7 * z1)
            let g = 120 + 35 * z2 + 5 * z3
            let b = 0.9 * g + 10 * z3 - 0.3 * r + 60
            px += [r, g, b].map { min(255, max(0, $0)) }
        }
        return RGBImage(width: w, height: h, pixels: px)
    }

    static func randomImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var rng = SeededRandom(seed: seed)
        return RGBImage(width: width, height: height, pixels: rng.uniformArray(width * height * 3, 0, 255))
    }

    /// ‖A − B‖_F / ‖B‖_F.
    static func relativeFrobenius(_ a: [Double], _ b: [Double]) -> Double {
        let num = zip(a, b).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let den = b.reduce(0.0) { $0 + $1 * $1 }
        return (num / den).squareRoot()
    }

    // MARK: colour matching

    func testEachMethodMatchesTheTargetMeanAndCovariance() {
        let style = Self.styleImage(), content = Self.contentImage()
        let s = style.colorStatistics, t = content.colorStatistics
        // the fixtures really differ, so a do-nothing transform would fail below
        XCTAssertGreaterThan(Self.relativeFrobenius(s.covariance, t.covariance), 0.5)
        XCTAssertGreaterThan(zip(s.mean, t.mean).map { abs($0 - $1) }.max()!, 30)
        for method in ColorMatch.allCases {
            let r = style.colorMatched(to: content, method: method)
            XCTAssertEqual(r.width, style.width)
            XCTAssertEqual(r.height, style.height)
            let stats = r.colorStatistics
            for c in 0..<3 {
                XCTAssertEqual(stats.mean[c], t.mean[c], accuracy: 1e-3, "\(method) mean[\(c)]")
            }
            let err = Self.relativeFrobenius(stats.covariance, t.covariance)
            XCTAssertLessThanOrEqual(err, 0.01, "\(method) covariance")
            print("\(method): covariance relative error \(err)")
        }
    }

    func testTheMethodsAreDifferentTransformsWithTheSameStatistics() {
        let style = Self.styleImage(), content = Self.contentImage()
        let results = ColorMatch.allCases.map { style.colorMatched(to: content, method: $0) }
        for i in 0..<results.count {
            for j in (i + 1)..<results.count {
                let diff = zip(results[i].pixels, results[j].pixels).map { abs($0 - $1) }.max()!
                XCTAssertGreaterThan(diff, 1, "\(ColorMatch.allCases[i]) vs \(ColorMatch.allCases[j])")
                let a = results[i].colorStatistics, b = results[j].colorStatistics
                for c in 0..<3 { XCTAssertEqual(a.mean[c], b.mean[c], accuracy: 1e-3) }
                XCTAssertLessThanOrEqual(Self.relativeFrobenius(a.covariance, b.covariance), 0.01)
            }
        }
    }

    func testTransformMatricesSatisfyASigmaSATransposeEqualsSigmaT() {
        let cs = Self.styleImage().colorStatistics.covariance
        let ct = Self.contentImage().colorStatistics.covariance
        var matrices: [[Double]] = []
        for method in ColorMatch.allCases {
            let a = method.matrix(source: cs, target: ct)
            let back = ColorMatch.multiply(ColorMatch.multiply(a, cs), ColorMatch.transpose(a))
            XCTAssertLessThanOrEqual(Self.relativeFrobenius(back, ct), 1e-6, "\(method)")
            matrices.append(a)
        }
        // cholesky's A is lower triangular; pca's and sym's are not the same matrix; sym's is symmetric
        let chol = matrices[ColorMatch.allCases.firstIndex(of: .cholesky)!]
        XCTAssertEqual(chol[1], 0, accuracy: 1e-12)
        XCTAssertEqual(chol[2], 0, accuracy: 1e-12)
        XCTAssertEqual(chol[5], 0, accuracy: 1e-12)
        let sym = matrices[ColorMatch.allCases.firstIndex(of: .sym)!]
        XCTAssertLessThanOrEqual(Self.relativeFrobenius(ColorMatch.transpose(sym), sym), 1e-9)
        let pca = matrices[ColorMatch.allCases.firstIndex(of: .pca)!]
        XCTAssertGreaterThan(Self.relativeFrobenius(pca, sym), 1e-3)
    }

    func testCholeskyFactorAndJacobiEigendecomposition() {
        let s = Self.styleImage().colorStatistics.covariance
        let l = ColorMatch.cholesky(s)
        XCTAssertEqual(l[1], 0); XCTAssertEqual(l[2], 0); XCTAssertEqual(l[5], 0)
        XCTAssertLessThanOrEqual(Self.relativeFrobenius(ColorMatch.multiply(l, ColorMatch.transpose(l)), s), 1e-12)
        XCTAssertLessThanOrEqual(Self.relativeFrobenius(ColorMatch.multiply(l, ColorMatch.lowerInverse(l)),
                                                        ColorMatch.identity), 1e-12)

        let (values, q) = ColorMatch.symmetricEigen(s)
        XCTAssertGreaterThanOrEqual(values[0], values[1])
        XCTAssertGreaterThanOrEqual(values[1], values[2])
        XCTAssertGreaterThan(values[2], 0)
        let lambda: [Double] = [values[0], 0, 0, 0, values[1], 0, 0, 0, values[2]]
        let rebuilt = ColorMatch.multiply(ColorMatch.multiply(q, lambda), ColorMatch.transpose(q))
        XCTAssertLessThanOrEqual(Self.relativeFrobenius(rebuilt, s), 1e-12)
        XCTAssertLessThanOrEqual(Self.relativeFrobenius(ColorMatch.multiply(ColorMatch.transpose(q), q),
                                                        ColorMatch.identity), 1e-12)
        // Σ^½ Σ^½ = Σ and Σ^½ Σ^-½ = I
        let half = ColorMatch.symmetricPower(s, 0.5), minusHalf = ColorMatch.symmetricPower(s, -0.5)
        XCTAssertLessThanOrEqual(Self.relativeFrobenius(ColorMatch.multiply(half, half), s), 1e-12)
        XCTAssertLessThanOrEqual(Self.relativeFrobenius(ColorMatch.multiply(half, minusHalf), ColorMatch.identity), 1e-12)
        // a matrix with a known spectrum: diag(5, 3, 1) rotated
        let known = ColorMatch.symmetricEigen([4, 1, 0, 1, 4, 0, 0, 0, 1])
        XCTAssertEqual(known.values[0], 5, accuracy: 1e-12)
        XCTAssertEqual(known.values[1], 3, accuracy: 1e-12)
        XCTAssertEqual(known.values[2], 1, accuracy: 1e-12)
    }

    func testFlatImageMatchedToColourfulTargetIsFinite() {
        let flat = RGBImage(width: 8, height: 6, pixels: [Float](repeating: 0, count: 8 * 6 * 3).enumerated()
            .map { [Float(200), 40, 90][$0.offset % 3] })
        let content = Self.contentImage()
        let t = content.colorStatistics
        for method in ColorMatch.allCases {
            let r = flat.colorMatched(to: content, method: method)
            XCTAssertTrue(r.pixels.allSatisfy { $0.isFinite }, "\(method)")
            // every pixel equals the mean, so the result is the target's mean colour
            for p in 0..<(r.width * r.height) {
                for c in 0..<3 { XCTAssertEqual(Double(r.pixels[p * 3 + c]), t.mean[c], accuracy: 1e-3) }
            }
        }
        // and the other way round: a colourful image matched to a flat one collapses to its colour
        for method in ColorMatch.allCases {
            let r = content.colorMatched(to: flat, method: method)
            XCTAssertTrue(r.pixels.allSatisfy { $0.isFinite }, "\(method) to flat")
        }
    }

    func testClampedKeepsSamplesIn0To255() {
        let img = RGBImage(width: 2, height: 1, pixels: [-10, 0, 12.5, 255, 300, 254.9])
        XCTAssertEqual(img.clamped().pixels, [0, 0, 12.5, 255, 255, 254.9])
    }

    // MARK: YIQ and luminance

    func testYIQRoundTrip() {
        var rng = SeededRandom(seed: 99)
        for _ in 0..<2000 {
            let r = rng.uniform(-20, 280), g = rng.uniform(-20, 280), b = rng.uniform(-20, 280)
            let (y, i, q) = RGBImage.yiq(fromRGB: r, g, b)
            let (r2, g2, b2) = RGBImage.rgb(fromYIQ: y, i, q)
            XCTAssertEqual(r2, r, accuracy: 1e-3)
            XCTAssertEqual(g2, g, accuracy: 1e-3)
            XCTAssertEqual(b2, b, accuracy: 1e-3)
        }
        // the standard matrix: white has Y = 255 and no chroma
        let (y, i, q) = RGBImage.yiq(fromRGB: 255, 255, 255)
        XCTAssertEqual(y, 255, accuracy: 1e-3)
        XCTAssertEqual(i, 0, accuracy: 1e-3)
        XCTAssertEqual(q, 0, accuracy: 1e-3)
        XCTAssertEqual(RGBImage.yiq(fromRGB: 100, 0, 0).0, 29.9, accuracy: 1e-4)
    }

    func testWithLuminanceKeepsChromaAndTakesSourceLuminance() {
        let me = Self.randomImage(width: 13, height: 9, seed: 1)
        let source = Self.randomImage(width: 13, height: 9, seed: 2)
        let r = me.withLuminance(of: source)
        let sourceY = source.luminancePlane
        var maxChange: Float = 0
        for p in 0..<(r.width * r.height) {
            let (y, i, q) = RGBImage.yiq(fromRGB: r.pixels[p * 3], r.pixels[p * 3 + 1], r.pixels[p * 3 + 2])
            let (_, i0, q0) = RGBImage.yiq(fromRGB: me.pixels[p * 3], me.pixels[p * 3 + 1], me.pixels[p * 3 + 2])
            XCTAssertEqual(i, i0, accuracy: 1 / 255)
            XCTAssertEqual(q, q0, accuracy: 1 / 255)
            XCTAssertEqual(y, sourceY[p], accuracy: 1e-3)
            maxChange = max(maxChange, abs(r.pixels[p * 3] - me.pixels[p * 3]))
        }
        XCTAssertGreaterThan(maxChange, 10, "the luminance really changed")
    }

    func testLuminanceImageIsGreyAndMatchedToOther() {
        let me = Self.styleImage(), other = Self.contentImage()
        let grey = me.luminanceImage()
        let y = me.luminancePlane
        for p in 0..<(me.width * me.height) {
            XCTAssertEqual(grey.pixels[p * 3], y[p])
            XCTAssertEqual(grey.pixels[p * 3 + 1], y[p])
            XCTAssertEqual(grey.pixels[p * 3 + 2], y[p])
        }

        let matched = me.luminanceImage(matchedTo: other)
        XCTAssertEqual(matched.width, me.width)
        XCTAssertEqual(matched.height, me.height)
        var plane = [Float]()
        for p in 0..<(matched.width * matched.height) {
            XCTAssertEqual(matched.pixels[p * 3], matched.pixels[p * 3 + 1])
            XCTAssertEqual(matched.pixels[p * 3], matched.pixels[p * 3 + 2])
            plane.append(matched.pixels[p * 3])
        }
        let got = RGBImage.meanAndDeviation(plane), want = RGBImage.meanAndDeviation(other.luminancePlane)
        let before = RGBImage.meanAndDeviation(y)
        XCTAssertGreaterThan(abs(before.mean - want.mean), 1, "the fixtures differ in mean luminance")
        XCTAssertGreaterThan(abs(before.deviation - want.deviation), 1, "and in spread")
        XCTAssertEqual(got.mean, want.mean, accuracy: 1e-3)
        XCTAssertEqual(got.deviation, want.deviation, accuracy: 1e-3)

        // a flat image has σ = 0: every pixel becomes the other's mean
        let flat = RGBImage(width: 3, height: 2, pixels: [Float](repeating: 77, count: 18))
        let flatMatched = flat.luminanceImage(matchedTo: other)
        for v in flatMatched.pixels { XCTAssertEqual(Double(v), want.mean, accuracy: 1e-3) }
    }
}
