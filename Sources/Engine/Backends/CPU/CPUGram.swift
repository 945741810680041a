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
            var s = 0.0
            for i in 0..<n { s += Double(src[i]) }
            let mean = Float(s / Double(n))
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
            // the upper triangle by blocks of 16 rows, G[i0..<i1, i0...] = F[i0..<i1]·F[i0...]ᵀ / n,
            // in parallel (single-threaded SGEMMs, see CPUGEMM); then the mirror image
            let rows = 16
            DispatchQueue.concurrentPerform(iterations: (c + rows - 1) / rows) { blk in
                let i0 = blk * rows, m = min(rows, c - i0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(c - i0), Int32(n), 1 / Float(n),
                            fp + i0 * n, Int32(n), fp + i0 * n, Int32(n), 0, gp + i0 * c + i0, Int32(c))
            }
            for i in 0..<c { for j in 0..<i { gp[i * c + j] = gp[j * c + i] } }
        }
    }

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
