import Foundation

extension CPUBackend {
    public func axpy(_ a: Float, _ x: Tensor, _ y: Tensor) throws {
        let xp = x.cpu, yp = y.cpu
        timed("axpy", .bytes(12.0 * Double(x.count))) { parallel(x.count) { r in for i in r { yp[i] += a * xp[i] } } }
    }

    public func scale(_ x: Tensor, by a: Float) throws {
        let xp = x.cpu
        timed("scale", .bytes(8.0 * Double(x.count))) { parallel(x.count) { r in for i in r { xp[i] *= a } } }
    }

    public func dot(_ x: Tensor, _ y: Tensor) throws -> Double {
        let xp = x.cpu, yp = y.cpu
        return timed("dot", .bytes(8.0 * Double(x.count))) {
            reduce(x.count) { r in
                var s = 0.0
                for i in r { s += Double(xp[i]) * Double(yp[i]) }
                return s
            }
        }
    }

    public func sumOfSquares(_ x: Tensor) throws -> Double {
        let xp = x.cpu
        return timed("sum_of_squares", .bytes(4.0 * Double(x.count))) {
            reduce(x.count) { r in
                var s = 0.0
                for i in r { let v = Double(xp[i]); s += v * v }
                return s
            }
        }
    }

    public func clamp(_ x: Tensor, lower: [Float], upper: [Float]) throws {
        let plane = x.shape.plane, xp = x.cpu
        timed("clamp", .bytes(8.0 * Double(x.count))) {
            for c in 0..<x.shape.channels {
                let lo = lower[c], hi = upper[c], p = xp + c * plane
                for i in 0..<plane { p[i] = min(max(p[i], lo), hi) }
            }
        }
    }

    public func zeroOutside(_ g: Tensor, of x: Tensor, lower: [Float], upper: [Float]) throws {
        precondition(g.count == x.count)
        let plane = x.shape.plane, xp = x.cpu, gp = g.cpu
        timed("zero_outside", .bytes(8.0 * Double(x.count))) {
            for c in 0..<x.shape.channels {
                let lo = lower[c], hi = upper[c], o = c * plane
                for i in o..<(o + plane) where xp[i] < lo || xp[i] > hi { gp[i] = 0 }
            }
        }
    }

    public func adamStep(_ x: Tensor, gradient g: Tensor, m: Tensor, v: Tensor, learningRate: Float,
                         beta1: Float, beta2: Float, epsilon: Float, step t: Int) throws {
        let xp = x.cpu, gp = g.cpu, mp = m.cpu, vp = v.cpu
        let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
        timed("adam", .bytes(28.0 * Double(x.count))) {
            parallel(x.count) { r in
                for i in r {
                    let gi = gp[i]
                    mp[i] = beta1 * mp[i] + (1 - beta1) * gi
                    vp[i] = beta2 * vp[i] + (1 - beta2) * gi * gi
                    xp[i] -= learningRate * (mp[i] / c1) / ((vp[i] / c2).squareRoot() + epsilon)
                }
            }
        }
    }
}
