import CBLAS
import Foundation

extension CPUBackend.Parameters {
    /// How the CPU backend computes a 3×3 convolution of a given shape.
    public enum ConvMethod: String { case im2col, winograd, col2im }

    public func convMethod(cin: Int, cout: Int) -> ConvMethod {
        if let minC = winogradMinChannels, cin >= minC, cout >= minC { return .winograd }
        if col2imForFewOutputs, cout * 9 <= cin { return .col2im }
        return .im2col
    }

    /// Rows per band: image rows (im2col, col2im) or tile rows (Winograd).
    public func convBandRows(_ method: ConvMethod, cin: Int, cout: Int, height h: Int, width w: Int) -> Int {
        switch method {
        case .im2col: return max(1, min(h, im2colBudget / max(cin * 9 * w, 1)))
        case .col2im: return max(1, min(h, im2colBudget / max(9 * cout * w, 1) - 2))
        case .winograd:
            let m = winogradTile(height: h, width: w), positions = (m + 2) * (m + 2)
            let tilesW = max(1, (w + m - 1) / m), tilesH = max(1, (h + m - 1) / m)
            let budgetRows = winogradBandBudget / max(positions * (cin + cout) * tilesW, 1)
            let minRows = (winogradMinTiles + tilesW - 1) / tilesW
            return max(1, min(tilesH, max(budgetRows, minRows)))
        }
    }

    /// Floats of scratch a convolution of this shape uses (the memory model counts the largest).
    public func convScratchFloats(cin: Int, cout: Int, height h: Int, width w: Int) -> Int {
        convScratchFloats(convMethod(cin: cin, cout: cout), cin: cin, cout: cout, height: h, width: w)
    }

    /// Floats of scratch `method` uses for this shape: one band of its columns, transforms or partial planes.
    public func convScratchFloats(_ method: ConvMethod, cin: Int, cout: Int, height h: Int, width w: Int) -> Int {
        let rows = convBandRows(method, cin: cin, cout: cout, height: h, width: w)
        switch method {
        case .im2col: return cin * 9 * rows * w
        case .col2im: return 9 * cout * (rows + 2) * w
        case .winograd:
            let m = winogradTile(height: h, width: w)
            return (m + 2) * (m + 2) * (cin + cout) * rows * ((w + m - 1) / m)
        }
    }
}

extension CPUBackend {
    /// y = conv3x3(x, W) + b, by the method `parameters` picks for the shape; every method is
    /// checked against im2col + GEMM by the parity table.
    public func conv3x3(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) throws {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        precondition(y.shape == Shape(cout, h, w) && weight.count == cout * cin * 9)
        let flops = 2.0 * Double(cout) * Double(cin * 9) * Double(h * w)
        switch parameters.convMethod(cin: cin, cout: cout) {
        case .winograd: timed("conv3x3_winograd", .flops(flops)) { conv3x3Winograd(x, weight: weight, bias: bias, into: y) }
        case .col2im: timed("conv3x3_col2im", .flops(flops)) { conv3x3Col2im(x, weight: weight, bias: bias, into: y) }
        case .im2col: timed("conv3x3", .flops(flops)) { conv3x3Im2col(x, weight: weight, bias: bias, into: y) }
        }
    }

    /// im2col in row bands + SGEMM: y[Cout, band] = W[Cout, Cin·9] · col[Cin·9, band].
    func conv3x3Im2col(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        let k = cin * 9
        let bandRows = parameters.convBandRows(.im2col, cin: cin, cout: cout, height: h, width: w)
        let col = scratchBuffer(parameters.convScratchFloats(.im2col, cin: cin, cout: cout, height: h, width: w))
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
            CPUGEMM.columns(m: cout, n: n, k: k, alpha: 1, a: wp, lda: k, b: col, ldb: n,
                            beta: bias == nil ? 0 : 1, c: yp + r0 * w, ldc: h * w)
            r0 += rows
        }
    }

    /// For few output channels and many inputs (the backward pass of conv1_1, 64 → 3), im2col
    /// would copy the input nine times for a GEMM with only `cout` rows. Instead, per band of
    /// input rows, one GEMM per output channel gives the nine shifted partial planes
    ///   Z_o[ky·3 + kx, p] = Σ_c w[o, c, ky, kx] · x[c, p]      (9 × band, K = cin)
    /// and y[o, i, j] = Σ_{ky,kx} Z_o[ky·3 + kx, (i + ky − 1, j + kx − 1)], zero outside the image.
    /// A band of output rows r0..<r0+rows reads input rows r0 − 1 ... r0 + rows.
    func conv3x3Col2im(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        let bandRows = parameters.convBandRows(.col2im, cin: cin, cout: cout, height: h, width: w)
        let z = scratchBuffer(parameters.convScratchFloats(.col2im, cin: cin, cout: cout, height: h, width: w))
        let xp = x.cpu, yp = y.cpu, wp = weight.cpu
        var r0 = 0
        while r0 < h {
            let rows = min(bandRows, h - r0)
            let in0 = max(r0 - 1, 0), in1 = min(r0 + rows + 1, h)   // input rows read
            let n = (in1 - in0) * w
            for o in 0..<cout {
                CPUGEMM.columns(transA: true, m: 9, n: n, k: cin, alpha: 1, a: wp + o * cin * 9, lda: 9,
                                b: xp + in0 * w, ldb: h * w, beta: 0, c: z + o * 9 * n, ldc: n)
            }
            DispatchQueue.concurrentPerform(iterations: cout * rows) { job in
                let o = job / rows, i = r0 + job % rows
                let out = yp + o * h * w + i * w
                out.update(repeating: bias.map { $0.cpu[o] } ?? 0, count: w)
                for ky in 0..<3 {
                    let sy = i + ky - 1
                    if sy < 0 || sy >= h { continue }
                    for kx in 0..<3 {
                        let src = z + (o * 9 + ky * 3 + kx) * n + (sy - in0) * w
                        // out[j] += src[j + kx − 1] for j + kx − 1 in [0, w)
                        let lo = kx == 0 ? 1 : 0, hi = kx == 2 ? w - 1 : w
                        let shifted = src + kx - 1
                        for j in lo..<hi { out[j] += shifted[j] }
                    }
                }
            }
            r0 += rows
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
            parallel(x.count) { r in
                @inline(__always) func step<L: FloatLanes>(_ i: Int, _: L.Type) { L.load(xp + i).relu().store(yp + i) }
                forEachLane(r, wide: { step($0, SIMD4<Float>.self) }, narrow: { step($0, Float.self) })
            }
        }
    }

    public func reluBackward(_ dy: Tensor, output y: Tensor, into dx: Tensor) throws {
        let gp = dy.cpu, yp = y.cpu, dp = dx.cpu
        timed("relu_backward", .bytes(12.0 * Double(y.count))) {
            // a vector select (Lanes.swift)
            parallel(y.count) { r in
                @inline(__always) func step<L: FloatLanes>(_ i: Int, _: L.Type) {
                    L.load(gp + i).wherePositive(L.load(yp + i)).store(dp + i)
                }
                forEachLane(r, wide: { step($0, SIMD4<Float>.self) }, narrow: { step($0, Float.self) })
            }
        }
    }
}
