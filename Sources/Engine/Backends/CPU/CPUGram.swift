import CBLAS
import Foundation

extension CPUBackend {
    /// F, or F with each channel's spatial mean subtracted (into scratch) when centred.
    func gramFeatures(_ f: Tensor, centered: Bool) -> UnsafeMutablePointer<Float> {
        guard centered else { return f.cpu }
        let c = f.shape.channels, n = f.shape.plane
        let fc = scratchBuffer(f.count)
        let fp = f.cpu
        DispatchQueue.concurrentPerform(iterations: c) { ch in
            let src = fp + ch * n, dst = fc + ch * n
            let mean = Float(Self.channelSum(src, n) / Double(n))
            for i in 0..<n { dst[i] = src[i] - mean }
        }
        return fc
    }

    public func gram(_ f: Tensor, centered: Bool, into g: Tensor) throws {
        let c = f.shape.channels, n = f.shape.plane
        precondition(g.count == c * c)
        timed("gram", .flops(Double(c) * Double(c + 1) * Double(n))) {
            let fp = gramFeatures(f, centered: centered)
            let gp = g.cpu
            // The sum over pixels in `parts` slices, each a single-threaded SSYRK (the upper
            // triangle of F[:, slice]·F[:, slice]ᵀ / n) run in parallel; then the slices' triangles
            // are added in slice order and mirrored. The slice count depends on n alone, so the
            // bits do not depend on the number of threads. Row blocks of one SGEMM over all n, as
            // before, ran at 65–105 GFLOP/s (c(c+1)n) on a 2-core Xeon: few blocks, and each packed
            // its share of F again; slices, 100–235 (README, Performance).
            let parts = Self.gramSlices(n)
            let slice = (n + parts - 1) / parts
            var partial = [Float](repeating: 0, count: parts * c * c)
            partial.withUnsafeMutableBufferPointer { pp in
                let base = pp.baseAddress!
                DispatchQueue.concurrentPerform(iterations: parts) { k in
                    let k0 = k * slice, len = min(slice, n - k0)
                    guard len > 0 else { return }
                    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(c), Int32(len), 1 / Float(n),
                                fp + k0, Int32(n), 0, base + k * c * c, Int32(c))
                }
                DispatchQueue.concurrentPerform(iterations: c) { i in
                    for j in i..<c {
                        var s: Float = 0
                        for k in 0..<parts { s += base[k * c * c + i * c + j] }
                        gp[i * c + j] = s
                    }
                }
            }
            for i in 0..<c { for j in 0..<i { gp[i * c + j] = gp[j * c + i] } }
        }
    }

    /// Slices of the pixel sum in `gram`: 2 to 16, about 4096 pixels each (the fastest of 2, 4, 8
    /// and 16 on a 2-core Xeon for VGG-19's style layers at 512²).
    static func gramSlices(_ n: Int) -> Int { min(16, max(2, n / 4096)) }

    public func accumulateGramBackward(_ dg: Tensor, features f: Tensor, centered: Bool, into df: Tensor) throws {
        let c = f.shape.channels, n = f.shape.plane
        timed("gram_backward", .flops(2.0 * Double(c) * Double(c) * Double(n))) {
            // Centring needs no extra term: rows of (dG + dGᵀ)·Fc already have zero mean.
            let fp = gramFeatures(f, centered: centered)
            var s = [Float](repeating: 0, count: c * c)
            let gp = dg.cpu
            for i in 0..<c { for j in 0..<c { s[i * c + j] = gp[i * c + j] + gp[j * c + i] } }
            CPUGEMM.columns(m: c, n: n, k: c, alpha: 1 / Float(n), a: s, lda: c, b: fp, ldb: n, beta: 1, c: df.cpu, ldc: n)
        }
    }
}
