import Foundation

/// One row of the parity table: an operation at a shape, run the same way on any backend.
/// Inputs come from a generator seeded by the case, so every backend sees the same numbers.
/// `neural-style check`, the parity tests and `bench ops` all use this one list.
public struct OpCase {
    public let op: String
    public let shape: String
    /// Largest accepted max|a − b| / max(max|b|, 1e-30), per output, against the CPU backend.
    public let tolerance: Double
    let seed: UInt64
    let body: (Backend, inout SeededRandom) throws -> [[Float]]

    /// Runs the case and returns its outputs (each output tensor or scalar, downloaded).
    public func run(on backend: Backend) throws -> [[Float]] {
        var rng = SeededRandom(seed: seed)
        let out = try body(backend, &rng)
        try backend.synchronize()
        return out
    }

    /// The worst relative error of `outputs` against `reference`.
    public static func error(_ outputs: [[Float]], reference: [[Float]]) -> Double {
        var worst = 0.0
        for (a, b) in zip(outputs, reference) {
            guard a.count == b.count else { return .infinity }
            var diff = 0.0, scale = 0.0
            for i in 0..<a.count {
                let d = abs(Double(a[i]) - Double(b[i]))
                if !(d <= diff) { diff = d.isNaN ? .infinity : d }
                scale = max(scale, abs(Double(b[i])))
            }
            worst = max(worst, diff / max(scale, 1e-30))
        }
        return worst
    }
}

extension OpCase {
    static func make(_ op: String, _ shape: String, tolerance: Double, seed: UInt64,
                     _ body: @escaping (Backend, inout SeededRandom) throws -> [[Float]]) -> OpCase {
        OpCase(op: op, shape: shape, tolerance: tolerance, seed: seed, body: body)
    }

    /// Which shapes: `full` for real devices; `simulator` keeps every operation and every vector
    /// and remainder branch at channel counts a simulator (Oclgrind, one work-item at a time)
    /// gets through in minutes. Its Winograd shape needs `winogradMinChannels=4` to take that path.
    public enum Table: String, CaseIterable, Sendable { case full, simulator }

    /// The table. Shapes cover odd and even sizes, C = 3, C not a multiple of 4/8/16, and
    /// VGG channel counts at small spatial size.
    public static func all(_ table: Table = .full) -> [OpCase] {
        var cases: [OpCase] = []
        var seed: UInt64 = 1
        func next() -> UInt64 { seed += 1; return seed }

        let convShapes: [(Int, Int, Int, Int)] = table == .full
            ? [(3, 64, 9, 7), (5, 7, 8, 8), (13, 6, 5, 11), (64, 64, 12, 10), (128, 256, 6, 5), (512, 512, 3, 4),
               // Winograd on OpenCL: a full group of 16 tiles and a partial one; 8 tile columns (8-wide
               // vectors); the shapes above have 1 to 3 (4-wide)
               (64, 64, 9, 70), (64, 64, 10, 30)]
            // widths not a multiple of 4, 8 or 16; output channels not a multiple of the block;
            // heights not a multiple of the rows; 18 Winograd tiles across (16 + a partial group),
            // 7 (8-wide vectors) and 2 or 3 (4-wide)
            : [(3, 16, 9, 7), (5, 7, 8, 8), (13, 6, 5, 11), (16, 20, 6, 5), (8, 8, 9, 70), (8, 8, 6, 26)]
        for (cin, cout, h, w) in convShapes {
            cases.append(make("conv3x3", "\(cin)→\(cout) \(h)×\(w)", tolerance: 5e-5, seed: next()) { b, r in
                let x = try b.tensor(r.uniformArray(cin * h * w), Shape(cin, h, w))
                let wt = try b.tensor(r.uniformArray(cout * cin * 9, -0.2, 0.2), Shape(cout, cin, 9))
                let bias = try b.tensor(r.uniformArray(cout), Shape(vector: cout))
                let y = try b.makeTensor(cout, h, w)
                try b.conv3x3(x, weight: wt, bias: bias, into: y)
                return [try b.download(y)]
            })
            cases.append(make("conv3x3_backward", "\(cout)→\(cin) \(h)×\(w)", tolerance: 5e-5, seed: next()) { b, r in
                let dy = try b.tensor(r.uniformArray(cout * h * w), Shape(cout, h, w))
                let wts = r.uniformArray(cout * cin * 9, -0.2, 0.2)
                let flipped = try b.tensor(flippedConvWeights(wts, outChannels: cout, inChannels: cin), Shape(cin, cout, 9))
                let dx = try b.makeTensor(cin, h, w)
                try b.conv3x3(dy, weight: flipped, bias: nil, into: dx)
                return [try b.download(dx)]
            })
        }
        // 16×20×13: 260 columns, more than one work-item of the Gram backward (8 × 16) plus a tail
        let mapShapes: [(Int, Int, Int)] = table == .full
            ? [(3, 7, 9), (5, 8, 8), (64, 12, 10), (13, 1, 6), (256, 5, 7), (16, 20, 13)]
            : [(3, 7, 9), (5, 8, 8), (24, 12, 10), (13, 1, 6), (40, 5, 7), (16, 20, 13)]
        for (c, h, w) in mapShapes {
            let s = "\(c)×\(h)×\(w)"
            cases.append(make("relu", s, tolerance: 0, seed: next()) { b, r in
                let x = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                let y = try b.makeTensor(c, h, w)
                try b.relu(x, into: y)
                return [try b.download(y)]
            })
            cases.append(make("relu_backward", s, tolerance: 0, seed: next()) { b, r in
                let y = try b.tensor(r.uniformArray(c * h * w).map { max($0, 0) }, Shape(c, h, w))
                let dy = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                let dx = try b.makeTensor(c, h, w)
                try b.reluBackward(dy, output: y, into: dx)
                return [try b.download(dx)]
            })
            for kind in PoolKind.allCases where h >= 2 && w >= 2 {
                cases.append(make("\(kind.rawValue)pool", s, tolerance: 1e-6, seed: next()) { b, r in
                    let x = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                    let y = try b.makeTensor(c, h / 2, w / 2)
                    try b.pool(kind, x, into: y)
                    return [try b.download(y)]
                })
                cases.append(make("\(kind.rawValue)pool_backward", s, tolerance: 1e-6, seed: next()) { b, r in
                    // quantised inputs make ties, which must break the same way
                    let x = try b.tensor(r.uniformArray(c * h * w).map { ($0 * 4).rounded() }, Shape(c, h, w))
                    let dy = try b.tensor(r.uniformArray(c * (h / 2) * (w / 2)), Shape(c, h / 2, w / 2))
                    let dx = try b.makeTensor(c, h, w)
                    try b.poolBackward(kind, dy, input: x, into: dx)
                    return [try b.download(dx)]
                })
            }
            for centered in [false, true] {
                let name = centered ? "gram_centered" : "gram"
                cases.append(make(name, s, tolerance: 1e-5, seed: next()) { b, r in
                    let f = try b.tensor(r.uniformArray(c * h * w, 0, 2), Shape(c, h, w))
                    let g = try b.makeTensor(1, c, c)
                    try b.gram(f, centered: centered, into: g)
                    return [try b.download(g)]
                })
                cases.append(make(name + "_backward", s, tolerance: 1e-5, seed: next()) { b, r in
                    let f = try b.tensor(r.uniformArray(c * h * w, 0, 2), Shape(c, h, w))
                    let dg = try b.tensor(r.uniformArray(c * c), Shape(1, c, c))
                    let df = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                    try b.accumulateGramBackward(dg, features: f, centered: centered, into: df)
                    return [try b.download(df)]
                })
            }
            cases.append(make("channel_sums", s, tolerance: 1e-5, seed: next()) { b, r in
                let f = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                let sums = try b.tensor(r.uniformArray(c), Shape(vector: c))
                try b.accumulateChannelSums(f, scale: 1 / Float(h * w), into: sums)
                return [try b.download(sums)]
            })
            cases.append(make("channel_broadcast", s, tolerance: 1e-6, seed: next()) { b, r in
                let v = try b.tensor(r.uniformArray(c), Shape(vector: c))
                let df = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                try b.accumulateChannelBroadcast(v, scale: 0.3, into: df)
                return [try b.download(df)]
            })
            cases.append(make("content_loss", s, tolerance: 1e-5, seed: next()) { b, r in
                let f = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                let p = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                let df = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                let v = try b.contentLoss(f, target: p, weight: 1.5, accumulateGradient: df)
                return [[Float(v)], try b.download(df)]
            })
            cases.append(make("style_loss", "\(c)×\(c)", tolerance: 1e-5, seed: next()) { b, r in
                let g = try b.tensor(r.uniformArray(c * c), Shape(1, c, c))
                let a = try b.tensor(r.uniformArray(c * c), Shape(1, c, c))
                let dg = try b.makeTensor(1, c, c)
                let v = try b.styleLoss(g, target: a, weight: 0.7, gradient: dg)
                return [[Float(v)], try b.download(dg)]
            })
        }
        for (h, w) in [(7, 9), (8, 8), (1, 5), (33, 17)] {
            for kind in [TVKind.l2, .l1, .power(0.5), .power(1.25)] {
                cases.append(make("tv_\(kind)", "3×\(h)×\(w)", tolerance: 1e-5, seed: next()) { b, r in
                    // quantised to make exact zeros in the differences (the l1 subgradient)
                    let x = try b.tensor(r.uniformArray(3 * h * w, -100, 100).map { ($0 / 25).rounded() * 25 },
                                         Shape(3, h, w))
                    let dx = try b.tensor(r.uniformArray(3 * h * w), Shape(3, h, w))
                    let v = try b.tvLoss(x, kind: kind, weight: 0.3, accumulateGradient: dx)
                    return [[Float(v)], try b.download(dx)]
                })
            }
        }
        for n in [1, 1000, 65_537] {
            cases.append(make("axpy", "\(n)", tolerance: 1e-6, seed: next()) { b, r in
                let x = try b.tensor(r.uniformArray(n), Shape(vector: n))
                let y = try b.tensor(r.uniformArray(n), Shape(vector: n))
                try b.axpy(-0.75, x, y)
                try b.scale(y, by: 1.5)
                return [try b.download(y)]
            })
            cases.append(make("dot", "\(n)", tolerance: 1e-5, seed: next()) { b, r in
                let x = try b.tensor(r.uniformArray(n), Shape(vector: n))
                let y = try b.tensor(r.uniformArray(n), Shape(vector: n))
                return [[Float(try b.dot(x, y))], [Float(try b.sumOfSquares(x))]]
            })
            cases.append(make("adam", "\(n)", tolerance: 1e-5, seed: next()) { b, r in
                let x = try b.tensor(r.uniformArray(n), Shape(vector: n))
                let g = try b.tensor(r.uniformArray(n), Shape(vector: n))
                let m = try b.tensor(r.uniformArray(n, -0.1, 0.1), Shape(vector: n))
                let v = try b.tensor(r.uniformArray(n, 0, 0.1), Shape(vector: n))
                try b.adamStep(x, gradient: g, m: m, v: v, learningRate: 0.5, beta1: 0.9, beta2: 0.999,
                               epsilon: 1e-8, step: 3)
                return [try b.download(x), try b.download(m), try b.download(v)]
            })
        }
        cases.append(make("clamp", "3×9×7", tolerance: 0, seed: next()) { b, r in
            let x = try b.tensor(r.uniformArray(3 * 9 * 7, -200, 200), Shape(3, 9, 7))
            try b.clamp(x, lower: [-100, -110, -120], upper: [150, 140, 130])
            return [try b.download(x)]
        })
        cases.append(make("zero_outside", "3×9×7", tolerance: 0, seed: next()) { b, r in
            // x in ±200 against bounds of ±100…150, with some values exactly on a bound (kept)
            var xv = r.uniformArray(3 * 9 * 7, -200, 200)
            xv[0] = -100; xv[63] = 140; xv[2 * 63 + 5] = -120
            let x = try b.tensor(xv, Shape(3, 9, 7))
            let g = try b.tensor(r.uniformArray(3 * 9 * 7), Shape(3, 9, 7))
            try b.zeroOutside(g, of: x, lower: [-100, -110, -120], upper: [150, 140, 130])
            return [try b.download(g)]
        })
        // (C, image H, W, tile H, W, top, left): inside, overhanging each side, negative, a tile
        // larger than the image, and one wholly outside.
        let tiles: [(Int, Int, Int, Int, Int, Int, Int)] = [
            (3, 9, 7, 5, 4, 2, 1), (3, 9, 7, 6, 5, -2, -3), (3, 9, 7, 6, 5, 6, 4), (13, 11, 13, 7, 9, -3, 6),
            (13, 11, 13, 7, 5, 7, -2), (13, 5, 6, 9, 10, -2, -2), (3, 8, 8, 3, 3, 20, -10), (13, 1, 6, 3, 4, -1, 3),
        ]
        for (c, h, w, th, tw, top, left) in tiles {
            let s = "\(c)×\(h)×\(w) \(th)×\(tw)@\(top),\(left)"
            cases.append(make("crop", s, tolerance: 0, seed: next()) { b, r in
                let x = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                // filled first, so positions outside the image must be written as zero
                let t = try b.tensor(r.uniformArray(c * th * tw), Shape(c, th, tw))
                try b.crop(x, top: top, left: left, into: t)
                return [try b.download(t)]
            })
            cases.append(make("accumulate_crop", s, tolerance: 0, seed: next()) { b, r in
                let t = try b.tensor(r.uniformArray(c * th * tw), Shape(c, th, tw))
                let x = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                try b.accumulateCrop(t, top: top, left: left, into: x)
                return [try b.download(x)]
            })
        }
        // masks: C = 1 and 3, a VGG width, odd planes; overwrite and accumulate
        for (c, h, w) in table == .full ? [(1, 5, 7), (3, 9, 7), (64, 12, 10), (13, 1, 6)] : [(1, 5, 7), (3, 9, 7), (13, 1, 6)] {
            for accumulate in [false, true] {
                cases.append(make("multiply_plane", "\(c)×\(h)×\(w)\(accumulate ? " +=" : "")", tolerance: 0, seed: next()) { b, r in
                    let x = try b.tensor(r.uniformArray(c * h * w, -2, 2), Shape(c, h, w))
                    let m = try b.tensor(r.uniformArray(h * w, 0, 1), Shape(1, h, w))
                    let y = try b.tensor(r.uniformArray(c * h * w), Shape(c, h, w))
                    try b.multiplyPlane(x, by: m, into: y, accumulate: accumulate)
                    return [try b.download(y)]
                })
            }
        }
        return cases
    }
}
