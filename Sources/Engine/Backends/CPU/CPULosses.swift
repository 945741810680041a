import Foundation

extension CPUBackend {
    public func contentLoss(_ f: Tensor, target p: Tensor, weight: Float, accumulateGradient df: Tensor?) throws -> Double {
        precondition(f.shape == p.shape)
        let n = f.count
        let fp = f.cpu, pp = p.cpu
        return timed("content_loss", .bytes(12.0 * Double(n))) {
            let sum = reduce(n) { r in
                var s = 0.0
                for i in r { let d = Double(fp[i] - pp[i]); s += d * d }
                return s
            }
            if let df = df {
                let gp = df.cpu
                let k = weight * 2 / Float(n)
                parallel(n) { r in for i in r { gp[i] += k * (fp[i] - pp[i]) } }
            }
            return sum / Double(n)
        }
    }

    public func styleLoss(_ g: Tensor, target a: Tensor, weight: Float, gradient dg: Tensor?) throws -> Double {
        precondition(g.count == a.count)
        let n = g.count
        let c2 = Double(n)  // C² entries
        let gp = g.cpu, ap = a.cpu
        return timed("style_loss", .bytes(12.0 * Double(n))) {
            var s = 0.0
            for i in 0..<n { let d = Double(gp[i] - ap[i]); s += d * d }
            if let dg = dg {
                let dp = dg.cpu
                let k = weight * 2 / Float(c2)
                for i in 0..<n { dp[i] = k * (gp[i] - ap[i]) }
            }
            return s / c2
        }
    }

    public func tvLoss(_ x: Tensor, kind: TVKind, weight: Float, accumulateGradient dx: Tensor?) throws -> Double {
        let c = x.shape.channels, h = x.shape.height, w = x.shape.width
        let xp = x.cpu
        return timed("tv_loss", .bytes(8.0 * Double(x.count))) {
            // value: one chunk per row of every channel, summed in order
            let rows = c * h
            var partial = [Double](repeating: 0, count: rows)
            partial.withUnsafeMutableBufferPointer { pb in
                let pbase = pb.baseAddress!
                DispatchQueue.concurrentPerform(iterations: rows) { r in
                    let i = r % h, row = xp + r * w
                    var s = 0.0
                    for j in 0..<w {
                        let v = row[j]
                        let dv = i + 1 < h ? row[j + w] - v : 0
                        let dh = j + 1 < w ? row[j + 1] - v : 0
                        s += Double(TVMath.term(kind, dv, dh))
                    }
                    pbase[r] = s
                }
            }
            if let dx = dx {
                let gp = dx.cpu
                DispatchQueue.concurrentPerform(iterations: rows) { r in
                    let i = r % h, row = xp + r * w, grow = gp + r * w
                    for j in 0..<w { grow[j] += weight * TVMath.gradient(kind, row, i, j, h, w) }
                }
            }
            return partial.reduce(0, +)
        }
    }
}

/// The TV formulas shared by the CPU backend; `kernels/loss.cl` mirrors them line for line.
enum TVMath {
    @inline(__always)
    static func term(_ kind: TVKind, _ dv: Float, _ dh: Float) -> Float {
        switch kind {
        case .l2: return dv * dv + dh * dh
        case .l1: return abs(dv) + abs(dh)
        case .power(let g):
            let eps: Float = g < 1 ? TVKind.epsilon : 0
            return powf(dv * dv + dh * dh + eps, g)
        }
    }

    /// ∂/∂x of the terms at (i,j) (dv, dh measured from this pixel); returns (∂/∂dv, ∂/∂dh).
    @inline(__always)
    static func partials(_ kind: TVKind, _ dv: Float, _ dh: Float) -> (Float, Float) {
        switch kind {
        case .l2: return (2 * dv, 2 * dh)
        case .l1: return (sign(dv), sign(dh))
        case .power(let g):
            let eps: Float = g < 1 ? TVKind.epsilon : 0
            let s = dv * dv + dh * dh + eps
            if s == 0 { return (0, 0) }
            let k = 2 * g * powf(s, g - 1)
            return (k * dv, k * dh)
        }
    }

    @inline(__always) static func sign(_ v: Float) -> Float { v > 0 ? 1 : (v < 0 ? -1 : 0) }

    /// Gradient at pixel (i,j) of a plane: from its own term and from the terms above and left of it.
    @inline(__always)
    static func gradient(_ kind: TVKind, _ row: UnsafeMutablePointer<Float>, _ i: Int, _ j: Int, _ h: Int, _ w: Int) -> Float {
        let v = row[j]
        var g: Float = 0
        do {
            let dv: Float = i + 1 < h ? row[j + w] - v : 0
            let dh: Float = j + 1 < w ? row[j + 1] - v : 0
            let (pv, ph) = partials(kind, dv, dh)
            g -= (i + 1 < h ? pv : 0) + (j + 1 < w ? ph : 0)
        }
        if i > 0 {  // term at (i−1, j): dv = v − up
            let up = row - w
            let dv = v - up[j]
            let dh: Float = j + 1 < w ? up[j + 1] - up[j] : 0
            g += partials(kind, dv, dh).0
        }
        if j > 0 {  // term at (i, j−1): dh = v − left
            let dv: Float = i + 1 < h ? row[j - 1 + w] - row[j - 1] : 0
            let dh = v - row[j - 1]
            g += partials(kind, dv, dh).1
        }
        return g
    }
}
