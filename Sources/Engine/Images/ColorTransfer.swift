import Foundation

/// How a colour distribution is matched to another (Gatys, Ecker, Bethge, Hertzmann, Shechtman,
/// "Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017; Gatys et al., "Preserving
/// Color in Neural Artistic Style Transfer", 2016, §2.1).
///
/// Source pixels with mean μs and covariance Σs are mapped to p' = A(p − μs) + μt, where A is a
/// 3×3 matrix with A Σs Aᵀ = Σt, so the result has the target's mean μt and covariance Σt. The
/// methods differ only in which A they choose:
/// - `cholesky`: A = Lt Ls⁻¹, with Σ = L Lᵀ the lower Cholesky factors;
/// - `pca`: A = Σt^½ Σs^-½, the symmetric square roots from the eigendecompositions,
///   (Qt Λt^½ Qtᵀ)(Qs Λs^-½ Qsᵀ);
/// - `sym`: A = Σs^-½ (Σs^½ Σt Σs^½)^½ Σs^-½, the symmetric form of "image analogies".
///
/// Matrices are 3×3, row-major `[Double]` of 9 elements.
public enum ColorMatch: String, CaseIterable, Sendable {
    case pca, cholesky, sym

    /// The matrix A of this method, with A Σs Aᵀ = Σt. Both covariances must be positive definite
    /// (`colorMatched` adds a ridge first).
    func matrix(source cs: [Double], target ct: [Double]) -> [Double] {
        switch self {
        case .cholesky:
            // A = Lt · Ls⁻¹: A Σs Aᵀ = Lt Ls⁻¹ Ls Lsᵀ Ls⁻ᵀ Ltᵀ = Lt Ltᵀ = Σt
            return Self.multiply(Self.cholesky(ct), Self.lowerInverse(Self.cholesky(cs)))
        case .pca:
            // A = Σt^½ · Σs^-½: A Σs Aᵀ = Σt^½ Σs^-½ Σs Σs^-½ Σt^½ = Σt
            return Self.multiply(Self.symmetricPower(ct, 0.5), Self.symmetricPower(cs, -0.5))
        case .sym:
            // A = Σs^-½ M^½ Σs^-½ with M = Σs^½ Σt Σs^½:
            // A Σs Aᵀ = Σs^-½ M^½ Σs^-½ Σs Σs^-½ M^½ Σs^-½ = Σs^-½ M Σs^-½ = Σt
            let half = Self.symmetricPower(cs, 0.5), minusHalf = Self.symmetricPower(cs, -0.5)
            let m = Self.symmetrized(Self.multiply(Self.multiply(half, ct), half))
            return Self.multiply(Self.multiply(minusHalf, Self.symmetricPower(m, 0.5)), minusHalf)
        }
    }

    // MARK: 3×3 linear algebra (row-major, Double)

    /// The 3×3 identity.
    static let identity: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]

    /// C = A B.
    static func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
        var c = [Double](repeating: 0, count: 9)
        for i in 0..<3 {
            for j in 0..<3 {
                c[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j]
            }
        }
        return c
    }

    /// Aᵀ.
    static func transpose(_ a: [Double]) -> [Double] {
        [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]]
    }

    /// (A + Aᵀ)/2: removes the rounding asymmetry of a product that is symmetric in exact arithmetic.
    static func symmetrized(_ a: [Double]) -> [Double] {
        let t = transpose(a)
        return (0..<9).map { (a[$0] + t[$0]) / 2 }
    }

    /// The lower-triangular L with L Lᵀ = Σ (Cholesky–Banachiewicz):
    /// L_jj = √(Σ_jj − Σ_k<j L_jk²), L_ij = (Σ_ij − Σ_k<j L_ik L_jk) / L_jj for i > j.
    /// A pivot that rounding makes ≤ 0 is floored at 1e-300 so the factor stays finite.
    static func cholesky(_ s: [Double]) -> [Double] {
        var l = [Double](repeating: 0, count: 9)
        for j in 0..<3 {
            var d = s[j * 3 + j]
            for k in 0..<j { d -= l[j * 3 + k] * l[j * 3 + k] }
            let ljj = max(d, 1e-300).squareRoot()
            l[j * 3 + j] = ljj
            for i in (j + 1)..<3 {
                var v = s[i * 3 + j]
                for k in 0..<j { v -= l[i * 3 + k] * l[j * 3 + k] }
                l[i * 3 + j] = v / ljj
            }
        }
        return l
    }

    /// L⁻¹ of a lower-triangular L, by forward substitution on each column of the identity:
    /// X_ij = (δ_ij − Σ_j≤k<i L_ik X_kj) / L_ii.
    static func lowerInverse(_ l: [Double]) -> [Double] {
        var x = [Double](repeating: 0, count: 9)
        for j in 0..<3 {
            for i in j..<3 {
                var v: Double = i == j ? 1 : 0
                for k in j..<i { v -= l[i * 3 + k] * x[k * 3 + j] }
                x[i * 3 + j] = v / l[i * 3 + i]
            }
        }
        return x
    }

    /// The eigendecomposition Σ = Q Λ Qᵀ of a symmetric 3×3 matrix by cyclic Jacobi rotations.
    /// Each rotation in the (p, q) plane zeroes Σ_pq (Golub & Van Loan, §8.5): with
    /// θ = (Σ_qq − Σ_pp) / (2 Σ_pq), t = sign(θ) / (|θ| + √(θ² + 1)), c = 1/√(t² + 1), s = t c,
    /// Σ ← Jᵀ Σ J and Q ← Q J. Sweeps (0,1), (0,2), (1,2) in that order, until the off-diagonal
    /// norm is under 1e-15 of the Frobenius norm or after 50 sweeps, so the result is
    /// deterministic. Eigenvalues are sorted in decreasing order, with Q's columns to match.
    static func symmetricEigen(_ s: [Double]) -> (values: [Double], vectors: [Double]) {
        var a = symmetrized(s)
        var q = identity
        let scale = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for _ in 0..<50 {
            let off = (2 * (a[1] * a[1] + a[2] * a[2] + a[5] * a[5])).squareRoot()
            if off <= 1e-15 * scale { break }
            for (p, r) in [(0, 1), (0, 2), (1, 2)] {
                let apq = a[p * 3 + r]
                if apq == 0 { continue }
                let theta = (a[r * 3 + r] - a[p * 3 + p]) / (2 * apq)
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), sn = t * c
                // Σ ← Σ J (columns p, r), then Σ ← Jᵀ Σ (rows p, r)
                for k in 0..<3 {
                    let akp = a[k * 3 + p], akr = a[k * 3 + r]
                    a[k * 3 + p] = c * akp - sn * akr
                    a[k * 3 + r] = sn * akp + c * akr
                }
                for k in 0..<3 {
                    let apk = a[p * 3 + k], ark = a[r * 3 + k]
                    a[p * 3 + k] = c * apk - sn * ark
                    a[r * 3 + k] = sn * apk + c * ark
                }
                a[p * 3 + r] = 0
                a[r * 3 + p] = 0
                for k in 0..<3 {
                    let qkp = q[k * 3 + p], qkr = q[k * 3 + r]
                    q[k * 3 + p] = c * qkp - sn * qkr
                    q[k * 3 + r] = sn * qkp + c * qkr
                }
            }
        }
        let order = [0, 1, 2].sorted { a[$0 * 3 + $0] > a[$1 * 3 + $1] }
        let values = order.map { a[$0 * 3 + $0] }
        var vectors = [Double](repeating: 0, count: 9)
        for (col, src) in order.enumerated() {
            for k in 0..<3 { vectors[k * 3 + col] = q[k * 3 + src] }
        }
        return (values, vectors)
    }

    /// Σ^power = Q Λ^power Qᵀ for a symmetric positive (semi-)definite Σ. Eigenvalues that rounding
    /// makes negative are taken as 0; a negative power of a zero eigenvalue is infinite, so callers
    /// pass a matrix with a ridge.
    static func symmetricPower(_ s: [Double], _ power: Double) -> [Double] {
        let (values, q) = symmetricEigen(s)
        let d = values.map { pow(max($0, 0), power) }
        var out = [Double](repeating: 0, count: 9)
        for i in 0..<3 {
            for j in 0..<3 {
                out[i * 3 + j] = q[i * 3] * d[0] * q[j * 3] + q[i * 3 + 1] * d[1] * q[j * 3 + 1]
                    + q[i * 3 + 2] * d[2] * q[j * 3 + 2]
            }
        }
        return out
    }

    /// Σ + εI with ε = 1e-5 · trace(Σ)/3 + 1e-8: keeps the inverse square roots and Cholesky
    /// inverses finite for flat (single-colour) images, and changes a real image's statistics by
    /// about 1e-5 relative.
    static func withRidge(_ s: [Double]) -> [Double] {
        let eps = 1e-5 * (s[0] + s[4] + s[8]) / 3 + 1e-8
        var r = s
        r[0] += eps; r[4] += eps; r[8] += eps
        return r
    }
}

extension RGBImage {
    // MARK: colour statistics and matching

    /// The mean μ of (R, G, B) and the 3×3 covariance Σ = (1/N) Σ_p (p − μ)(p − μ)ᵀ, row-major,
    /// over the N pixels, in Double (two passes: mean, then centred products).
    public var colorStatistics: (mean: [Double], covariance: [Double]) {
        let n = width * height
        var mean = [Double](repeating: 0, count: 3)
        for p in 0..<n {
            for c in 0..<3 { mean[c] += Double(pixels[p * 3 + c]) }
        }
        for c in 0..<3 { mean[c] /= Double(max(n, 1)) }
        var cov = [Double](repeating: 0, count: 9)
        for p in 0..<n {
            let d = (0..<3).map { Double(pixels[p * 3 + $0]) - mean[$0] }
            for i in 0..<3 {
                for j in i..<3 { cov[i * 3 + j] += d[i] * d[j] }
            }
        }
        for i in 0..<3 {
            for j in i..<3 {
                cov[i * 3 + j] /= Double(max(n, 1))
                cov[j * 3 + i] = cov[i * 3 + j]
            }
        }
        return (mean, cov)
    }

    /// Self's pixels moved to the colour distribution of `target`: p' = A(p − μs) + μt, with μs, Σs
    /// self's statistics, μt, Σt the target's, and A Σs Aᵀ = Σt chosen by `method` (see
    /// `ColorMatch`). Both covariances get a small ridge first (`ColorMatch.withRidge`), so a
    /// flat image gives finite values. The result is not clamped: its mean and covariance are the
    /// target's; callers clamp (`clamped()`) before writing.
    public func colorMatched(to target: RGBImage, method: ColorMatch) -> RGBImage {
        let source = colorStatistics, goal = target.colorStatistics
        let a = method.matrix(source: ColorMatch.withRidge(source.covariance),
                              target: ColorMatch.withRidge(goal.covariance))
        let n = width * height
        var out = [Float](repeating: 0, count: 3 * n)
        for p in 0..<n {
            let d = (0..<3).map { Double(pixels[p * 3 + $0]) - source.mean[$0] }
            for i in 0..<3 {
                out[p * 3 + i] = Float(a[i * 3] * d[0] + a[i * 3 + 1] * d[1] + a[i * 3 + 2] * d[2] + goal.mean[i])
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// The same image with every sample clamped to 0…255.
    public func clamped() -> RGBImage {
        RGBImage(width: width, height: height, pixels: pixels.map { min(255, max(0, $0)) })
    }

    // MARK: YIQ (NTSC) and luminance

    /// RGB → YIQ, row-major:
    /// Y = 0.299 R + 0.587 G + 0.114 B,
    /// I = 0.595716 R − 0.274453 G − 0.321263 B,
    /// Q = 0.211456 R − 0.522591 G + 0.311135 B.
    static let rgbToYIQ: [Double] = [
        0.299, 0.587, 0.114,
        0.595716, -0.274453, -0.321263,
        0.211456, -0.522591, 0.311135,
    ]

    /// YIQ → RGB: the exact inverse of `rgbToYIQ`, computed once in Double as adj(M)/det(M), so
    /// rgb(fromYIQ:) ∘ yiq(fromRGB:) is the identity to float precision.
    static let yiqToRGB: [Double] = {
        let m = rgbToYIQ
        // cofactor C_ij = (−1)^(i+j) · minor_ij; M⁻¹ = Cᵀ / det M
        func at(_ i: Int, _ j: Int) -> Double { m[(i % 3) * 3 + (j % 3)] }
        var cof = [Double](repeating: 0, count: 9)
        for i in 0..<3 {
            for j in 0..<3 {
                // cyclic indices give the signed 2×2 minor directly
                cof[i * 3 + j] = at(i + 1, j + 1) * at(i + 2, j + 2) - at(i + 1, j + 2) * at(i + 2, j + 1)
            }
        }
        let det = m[0] * cof[0] + m[1] * cof[1] + m[2] * cof[2]
        return ColorMatch.transpose(cof).map { $0 / det }
    }()

    /// M x for a 3×3 row-major M, in Double.
    static func apply3(_ m: [Double], _ x0: Float, _ x1: Float, _ x2: Float) -> (Float, Float, Float) {
        let a = Double(x0), b = Double(x1), c = Double(x2)
        return (Float(m[0] * a + m[1] * b + m[2] * c),
                Float(m[3] * a + m[4] * b + m[5] * c),
                Float(m[6] * a + m[7] * b + m[8] * c))
    }

    /// (Y, I, Q) of an RGB sample, on the same scale as the input (see `rgbToYIQ`).
    public static func yiq(fromRGB r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        apply3(rgbToYIQ, r, g, b)
    }

    /// (R, G, B) of a YIQ sample: the inverse of `yiq(fromRGB:)`.
    public static func rgb(fromYIQ y: Float, _ i: Float, _ q: Float) -> (Float, Float, Float) {
        apply3(yiqToRGB, y, i, q)
    }

    /// Y = 0.299 R + 0.587 G + 0.114 B of each pixel, row-major.
    public var luminancePlane: [Float] {
        (0..<(width * height)).map { Self.yiq(fromRGB: pixels[$0 * 3], pixels[$0 * 3 + 1], pixels[$0 * 3 + 2]).0 }
    }

    /// A grey image whose three channels are each self's luminance Y.
    public func luminanceImage() -> RGBImage {
        Self.grey(width: width, height: height, luminancePlane)
    }

    /// A grey image of self's luminance with its mean and standard deviation moved to those of
    /// `other`'s luminance: Y' = (Y − μ_self) · σ_other / σ_self + μ_other (population σ; when
    /// σ_self = 0, Y' = μ_other). Gatys et al. 2016 §2.2 match the style's luminance to the
    /// content's this way before luminance-only transfer. Not clamped.
    public func luminanceImage(matchedTo other: RGBImage) -> RGBImage {
        let y = luminancePlane
        let mine = Self.meanAndDeviation(y), theirs = Self.meanAndDeviation(other.luminancePlane)
        let gain = mine.deviation > 0 ? theirs.deviation / mine.deviation : 0
        let matched = y.map { Float((Double($0) - mine.mean) * gain + theirs.mean) }
        return Self.grey(width: width, height: height, matched)
    }

    /// Self's chroma (I, Q) with `source`'s luminance Y, converted back to RGB. Luminance-only
    /// transfer uses it to put the content's chroma under the result's luminance, and
    /// `--preserve-color post` (jcjohnson's original_colors) to put the content's chroma back onto
    /// the result. `source` must be the same size. Not clamped: callers clamp (`clamped()`).
    public func withLuminance(of source: RGBImage) -> RGBImage {
        precondition(source.width == width && source.height == height,
                     "withLuminance: \(source.width)×\(source.height) source for a \(width)×\(height) image")
        var out = [Float](repeating: 0, count: pixels.count)
        for p in 0..<(width * height) {
            let (_, i, q) = Self.yiq(fromRGB: pixels[p * 3], pixels[p * 3 + 1], pixels[p * 3 + 2])
            let y = Self.yiq(fromRGB: source.pixels[p * 3], source.pixels[p * 3 + 1], source.pixels[p * 3 + 2]).0
            let (r, g, b) = Self.rgb(fromYIQ: y, i, q)
            out[p * 3] = r; out[p * 3 + 1] = g; out[p * 3 + 2] = b
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// An image whose three channels are each `plane`.
    static func grey(width: Int, height: Int, _ plane: [Float]) -> RGBImage {
        var px = [Float](repeating: 0, count: plane.count * 3)
        for (p, v) in plane.enumerated() { px[p * 3] = v; px[p * 3 + 1] = v; px[p * 3 + 2] = v }
        return RGBImage(width: width, height: height, pixels: px)
    }

    /// μ = (1/N) Σ x and the population standard deviation σ = √((1/N) Σ (x − μ)²), in Double.
    static func meanAndDeviation(_ x: [Float]) -> (mean: Double, deviation: Double) {
        let n = Double(max(x.count, 1))
        let mean = x.reduce(0.0) { $0 + Double($1) } / n
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (mean, variance.squareRoot())
    }
}
