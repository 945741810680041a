import CBLAS
import Foundation

/// Winograd F(2×2, 3×3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
/// Networks"): each 2×2 block of outputs comes from a 4×4 block of inputs with 16 multiplies per
/// input channel instead of 36, so the GEMM work falls 2.25×.
///
///   U = G g Gᵀ (weights, once per weight tensor, cached)   V = Bᵀ d B (input tiles)
///   M_ξ = U_ξ · V_ξ for each of the 16 positions ξ (16 SGEMMs: Cout×Cin by Cin×tiles)
///   Y = Aᵀ M A (outputs)
///
/// Layout: V[ξ][c][t] and M[ξ][o][t] over the tiles t of a band of tile rows, sized to fit
/// `Parameters.im2colBudget` floats. The cache of transformed weights is dropped for a tensor
/// whenever the backend writes it (upload, fill, copy). Tile (ty, tx) reads input rows 2ty−1…2ty+2 and columns
/// 2tx−1…2tx+2 (zero outside the image) and writes output rows 2ty, 2ty+1, columns 2tx, 2tx+1.
/// Transformed weights, kept while the weight tensor they came from lives.
struct WinogradWeights {
    weak var source: Storage?
    let transformed: CPUStorage
}

extension CPUBackend {
    /// U for a weight tensor: 16 × Cout × Cin, cached by the tensor's storage.
    func winogradWeights(_ weight: Tensor, cout: Int, cin: Int) -> UnsafeMutablePointer<Float> {
        let key = ObjectIdentifier(weight.storage)
        if let cached = winogradCache[key], cached.source === weight.storage { return cached.transformed.pointer }
        // entries whose weights are gone (their identifier may be reused) are dropped
        winogradCache = winogradCache.filter { $0.value.source != nil }
        let u = CPUStorage(count: 16 * cout * cin)
        let up = u.pointer, wp = weight.cpu
        DispatchQueue.concurrentPerform(iterations: cout) { o in
          withUnsafeTemporaryAllocation(of: Float.self, capacity: 12) { tb in
            let t = tb.baseAddress!
            for c in 0..<cin {
                let g = wp + (o * cin + c) * 9
                // t = G·g (4×3): rows g0, (g0+g1+g2)/2, (g0−g1+g2)/2, g2
                for j in 0..<3 {
                    let a = g[j], b = g[3 + j], d = g[6 + j]
                    t[j] = a; t[3 + j] = (a + b + d) * 0.5; t[6 + j] = (a - b + d) * 0.5; t[9 + j] = d
                }
                // U = t·Gᵀ (4×4)
                for r in 0..<4 {
                    let a = t[r * 3], b = t[r * 3 + 1], d = t[r * 3 + 2]
                    up[((r * 4 + 0) * cout + o) * cin + c] = a
                    up[((r * 4 + 1) * cout + o) * cin + c] = (a + b + d) * 0.5
                    up[((r * 4 + 2) * cout + o) * cin + c] = (a - b + d) * 0.5
                    up[((r * 4 + 3) * cout + o) * cin + c] = d
                }
            }
          }
        }
        winogradCache[key] = WinogradWeights(source: weight.storage, transformed: u)
        return up
    }

    func conv3x3Winograd(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        let tilesH = (h + 1) / 2, tilesW = (w + 1) / 2
        let u = winogradWeights(weight, cout: cout, cin: cin)
        let bandRows = max(1, min(tilesH, parameters.im2colBudget / max(16 * (cin + cout) * tilesW, 1)))
        let maxTiles = bandRows * tilesW
        let v = scratchBuffer(16 * (cin + cout) * maxTiles)
        let m = v + 16 * cin * maxTiles
        let xp = x.cpu, yp = y.cpu
        let bp = bias?.cpu
        var ty0 = 0
        while ty0 < tilesH {
            let rows = min(bandRows, tilesH - ty0)
            let nt = rows * tilesW
            // input transform: V[ξ][c][t] = (Bᵀ d B)[ξ]
            DispatchQueue.concurrentPerform(iterations: cin) { c in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { tmp in
                    let plane = xp + c * h * w
                    let d = tmp.baseAddress!, t = d + 16
                    for tr in 0..<rows {
                        let iy = 2 * (ty0 + tr) - 1
                        for tx in 0..<tilesW {
                            let ix = 2 * tx - 1
                            for r in 0..<4 {
                                let yy = iy + r
                                for s in 0..<4 {
                                    let xx = ix + s
                                    d[r * 4 + s] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? plane[yy * w + xx] : 0
                                }
                            }
                            // t = Bᵀ d (rows): d0 − d2, d1 + d2, d2 − d1, d1 − d3
                            for s in 0..<4 {
                                let d0 = d[s], d1 = d[4 + s], d2 = d[8 + s], d3 = d[12 + s]
                                t[s] = d0 - d2; t[4 + s] = d1 + d2; t[8 + s] = d2 - d1; t[12 + s] = d1 - d3
                            }
                            let ti = tr * tilesW + tx
                            for r in 0..<4 {
                                let t0 = t[r * 4], t1 = t[r * 4 + 1], t2 = t[r * 4 + 2], t3 = t[r * 4 + 3]
                                let base = v + (r * 4) * cin * nt + c * nt + ti
                                base[0] = t0 - t2
                                base[cin * nt] = t1 + t2
                                base[2 * cin * nt] = t2 - t1
                                base[3 * cin * nt] = t1 - t3
                            }
                        }
                    }
                }
            }
            // 16 products M_ξ = U_ξ · V_ξ
            for xi in 0..<16 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(nt), Int32(cin), 1,
                            u + xi * cout * cin, Int32(cin), v + xi * cin * nt, Int32(nt), 0, m + xi * cout * nt, Int32(nt))
            }
            // output transform: Y = Aᵀ M A, plus bias
            DispatchQueue.concurrentPerform(iterations: cout) { o in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 24) { tmp in
                    let q = tmp.baseAddress!, t = q + 16
                    let out = yp + o * h * w
                    let b = bp.map { $0[o] } ?? 0
                    for tr in 0..<rows {
                        let oy = 2 * (ty0 + tr)
                        for tx in 0..<tilesW {
                            let ti = tr * tilesW + tx
                for xi in 0..<16 { q[xi] = m[(xi * cout + o) * nt + ti] }
                            // rows: m0 + m1 + m2, m1 − m2 − m3
                            for s in 0..<4 {
                                t[s] = q[s] + q[4 + s] + q[8 + s]
                                t[4 + s] = q[4 + s] - q[8 + s] - q[12 + s]
                            }
                            let ox = 2 * tx
                            for a in 0..<2 where oy + a < h {
                                let t0 = t[a * 4], t1 = t[a * 4 + 1], t2 = t[a * 4 + 2], t3 = t[a * 4 + 3]
                                out[(oy + a) * w + ox] = t0 + t1 + t2 + b
                                if ox + 1 < w { out[(oy + a) * w + ox + 1] = t1 - t2 - t3 + b }
                            }
                        }
                    }
                }
            }
            ty0 += rows
        }
    }
}
