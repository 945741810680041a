import Foundation

extension CPUBackend {
    public func pool(_ kind: PoolKind, _ x: Tensor, into y: Tensor) throws {
        let c = x.shape.channels, h = x.shape.height, w = x.shape.width
        let oh = h / 2, ow = w / 2
        precondition(y.shape == Shape(c, oh, ow))
        let xp = x.cpu, yp = y.cpu
        timed(kind == .max ? "maxpool" : "avgpool", .bytes(4.0 * Double(x.count + y.count))) {
            DispatchQueue.concurrentPerform(iterations: c) { ch in
                let src = xp + ch * h * w, dst = yp + ch * oh * ow
                for i in 0..<oh {
                    for j in 0..<ow {
                        let p = src + 2 * i * w + 2 * j
                        let a = p[0], b = p[1], cc = p[w], d = p[w + 1]
                        dst[i * ow + j] = kind == .max ? max(max(a, b), max(cc, d)) : (a + b + cc + d) * 0.25
                    }
                }
            }
        }
    }

    public func poolBackward(_ kind: PoolKind, _ dy: Tensor, input x: Tensor, into dx: Tensor) throws {
        let c = x.shape.channels, h = x.shape.height, w = x.shape.width
        let oh = h / 2, ow = w / 2
        precondition(dy.shape == Shape(c, oh, ow) && dx.shape == x.shape)
        let xp = x.cpu, gp = dy.cpu, dp = dx.cpu
        timed(kind == .max ? "maxpool_backward" : "avgpool_backward", .bytes(4.0 * Double(2 * x.count + dy.count))) {
            DispatchQueue.concurrentPerform(iterations: c) { ch in
                let src = xp + ch * h * w, g = gp + ch * oh * ow, d = dp + ch * h * w
                d.update(repeating: 0, count: h * w)
                for i in 0..<oh {
                    for j in 0..<ow {
                        let o = 2 * i * w + 2 * j
                        let grad = g[i * ow + j]
                        if kind == .avg {
                            let q = grad * 0.25
                            d[o] = q; d[o + 1] = q; d[o + w] = q; d[o + w + 1] = q
                        } else {
                            // first maximum in row-major window order
                            var best = o, m = src[o]
                            if src[o + 1] > m { best = o + 1; m = src[o + 1] }
                            if src[o + w] > m { best = o + w; m = src[o + w] }
                            if src[o + w + 1] > m { best = o + w + 1 }
                            d[best] = grad
                        }
                    }
                }
            }
        }
    }
}
