import CBLAS
import Foundation

/// The CPU side of Winograd F(m×m, 3×3) (see Winograd.swift): bands of tile rows, the input and
/// output transforms, and OpenBLAS for the α² products.
///
/// Layout: V[ξ][c][t] and M[ξ][o][t] over the tiles t of a band of tile rows, sized by
/// `Parameters.winogradBandBudget` and `winogradMinTiles`. Tile (ty, tx) reads input rows
/// m·ty − 1 … m·ty + m and the same columns (zero outside the image), and writes output rows and
/// columns m·ty … m·ty + m − 1 (those inside the image).
///
/// The transforms work a whole tile row at a time so that every loop is unit-stride: an input row,
/// zero-padded (padded column p is input column p − 1), is split into its m phases
/// P_k[t] = padded[m·t + k], and tile t's columns are then P_{s mod m}[t + s / m] for s < α.
extension CPUBackend {
    /// U for a weight tensor: α² × Cout × Cin, cached.
    func winogradWeights(_ weight: Tensor, cout: Int, cin: Int, _ f: WinogradTransform) -> UnsafeMutablePointer<Float> {
        if let u = winogradCache.lookup(weight, tile: f.m) { return unsafeDowncast(u, to: CPUStorage.self).pointer }
        let u = CPUStorage(count: f.alpha * f.alpha * cout * cin)
        f.transformWeights(weight.cpu, cout: cout, cin: cin, into: u.pointer)
        winogradCache.insert(u, for: weight, tile: f.m)
        return u.pointer
    }

    func conv3x3Winograd(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        let f = WinogradTransform.forTile(parameters.winogradTile(height: h, width: w))
        let positions = f.alpha * f.alpha
        let tilesH = (h + f.m - 1) / f.m, tilesW = (w + f.m - 1) / f.m
        let u = winogradWeights(weight, cout: cout, cin: cin, f)
        let bandRows = parameters.convBandRows(.winograd, cin: cin, cout: cout, height: h, width: w)
        let maxTiles = bandRows * tilesW
        let v = scratchBuffer(parameters.convScratchFloats(.winograd, cin: cin, cout: cout, height: h, width: w))
        let m = v + positions * cin * maxTiles
        let xp = x.cpu, yp = y.cpu
        let bp = bias?.cpu
        var ty0 = 0
        while ty0 < tilesH {
            let rows = min(bandRows, tilesH - ty0)
            let nt = rows * tilesW
            DispatchQueue.concurrentPerform(iterations: cin) { c in
                winogradInputRows(f, xp + c * h * w, height: h, width: w, firstTileRow: ty0, tileRows: rows,
                                  into: v + c * nt, positionStride: cin * nt)
            }
            // the α² independent products, each a single-threaded SGEMM (see CPUGEMM)
            DispatchQueue.concurrentPerform(iterations: positions) { xi in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(nt), Int32(cin), 1,
                            u + xi * cout * cin, Int32(cin), v + xi * cin * nt, Int32(nt), 0, m + xi * cout * nt, Int32(nt))
            }
            DispatchQueue.concurrentPerform(iterations: cout) { o in
                winogradOutputRows(f, m + o * nt, positionStride: cout * nt, bias: bp.map { $0[o] } ?? 0,
                                   height: h, width: w, firstTileRow: ty0, tileRows: rows, into: yp + o * h * w)
            }
            ty0 += rows
        }
    }

    /// V = Bᵀ d B for `tileRows` tile rows of one channel plane, written to
    /// v[ξ · positionStride + tileRow · tilesW + t].
    func winogradInputRows(_ f: WinogradTransform, _ plane: UnsafeMutablePointer<Float>, height h: Int, width w: Int,
                           firstTileRow ty0: Int, tileRows: Int,
                           into v: UnsafeMutablePointer<Float>, positionStride: Int) {
        let m = f.m, alpha = f.alpha
        let tilesW = (w + m - 1) / m, span = tilesW + 1, rowFloats = m * span
        // padded row, the α input rows split into phases, and their row combinations
        withUnsafeTemporaryAllocation(of: Float.self, capacity: (1 + 2 * alpha) * rowFloats) { buffer in
            let padded = buffer.baseAddress!, phases = padded + rowFloats, combined = phases + alpha * rowFloats
            padded.update(repeating: 0, count: rowFloats)
            for tr in 0..<tileRows {
                let iy = m * (ty0 + tr) - 1
                for r in 0..<alpha {
                    let dst = phases + r * rowFloats
                    let yy = iy + r
                    if yy < 0 || yy >= h { dst.update(repeating: 0, count: rowFloats); continue }
                    (padded + 1).update(from: plane + yy * w, count: w)
                    splitPhases(padded, m: m, span: span, into: dst)
                }
                let out = v + tr * tilesW
                if m == 2 {
                    winogradRows2(phases, count: rowFloats, into: combined)
                    for i in 0..<4 {
                        let row = combined + i * rowFloats
                        winogradInputColumns2(even: row, odd: row + span, count: tilesW,
                                              into: out + 4 * i * positionStride, stride: positionStride)
                    }
                } else {
                    winogradRows4(phases, count: rowFloats, into: combined)
                    for i in 0..<6 {
                        let row = combined + i * rowFloats
                        winogradInputColumns4(row, span: span, count: tilesW,
                                              into: out + 6 * i * positionStride, stride: positionStride)
                    }
                }
            }
        }
    }

    /// P_k[t] = padded[m·t + k] for t < span.
    @inline(__always)
    private func splitPhases(_ padded: UnsafeMutablePointer<Float>, m: Int, span: Int, into p: UnsafeMutablePointer<Float>) {
        if m == 2 {
            let p0 = p, p1 = p + span
            forEachLane(0..<span, wide: { t in
                let (e, o) = deinterleave2(.load(padded + 2 * t), .load(padded + 2 * t + 4))
                e.store(p0 + t); o.store(p1 + t)
            }, narrow: { t in p0[t] = padded[2 * t]; p1[t] = padded[2 * t + 1] })
        } else {
            let p0 = p, p1 = p + span, p2 = p + 2 * span, p3 = p + 3 * span
            forEachLane(0..<span, wide: { t in
                let q = padded + 4 * t
                let (a, b, c, d) = transpose4(.load(q), .load(q + 4), .load(q + 8), .load(q + 12))
                a.store(p0 + t); b.store(p1 + t); c.store(p2 + t); d.store(p3 + t)
            }, narrow: { t in
                p0[t] = padded[4 * t]; p1[t] = padded[4 * t + 1]; p2[t] = padded[4 * t + 2]; p3[t] = padded[4 * t + 3]
            })
        }
    }

    /// F(2, 3) Bᵀ over four rows r_0…r_3 (each `count` floats apart): r0 − r2, r1 + r2, r2 − r1, r1 − r3.
    @inline(__always)
    private func winogradRows2(_ r: UnsafeMutablePointer<Float>, count n: Int, into c: UnsafeMutablePointer<Float>) {
        @inline(__always) func step<L: FloatLanes>(_ q: Int, _: L.Type) {
            let d0 = L.load(r + q), d1 = L.load(r + n + q), d2 = L.load(r + 2 * n + q), d3 = L.load(r + 3 * n + q)
            (d0 - d2).store(c + q); (d1 + d2).store(c + n + q); (d2 - d1).store(c + 2 * n + q); (d1 - d3).store(c + 3 * n + q)
        }
        forEachLane(0..<n, wide: { step($0, SIMD4<Float>.self) }, narrow: { step($0, Float.self) })
    }

    /// F(2, 3) Bᵀ along a row whose columns are split into even E and odd O phases
    /// (tile t's columns are E[t], O[t], E[t+1], O[t+1]).
    @inline(__always)
    private func winogradInputColumns2(even e: UnsafeMutablePointer<Float>, odd o: UnsafeMutablePointer<Float>, count: Int,
                                       into v: UnsafeMutablePointer<Float>, stride: Int) {
        let v0 = v, v1 = v + stride, v2 = v + 2 * stride, v3 = v + 3 * stride
        @inline(__always) func step<L: FloatLanes>(_ t: Int, _: L.Type) {
            let d0 = L.load(e + t), d1 = L.load(o + t), d2 = L.load(e + t + 1), d3 = L.load(o + t + 1)
            (d0 - d2).store(v0 + t); (d1 + d2).store(v1 + t); (d2 - d1).store(v2 + t); (d1 - d3).store(v3 + t)
        }
        forEachLane(0..<count, wide: { step($0, SIMD4<Float>.self) }, narrow: { step($0, Float.self) })
    }

    /// F(4, 3) Bᵀ over six rows r_0…r_5 (each `count` floats apart).
    @inline(__always)
    private func winogradRows4(_ r: UnsafeMutablePointer<Float>, count n: Int, into c: UnsafeMutablePointer<Float>) {
        @inline(__always) func step<L: FloatLanes>(_ q: Int, _: L.Type) {
            let d0 = L.load(r + q), d1 = L.load(r + n + q), d2 = L.load(r + 2 * n + q)
            let d3 = L.load(r + 3 * n + q), d4 = L.load(r + 4 * n + q), d5 = L.load(r + 5 * n + q)
            let s12 = d1 + d2, s34 = d3 + d4, a12 = d1 - d2, a43 = d4 - d3, a13 = d1 - d3, a42 = d4 - d2
            (4 * d0 - 5 * d2 + d4).store(c + q)
            (s34 - 4 * s12).store(c + n + q)
            (4 * a12 + a43).store(c + 2 * n + q)
            (a42 - 2 * a13).store(c + 3 * n + q)
            (a42 + 2 * a13).store(c + 4 * n + q)
            (4 * d1 - 5 * d3 + d5).store(c + 5 * n + q)
        }
        forEachLane(0..<n, wide: { step($0, SIMD4<Float>.self) }, narrow: { step($0, Float.self) })
    }

    /// F(4, 3) Bᵀ along a row split into four phases P_0…P_3 (`span` floats apart); tile t's
    /// columns are P0[t], P1[t], P2[t], P3[t], P0[t+1], P1[t+1].
    @inline(__always)
    private func winogradInputColumns4(_ p: UnsafeMutablePointer<Float>, span: Int, count: Int,
                                       into v: UnsafeMutablePointer<Float>, stride: Int) {
        let p0 = p, p1 = p + span, p2 = p + 2 * span, p3 = p + 3 * span
        let v0 = v, v1 = v + stride, v2 = v + 2 * stride, v3 = v + 3 * stride, v4 = v + 4 * stride, v5 = v + 5 * stride
        @inline(__always) func step<L: FloatLanes>(_ t: Int, _: L.Type) {
            let d0 = L.load(p0 + t), d1 = L.load(p1 + t), d2 = L.load(p2 + t)
            let d3 = L.load(p3 + t), d4 = L.load(p0 + t + 1), d5 = L.load(p1 + t + 1)
            let s12 = d1 + d2, s34 = d3 + d4, a12 = d1 - d2, a43 = d4 - d3, a13 = d1 - d3, a42 = d4 - d2
            (4 * d0 - 5 * d2 + d4).store(v0 + t)
            (s34 - 4 * s12).store(v1 + t)
            (4 * a12 + a43).store(v2 + t)
            (a42 - 2 * a13).store(v3 + t)
            (a42 + 2 * a13).store(v4 + t)
            (4 * d1 - 5 * d3 + d5).store(v5 + t)
        }
        forEachLane(0..<count, wide: { step($0, SIMD4<Float>.self) }, narrow: { step($0, Float.self) })
    }

    /// Y = Aᵀ M A (+ bias) for `tileRows` tile rows of one output plane, reading
    /// m[ξ · positionStride + tileRow · tilesW + t].
    func winogradOutputRows(_ f: WinogradTransform, _ mp: UnsafeMutablePointer<Float>, positionStride: Int, bias: Float,
                            height h: Int, width w: Int, firstTileRow ty0: Int, tileRows: Int,
                            into plane: UnsafeMutablePointer<Float>) {
        let m = f.m, alpha = f.alpha
        let tilesW = (w + m - 1) / m
        // T = Aᵀ M (m × α rows of tilesW) and one output row
        withUnsafeTemporaryAllocation(of: Float.self, capacity: (m * alpha + m) * tilesW) { buffer in
            let rowsT = buffer.baseAddress!, line = rowsT + m * alpha * tilesW
            for tr in 0..<tileRows {
                let base = mp + tr * tilesW
                // rows: T[a][j] = Σ_i Aᵀ[a][i] · M[i·α + j]
                for j in 0..<alpha {
                    let src = base + j * positionStride, dst = rowsT + j * tilesW
                    if m == 2 {
                        winogradOutput2(src, stride: alpha * positionStride, count: tilesW, bias: 0,
                                        into: dst, stride: alpha * tilesW)
                    } else {
                        winogradOutput4(src, stride: alpha * positionStride, count: tilesW, bias: 0,
                                        into: dst, stride: alpha * tilesW)
                    }
                }
                // columns: y[m·ty + a][m·t + b] = Σ_j Aᵀ[b][j] · T[a][j][t] + bias, interleaved into `line`
                for a in 0..<m {
                    let oy = m * (ty0 + tr) + a
                    if oy >= h { break }
                    let src = rowsT + a * alpha * tilesW
                    if m == 2 {
                        winogradOutput2(src, stride: tilesW, count: tilesW, bias: bias, into: line, stride: 1, interleave: 2)
                    } else {
                        winogradOutput4(src, stride: tilesW, count: tilesW, bias: bias, into: line, stride: 1, interleave: 4)
                    }
                    (plane + oy * w).update(from: line, count: w)
                }
            }
        }
    }

    /// F(2, 3) Aᵀ: from four inputs s_0…s_3 (`stride` apart) y0 = s0 + s1 + s2, y1 = s1 − s2 − s3,
    /// plus bias; y_b[t] is written to out[b·outStride + t] or, interleaved, out[2t + b].
    @inline(__always)
    private func winogradOutput2(_ s: UnsafeMutablePointer<Float>, stride n: Int, count: Int, bias: Float,
                                 into out: UnsafeMutablePointer<Float>, stride outStride: Int, interleave: Int = 0) {
        @inline(__always) func outputs<L: FloatLanes>(_ t: Int, _: L.Type) -> (L, L) {
            let m0 = L.load(s + t), m1 = L.load(s + n + t), m2 = L.load(s + 2 * n + t), m3 = L.load(s + 3 * n + t)
            let b = L.splat(bias)
            return (m0 + m1 + m2 + b, m1 - m2 - m3 + b)
        }
        @inline(__always) func rows<L: FloatLanes>(_ t: Int, _: L.Type) {
            let y = outputs(t, L.self)
            y.0.store(out + t); y.1.store(out + outStride + t)
        }
        if interleave == 0 {
            forEachLane(0..<count, wide: { rows($0, SIMD4<Float>.self) }, narrow: { rows($0, Float.self) })
        } else {
            forEachLane(0..<count, wide: { t in
                let y = outputs(t, SIMD4<Float>.self), (a, b) = interleave2(y.0, y.1)
                a.store(out + 2 * t); b.store(out + 2 * t + 4)
            }, narrow: { t in
                let y = outputs(t, Float.self)
                out[2 * t] = y.0; out[2 * t + 1] = y.1
            })
        }
    }

    /// F(4, 3) Aᵀ: from six inputs s_0…s_5 (`stride` apart)
    ///   y0 = s0 + (s1 + s2) + (s3 + s4)      y1 = (s1 − s2) + 2(s3 − s4)
    ///   y2 = (s1 + s2) + 4(s3 + s4)          y3 = (s1 − s2) + 8(s3 − s4) + s5
    /// plus bias; y_b[t] is written to out[b·outStride + t] or, interleaved, out[4t + b].
    @inline(__always)
    private func winogradOutput4(_ s: UnsafeMutablePointer<Float>, stride n: Int, count: Int, bias: Float,
                                 into out: UnsafeMutablePointer<Float>, stride outStride: Int, interleave: Int = 0) {
        @inline(__always) func outputs<L: FloatLanes>(_ t: Int, _: L.Type) -> (L, L, L, L) {
            let m0 = L.load(s + t), m1 = L.load(s + n + t), m2 = L.load(s + 2 * n + t)
            let m3 = L.load(s + 3 * n + t), m4 = L.load(s + 4 * n + t), m5 = L.load(s + 5 * n + t)
            let s12 = m1 + m2, a12 = m1 - m2, s34 = m3 + m4, a34 = m3 - m4, b = L.splat(bias)
            return (m0 + s12 + s34 + b, a12 + 2 * a34 + b, s12 + 4 * s34 + b, a12 + 8 * a34 + m5 + b)
        }
        @inline(__always) func rows<L: FloatLanes>(_ t: Int, _: L.Type) {
            let y = outputs(t, L.self)
            y.0.store(out + t); y.1.store(out + outStride + t)
            y.2.store(out + 2 * outStride + t); y.3.store(out + 3 * outStride + t)
        }
        if interleave == 0 {
            forEachLane(0..<count, wide: { rows($0, SIMD4<Float>.self) }, narrow: { rows($0, Float.self) })
        } else {
            forEachLane(0..<count, wide: { t in
                let y = outputs(t, SIMD4<Float>.self), (a, b, c, d) = transpose4(y.0, y.1, y.2, y.3)
                a.store(out + 4 * t); b.store(out + 4 * t + 4); c.store(out + 4 * t + 8); d.store(out + 4 * t + 12)
            }, narrow: { t in
                let y = outputs(t, Float.self)
                out[4 * t] = y.0; out[4 * t + 1] = y.1; out[4 * t + 2] = y.2; out[4 * t + 3] = y.3
            })
        }
    }
}
