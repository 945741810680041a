import CBLAS
import Foundation

extension CPUBackend {
    /// im2col in row bands + SGEMM: y[Cout, band] = W[Cout, Cin·9] · col[Cin·9, band].
    public func conv3x3(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) throws {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        precondition(y.shape == Shape(cout, h, w) && weight.count == cout * cin * 9)
        let k = cin * 9
        let flops = 2.0 * Double(cout) * Double(k) * Double(h * w)
        if let minC = parameters.winogradMinChannels, cin >= minC, cout >= minC {
            return timed("conv3x3_winograd", .flops(flops)) { conv3x3Winograd(x, weight: weight, bias: bias, into: y) }
        }
        let bandRows = max(1, min(h, parameters.im2colBudget / max(k * w, 1)))
        let col = scratchBuffer(k * bandRows * w)
        timed("conv3x3", .flops(flops)) {
            let xp = x.cpu, yp = y.cpu, wp = weight.cpu
            var r0 = 0
            while r0 < h {
                let rows = min(bandRows, h - r0)
                im2col(xp, channels: cin, height: h, width: w, firstRow: r0, rows: rows, into: col)
                let n = rows * w
                if let b = bias {
                    let bp = b.cpu
                    for o in 0..<cout { (yp + o * h * w + r0 * w).update(repeating: bp[o], count: n) }
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(n), Int32(k),
                            1, wp, Int32(k), col, Int32(n), bias == nil ? 0 : 1, yp + r0 * w, Int32(h * w))
                r0 += rows
            }
        }
    }

    /// col[(c·9 + ky·3 + kx), i·W + j] = x[c, r0 + i + ky − 1, j + kx − 1], zero outside the image.
    func im2col(_ x: UnsafeMutablePointer<Float>, channels: Int, height h: Int, width w: Int,
                firstRow r0: Int, rows: Int, into col: UnsafeMutablePointer<Float>) {
        let n = rows * w
        DispatchQueue.concurrentPerform(iterations: channels) { c in
            let plane = x + c * h * w
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let dst = col + ((c * 3 + ky) * 3 + kx) * n
                    for i in 0..<rows {
                        let sy = r0 + i + ky - 1
                        let d = dst + i * w
                        if sy < 0 || sy >= h { d.update(repeating: 0, count: w); continue }
                        let s = plane + sy * w
                        // j + kx − 1 in range for j in [lo, hi)
                        let lo = kx == 0 ? 1 : 0
                        let hi = kx == 2 ? w - 1 : w
                        if lo > 0 { d[0] = 0 }
                        if hi < w { d[w - 1] = 0 }
                        if hi > lo { (d + lo).update(from: s + lo + kx - 1, count: hi - lo) }
                    }
                }
            }
        }
    }

    public func relu(_ x: Tensor, into y: Tensor) throws {
        let xp = x.cpu, yp = y.cpu
        timed("relu", .bytes(8.0 * Double(x.count))) {
            parallel(x.count) { r in for i in r { yp[i] = max(xp[i], 0) } }
        }
    }

    public func reluBackward(_ dy: Tensor, output y: Tensor, into dx: Tensor) throws {
        let gp = dy.cpu, yp = y.cpu, dp = dx.cpu
        timed("relu_backward", .bytes(12.0 * Double(y.count))) {
            parallel(y.count) { r in for i in r { dp[i] = yp[i] > 0 ? gp[i] : 0 } }
        }
    }
}
