import Foundation
import XCTest
@testable import Engine

/// Every CPU backward pass against central finite differences of an independent Float64
/// forward reference (`GradRef` below), on tiny shapes, for every input element.
///
/// For an operation y = op(x) with non-scalar output the scalar is a fixed random projection
/// L = Σ r·y; the analytic gradient is the backend's backward with dy = r (or the loss's own
/// gradient), the numeric one is (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h in Double, with
/// h = 1e-3 · max(1, max|x|).
///
/// Tolerance: max|analytic − numeric| / max|numeric| < 1e-3. The analytic side is Float32
/// (relative round-off ~1e-6), and the truncation error of the central difference is O(h²)
/// on inputs kept away from kinks and ties, so 1e-3 leaves two orders of margin while a
/// wrong formula (a missing factor, transpose, flip or index) lands far above it — see
/// `testFiniteDifferenceCheckRejectsAWrongBackward`.
final class GradientTests: XCTestCase {
    static let tolerance = 1e-3

    // MARK: layers

    func testConv3x3BackwardMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 101)
        // (Cin, Cout, H, W): odd and even sizes, more and fewer outputs than inputs
        for (cin, cout, h, w) in [(2, 3, 3, 4), (3, 2, 5, 5), (4, 5, 6, 3), (5, 4, 4, 6), (1, 2, 3, 3)] {
            let s = Shape(cin, h, w), so = Shape(cout, h, w)
            let x = rng.uniformArray(s.count)
            let wt = rng.uniformArray(cout * cin * 9, -0.5, 0.5)
            let b = rng.uniformArray(cout, -0.2, 0.2)
            let r = rng.uniformArray(so.count)
            let label = "conv3x3 \(cin)→\(cout) \(h)×\(w)"

            // forward agrees with the reference (so the reference is the same operation)
            let yt = try cpu.makeTensor(so)
            try cpu.conv3x3(try cpu.tensor(x, s), weight: try cpu.tensor(wt, Shape(vector: wt.count)),
                            bias: try cpu.tensor(b, Shape(vector: cout)), into: yt)
            assertClose(try cpu.download(yt), GradRef.conv3x3(x.d, s, wt.d, b.d, cout: cout), 1e-5, "\(label) forward")

            // backward: dx = conv(dy = r, flipped weights)
            let dx = try cpu.makeTensor(s)
            try cpu.fill(dx, 42)  // must be overwritten
            try cpu.conv3x3(try cpu.tensor(r, so),
                            weight: try cpu.tensor(flippedConvWeights(wt, outChannels: cout, inChannels: cin),
                                                   Shape(vector: wt.count)),
                            bias: nil, into: dx)
            let numeric = numericGradient(x) { GradRef.dot(r, GradRef.conv3x3($0, s, wt.d, b.d, cout: cout)) }
            assertGradient(try cpu.download(dx), numeric, label)
        }
    }

    func testReluBackwardMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 102)
        for s in [Shape(2, 3, 3), Shape(3, 4, 5), Shape(5, 6, 6)] {
            // |x| ≥ 0.05 ≫ h: no element crosses the kink at 0
            let x = (0..<s.count).map { _ -> Float in
                let m = rng.uniform(0.05, 1)
                return rng.uniform() < 0.5 ? -m : m
            }
            let r = rng.uniformArray(s.count)
            let xt = try cpu.tensor(x, s), y = try cpu.makeTensor(s), dx = try cpu.makeTensor(s)
            try cpu.relu(xt, into: y)
            assertClose(try cpu.download(y), GradRef.relu(x.d), 0, "relu \(s) forward")
            try cpu.fill(dx, 42)
            try cpu.reluBackward(try cpu.tensor(r, s), output: y, into: dx)
            let numeric = numericGradient(x) { GradRef.dot(r, GradRef.relu($0)) }
            assertGradient(try cpu.download(dx), numeric, "relu \(s)")
        }
    }

    /// Bounded pixels: clamp is the forward, zeroOutside of the incoming gradient the backward.
    func testClampBackwardMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 110)
        let lower: [Float] = [-100, -110, -120], upper: [Float] = [150, 140, 130]
        for s in [Shape(3, 3, 3), Shape(3, 4, 5)] {
            // every sample at least 2 from a bound (h = 0.2 here): none crosses a kink
            let x = (0..<s.count).map { i -> Float in
                let c = i / s.plane
                var v: Float
                repeat { v = rng.uniform(-200, 200) } while abs(v - lower[c]) < 2 || abs(v - upper[c]) < 2
                return v
            }
            let r = rng.uniformArray(s.count)
            func clampRef(_ v: [Double]) -> [Double] {
                v.indices.map { min(max(v[$0], Double(lower[$0 / s.plane])), Double(upper[$0 / s.plane])) }
            }
            let y = try cpu.tensor(x, s)
            try cpu.clamp(y, lower: lower, upper: upper)
            assertClose(try cpu.download(y), clampRef(x.d), 0, "clamp \(s) forward")
            let g = try cpu.tensor(r, s)
            try cpu.zeroOutside(g, of: try cpu.tensor(x, s), lower: lower, upper: upper)
            let numeric = numericGradient(x) { GradRef.dot(r, clampRef($0)) }
            assertGradient(try cpu.download(g), numeric, "clamp \(s)")
            XCTAssertTrue(numeric.contains(0) && numeric.contains { $0 != 0 }, "both sides of the bounds")
        }
    }

    func testPoolBackwardMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 103)
        // odd heights/widths: the dropped last row/column must get exactly zero gradient
        let shapes = [Shape(2, 3, 3), Shape(3, 4, 5), Shape(2, 5, 4), Shape(3, 6, 6), Shape(4, 5, 3), Shape(2, 3, 6)]
        for kind in PoolKind.allCases {
            for s in shapes {
                // distinct values on a grid of spacing 2/n ≥ 0.018 ≫ 2h: no ties inside a window
                var x = (0..<s.count).map { Float($0) * 2 / Float(s.count) - 1 }
                shuffle(&x, &rng)
                let so = Shape(s.channels, s.height / 2, s.width / 2)
                let r = rng.uniformArray(so.count)
                let label = "\(kind)pool \(s)"
                let xt = try cpu.tensor(x, s), y = try cpu.makeTensor(so), dx = try cpu.makeTensor(s)
                try cpu.pool(kind, xt, into: y)
                assertClose(try cpu.download(y), GradRef.pool(kind, x.d, s), 1e-6, "\(label) forward")
                try cpu.fill(dx, 42)  // dropped rows/columns must be overwritten with 0
                try cpu.poolBackward(kind, try cpu.tensor(r, so), input: xt, into: dx)
                let numeric = numericGradient(x) { GradRef.dot(r, GradRef.pool(kind, $0, s)) }
                assertGradient(try cpu.download(dx), numeric, label)
            }
        }
    }

    /// Ties are not differentiable, so the rule is checked exactly: the first maximum in
    /// row-major window order takes the gradient; the dropped row and column get 0.
    func testMaxPoolBackwardSendsTiesToTheFirstMaximum() throws {
        let cpu = CPUBackend()
        let s = Shape(1, 3, 5)
        let x: [Float] = [2, 2, 1, 3, 9,
                          2, 2, 3, 0, 9,
                          9, 9, 9, 9, 9]
        let xt = try cpu.tensor(x, s), y = try cpu.makeTensor(1, 1, 2), dx = try cpu.makeTensor(s)
        try cpu.pool(.max, xt, into: y)
        XCTAssertEqual(try cpu.download(y), [2, 3])
        try cpu.fill(dx, -7)
        try cpu.poolBackward(.max, try cpu.tensor([10, 20], Shape(1, 1, 2)), input: xt, into: dx)
        XCTAssertEqual(try cpu.download(dx), [10, 0, 0, 20, 0,
                                              0, 0, 0, 0, 0,
                                              0, 0, 0, 0, 0])
    }

    // MARK: Gram and losses

    func testGramBackwardMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 104)
        for centered in [false, true] {
            for s in [Shape(2, 3, 3), Shape(3, 4, 5), Shape(5, 6, 3), Shape(4, 5, 6)] {
                let c = s.channels
                let f = rng.uniformArray(s.count)
                // a non-symmetric R, so (dG + dGᵀ) is distinguishable from 2·dG
                let r = rng.uniformArray(c * c)
                let label = "gram\(centered ? " centred" : "") \(s)"
                let ft = try cpu.tensor(f, s), g = try cpu.makeTensor(Shape(1, c, c))
                try cpu.gram(ft, centered: centered, into: g)
                assertClose(try cpu.download(g), GradRef.gram(f.d, s, centered: centered), 1e-5, "\(label) forward")
                // accumulates: start from a random base and subtract it
                let base = rng.uniformArray(s.count)
                let df = try cpu.tensor(base, s)
                try cpu.accumulateGramBackward(try cpu.tensor(r, Shape(1, c, c)), features: ft, centered: centered, into: df)
                let numeric = numericGradient(f) { GradRef.dot(r, GradRef.gram($0, s, centered: centered)) }
                assertGradient(minus(try cpu.download(df), base), numeric, label)
            }
        }
    }

    /// The style term's feature means: s = scale·Σ F[c, ·] accumulates onto s, and its backward
    /// broadcasts each channel's gradient over the channel's pixels.
    func testChannelSumsBackwardMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 109)
        for s in [Shape(1, 1, 1), Shape(2, 3, 3), Shape(3, 4, 5), Shape(5, 1, 7)] {
            let c = s.channels, scale: Float = 1 / Float(s.plane) * 1.5
            let f = rng.uniformArray(s.count), r = rng.uniformArray(c)
            func sums(_ x: [Double]) -> [Double] {
                (0..<c).map { ch in Double(scale) * x[(ch * s.plane)..<((ch + 1) * s.plane)].reduce(0, +) }
            }
            let start = rng.uniformArray(c)
            let out = try cpu.tensor(start, Shape(vector: c))
            try cpu.accumulateChannelSums(try cpu.tensor(f, s), scale: scale, into: out)
            assertClose(minus(try cpu.download(out), start), sums(f.d), 1e-5, "channel sums \(s) forward")
            let base = rng.uniformArray(s.count)
            let df = try cpu.tensor(base, s)
            try cpu.accumulateChannelBroadcast(try cpu.tensor(r, Shape(vector: c)), scale: scale, into: df)
            let numeric = numericGradient(f) { GradRef.dot(r, sums($0)) }
            assertGradient(minus(try cpu.download(df), base), numeric, "channel sums \(s)")
        }
    }

    func testContentLossGradientMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 105)
        let weight: Float = 0.7
        for s in [Shape(2, 3, 3), Shape(3, 4, 5), Shape(5, 6, 6)] {
            let f = rng.uniformArray(s.count), p = rng.uniformArray(s.count)
            let base = rng.uniformArray(s.count)
            let df = try cpu.tensor(base, s)
            let value = try cpu.contentLoss(try cpu.tensor(f, s), target: try cpu.tensor(p, s), weight: weight,
                                            accumulateGradient: df)
            let reference = GradRef.contentLoss(f.d, p.d)
            XCTAssertEqual(value, reference, accuracy: 1e-5 * reference, "content loss \(s) value")
            let numeric = numericGradient(f) { Double(weight) * GradRef.contentLoss($0, p.d) }
            assertGradient(minus(try cpu.download(df), base), numeric, "content loss \(s)")
        }
    }

    func testStyleLossGradientMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 106)
        let weight: Float = 1.3
        for centered in [false, true] {
            for s in [Shape(2, 3, 3), Shape(3, 4, 5), Shape(5, 6, 3), Shape(4, 5, 6)] {
                let c = s.channels, gs = Shape(1, c, c)
                let f = rng.uniformArray(s.count)
                // target: the Gram of other random features
                let a = GradRef.gram(rng.uniformArray(s.count).d, s, centered: centered).map(Float.init)
                let label = "style loss\(centered ? " centred" : "") \(s)"
                let ft = try cpu.tensor(f, s), g = try cpu.makeTensor(gs), at = try cpu.tensor(a, gs)
                let dg = try cpu.makeTensor(gs)
                try cpu.fill(dg, 42)  // overwritten
                try cpu.gram(ft, centered: centered, into: g)
                let gv = try cpu.download(g)
                let value = try cpu.styleLoss(g, target: at, weight: weight, gradient: dg)
                let reference = GradRef.styleLoss(gv.d, a.d)
                XCTAssertEqual(value, reference, accuracy: 1e-5 * reference, "\(label) value")

                // ∂L/∂G on its own, in the Gram's coordinates
                let numericG = numericGradient(gv) { Double(weight) * GradRef.styleLoss($0, a.d) }
                assertGradient(try cpu.download(dg), numericG, "\(label) ∂/∂G")

                // through the Gram to the features
                let base = rng.uniformArray(s.count)
                let df = try cpu.tensor(base, s)
                try cpu.accumulateGramBackward(dg, features: ft, centered: centered, into: df)
                let numericF = numericGradient(f) {
                    Double(weight) * GradRef.styleLoss(GradRef.gram($0, s, centered: centered), a.d)
                }
                assertGradient(minus(try cpu.download(df), base), numericF, "\(label) ∂/∂F")
            }
        }
    }

    func testTVLossGradientMatchesFiniteDifferences() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 107)
        let weight: Float = 0.8
        let kinds: [TVKind] = [.l2, .l1, .power(0.5), .power(1.5)]
        for kind in kinds {
            for s in [Shape(1, 3, 3), Shape(2, 4, 5), Shape(3, 5, 6), Shape(2, 6, 3)] {
                // every neighbour difference |Δ| ≥ 0.02 ≫ h: away from the l1 kink and the
                // steep part of (Δ² + ε)^0.5
                let x = tvInput(s, margin: 0.02, &rng)
                let label = "tv \(kind) \(s)"
                let base = rng.uniformArray(s.count)
                let dx = try cpu.tensor(base, s)
                let value = try cpu.tvLoss(try cpu.tensor(x, s), kind: kind, weight: weight, accumulateGradient: dx)
                let reference = GradRef.tv(x.d, s, kind)
                XCTAssertEqual(value, reference, accuracy: 1e-5 * reference, "\(label) value")
                let numeric = numericGradient(x) { Double(weight) * GradRef.tv($0, s, kind) }
                assertGradient(minus(try cpu.download(dx), base), numeric, label)
            }
        }
    }

    /// The convolution's fast paths (Winograd F(2×2) and F(4×4) on the CPU, Winograd on OpenCL,
    /// GEMM + col2im for few outputs), forced onto small shapes, against the same Double
    /// reference and finite differences as the plain convolution above.
    func testConv3x3FastPathsMatchFiniteDifferences() throws {
        var backends: [(String, Backend)] = []
        for tile in [2, 4] {
            let b = CPUBackend()
            b.parameters.winogradMinChannels = 1
            b.parameters.winogradTile = tile
            b.parameters.winogradF4MinTiles = 1
            backends.append(("cpu F(\(tile)×\(tile))", b))
        }
        let col2im = CPUBackend()
        col2im.parameters.winogradMinChannels = nil
        backends.append(("cpu col2im", col2im))
        var p = OpenCLBackend.Parameters()
        p.winogradMinChannels = 1
        backends.append(("opencl Winograd", try OpenCLBackend(device: try DeviceInfo.select(nil), parameters: p)))
        var rng = SeededRandom(seed: 111)
        // (Cin, Cout, H, W): sizes that are not multiples of the tiles; 10 → 1 runs col2im forward,
        // and 1 → 10 runs it in its backward pass (10 → 1 with flipped weights)
        for (cin, cout, h, w) in [(2, 3, 5, 7), (3, 2, 6, 9), (10, 1, 5, 4), (1, 10, 4, 5)] {
            let s = Shape(cin, h, w), so = Shape(cout, h, w)
            let x = rng.uniformArray(s.count)
            let wt = rng.uniformArray(cout * cin * 9, -0.5, 0.5)
            let bias = rng.uniformArray(cout, -0.2, 0.2)
            let r = rng.uniformArray(so.count)
            let reference = GradRef.conv3x3(x.d, s, wt.d, bias.d, cout: cout)
            let numeric = numericGradient(x) { GradRef.dot(r, GradRef.conv3x3($0, s, wt.d, bias.d, cout: cout)) }
            for (name, b) in backends {
                let label = "\(name) conv3x3 \(cin)→\(cout) \(h)×\(w)"
                let yt = try b.makeTensor(so)
                try b.conv3x3(try b.tensor(x, s), weight: try b.tensor(wt, Shape(vector: wt.count)),
                              bias: try b.tensor(bias, Shape(vector: cout)), into: yt)
                assertClose(try b.download(yt), reference, 5e-5, "\(label) forward")
                let dx = try b.makeTensor(s)
                try b.fill(dx, 42)  // must be overwritten
                try b.conv3x3(try b.tensor(r, so),
                              weight: try b.tensor(flippedConvWeights(wt, outChannels: cout, inChannels: cin),
                                                   Shape(vector: wt.count)),
                              bias: nil, into: dx)
                assertGradient(try b.download(dx), numeric, label)
            }
        }
        XCTAssertEqual(col2im.parameters.convMethod(cin: 10, cout: 1), .col2im)
    }

    // MARK: a whole chain, CPU and OpenCL

    /// L = w·‖gram(maxpool(relu(conv3x3(x))) − A‖² / C², differentiated by chaining the
    /// backend's backward calls; CPU against finite differences of the Double chain, then the
    /// OpenCL backend against the CPU (1e-4 relative).
    func testStyleChainGradientMatchesFiniteDifferencesAndOpenCL() throws {
        let cpu = CPUBackend()
        let ocl = try OpenCLBackend(device: nil)
        let cin = 3, cout = 4, h = 7, w = 6  // odd height: the pool drops the last row
        let s = Shape(cin, h, w)
        let weight: Float = 1.7
        for centered in [false, true] {
            // inputs with every conv output |y| > δ and, in every pool window, the largest
            // ReLU output ahead of the second by > δ (δ = 0.01; one step of h moves y by
            // at most h·max|w| ≤ 4e-4), so the chain is smooth within ±h of x
            var rng = SeededRandom(seed: centered ? 202 : 201)
            var chosen: (x: [Float], wt: [Float], b: [Float])?
            for _ in 0..<1000 {
                let x = rng.uniformArray(s.count)
                let wt = rng.uniformArray(cout * cin * 9, -0.4, 0.4)
                let b = rng.uniformArray(cout, -0.2, 0.2)
                if GradRef.chainIsSmooth(x.d, s, wt.d, b.d, cout: cout, delta: 0.01) { chosen = (x, wt, b); break }
            }
            guard let chosen else { return XCTFail("no smooth chain input found") }
            let (x, wt, b) = chosen
            let a = rng.uniformArray(cout * cout, -0.5, 0.5)  // a random (non-symmetric) target Gram
            let label = "conv→relu→maxpool→gram\(centered ? " centred" : "")→style"

            let reference = GradRef.styleChain(x.d, s, wt.d, b.d, cout: cout, a: a.d, centered: centered)
            let (cpuLoss, cpuGrad) = try chainGradient(cpu, x, s, wt, b, cout: cout, target: a,
                                                       centered: centered, weight: weight)
            XCTAssertEqual(cpuLoss, reference, accuracy: 1e-5 * reference, "\(label) CPU value")
            let numeric = numericGradient(x) {
                Double(weight) * GradRef.styleChain($0, s, wt.d, b.d, cout: cout, a: a.d, centered: centered)
            }
            assertGradient(cpuGrad, numeric, "\(label) CPU")

            let (oclLoss, oclGrad) = try chainGradient(ocl, x, s, wt, b, cout: cout, target: a,
                                                       centered: centered, weight: weight)
            XCTAssertEqual(oclLoss, cpuLoss, accuracy: 1e-4 * cpuLoss, "\(label) OpenCL value")
            let scale = cpuGrad.map { abs(Double($0)) }.max() ?? 0
            XCTAssertGreaterThan(scale, 1e-6, "\(label): zero CPU gradient")
            let err = relativeError(oclGrad, cpuGrad.d)
            XCTAssertLessThan(err, 1e-4, "\(label): OpenCL gradient differs from the CPU's by \(err) (relative)")
        }
    }

    /// The check itself must be able to fail: the convolution's backward with unflipped or
    /// untransposed weights is rejected by a wide margin.
    func testFiniteDifferenceCheckRejectsAWrongBackward() throws {
        let cpu = CPUBackend()
        var rng = SeededRandom(seed: 108)
        let c = 3, s = Shape(c, 4, 5)
        let x = rng.uniformArray(s.count), wt = rng.uniformArray(c * c * 9, -0.5, 0.5), r = rng.uniformArray(s.count)
        let numeric = numericGradient(x) { GradRef.dot(r, GradRef.conv3x3($0, s, wt.d, nil, cout: c)) }
        let flipped = flippedConvWeights(wt, outChannels: c, inChannels: c)
        var transposedOnly = [Float](repeating: 0, count: wt.count)
        var rotatedOnly = transposedOnly
        for o in 0..<c { for i in 0..<c { for k in 0..<9 {
            transposedOnly[(i * c + o) * 9 + k] = wt[(o * c + i) * 9 + k]
            rotatedOnly[(o * c + i) * 9 + 8 - k] = wt[(o * c + i) * 9 + k]
        } } }
        func backward(_ weights: [Float]) throws -> [Float] {
            let dx = try cpu.makeTensor(s)
            try cpu.conv3x3(try cpu.tensor(r, s), weight: try cpu.tensor(weights, Shape(vector: weights.count)),
                            bias: nil, into: dx)
            return try cpu.download(dx)
        }
        XCTAssertLessThan(relativeError(try backward(flipped), numeric), Self.tolerance)
        for (name, wrong) in [("unflipped", wt), ("transposed only", transposedOnly), ("rotated only", rotatedOnly)] {
            XCTAssertGreaterThan(relativeError(try backward(wrong), numeric), 100 * Self.tolerance, name)
        }
        var scaled = try backward(flipped)
        for i in scaled.indices { scaled[i] *= 1.01 }
        XCTAssertGreaterThan(relativeError(scaled, numeric), Self.tolerance, "1% too large")
    }

    // MARK: helpers

    /// Runs the chain forward and back on a backend; returns the (unweighted) loss and ∂(w·L)/∂x.
    func chainGradient(_ be: Backend, _ x: [Float], _ s: Shape, _ wt: [Float], _ b: [Float], cout: Int,
                       target a: [Float], centered: Bool, weight: Float) throws -> (Double, [Float]) {
        let cin = s.channels
        let so = Shape(cout, s.height, s.width), sp = Shape(cout, s.height / 2, s.width / 2), gs = Shape(1, cout, cout)
        let xt = try be.tensor(x, s)
        let wtt = try be.tensor(wt, Shape(vector: wt.count))
        let ft = try be.tensor(flippedConvWeights(wt, outChannels: cout, inChannels: cin), Shape(vector: wt.count))
        let bt = try be.tensor(b, Shape(vector: cout))
        let y = try be.makeTensor(so), p = try be.makeTensor(sp), g = try be.makeTensor(gs)
        try be.conv3x3(xt, weight: wtt, bias: bt, into: y)
        try be.relu(y, into: y)
        try be.pool(.max, y, into: p)
        try be.gram(p, centered: centered, into: g)
        let dg = try be.makeTensor(gs)
        let loss = try be.styleLoss(g, target: try be.tensor(a, gs), weight: weight, gradient: dg)
        let dp = try be.makeTensor(sp)
        try be.fill(dp, 0)
        try be.accumulateGramBackward(dg, features: p, centered: centered, into: dp)
        let dy = try be.makeTensor(so)
        try be.poolBackward(.max, dp, input: y, into: dy)
        try be.reluBackward(dy, output: y, into: dy)
        let dx = try be.makeTensor(s)
        try be.conv3x3(dy, weight: ft, bias: nil, into: dx)
        try be.synchronize()
        return (loss, try be.download(dx))
    }

    /// Central differences of f in Double, for every element of x; h = 1e-3·max(1, max|x|).
    func numericGradient(_ x: [Float], _ f: ([Double]) -> Double) -> [Double] {
        let h = 1e-3 * max(1, x.map { abs(Double($0)) }.max() ?? 0)
        var xd = x.d
        var g = [Double](repeating: 0, count: x.count)
        for i in xd.indices {
            let v = xd[i]
            xd[i] = v + h
            let up = f(xd)
            xd[i] = v - h
            let down = f(xd)
            xd[i] = v
            g[i] = (up - down) / (2 * h)
        }
        return g
    }

    /// max|a − b| / max|b| (∞ on a length mismatch).
    func relativeError(_ a: [Float], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        var diff = 0.0, scale = 0.0
        for i in a.indices {
            diff = max(diff, abs(Double(a[i]) - b[i]))
            scale = max(scale, abs(b[i]))
        }
        return diff / scale
    }

    func assertGradient(_ analytic: [Float], _ numeric: [Double], _ label: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(analytic.count, numeric.count, "\(label): length", file: file, line: line)
        let scale = numeric.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 1e-6, "\(label): zero numeric gradient proves nothing", file: file, line: line)
        let err = relativeError(analytic, numeric)
        XCTAssertLessThan(err, Self.tolerance, "\(label): relative gradient error \(err)", file: file, line: line)
    }

    func assertClose(_ a: [Float], _ b: [Double], _ tol: Double, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        let err = relativeError(a, b)
        XCTAssertLessThanOrEqual(err, tol, "\(label): relative error \(err)", file: file, line: line)
    }

    func minus(_ a: [Float], _ b: [Float]) -> [Float] { zip(a, b).map { Float(Double($0) - Double($1)) } }

    func shuffle(_ x: inout [Float], _ rng: inout SeededRandom) {
        guard x.count > 1 else { return }
        for i in stride(from: x.count - 1, to: 0, by: -1) {
            x.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
    }

    /// Values in [−1, 1) with every vertical and horizontal neighbour difference ≥ margin.
    func tvInput(_ s: Shape, margin: Float, _ rng: inout SeededRandom) -> [Float] {
        var x = [Float](repeating: 0, count: s.count)
        for c in 0..<s.channels {
            for i in 0..<s.height {
                for j in 0..<s.width {
                    let k = (c * s.height + i) * s.width + j
                    var v: Float
                    repeat { v = rng.uniform(-1, 1) } while
                        (j > 0 && abs(v - x[k - 1]) < margin) || (i > 0 && abs(v - x[k - s.width]) < margin)
                    x[k] = v
                }
            }
        }
        return x
    }
}

private extension Array where Element == Float {
    var d: [Double] { map(Double.init) }
}

/// Independent Float64 forward definitions (loops, no BLAS, nothing shared with the engine).
private enum GradRef {
    static func dot(_ r: [Float], _ y: [Double]) -> Double {
        precondition(r.count == y.count)
        var s = 0.0
        for i in y.indices { s += Double(r[i]) * y[i] }
        return s
    }

    /// y[o,i,j] = b[o] + Σ_c,ky,kx w[o,c,ky,kx]·x[c, i+ky−1, j+kx−1], zero outside.
    static func conv3x3(_ x: [Double], _ s: Shape, _ w: [Double], _ b: [Double]?, cout: Int) -> [Double] {
        let cin = s.channels, h = s.height, wd = s.width
        var y = [Double](repeating: 0, count: cout * h * wd)
        for o in 0..<cout {
            for i in 0..<h {
                for j in 0..<wd {
                    var acc = b?[o] ?? 0
                    for c in 0..<cin {
                        for ky in 0..<3 {
                            let yy = i + ky - 1
                            if yy < 0 || yy >= h { continue }
                            for kx in 0..<3 {
                                let xx = j + kx - 1
                                if xx < 0 || xx >= wd { continue }
                                acc += w[((o * cin + c) * 3 + ky) * 3 + kx] * x[(c * h + yy) * wd + xx]
                            }
                        }
                    }
                    y[(o * h + i) * wd + j] = acc
                }
            }
        }
        return y
    }

    static func relu(_ x: [Double]) -> [Double] { x.map { max($0, 0) } }

    /// 2×2 stride 2, floor mode.
    static func pool(_ kind: PoolKind, _ x: [Double], _ s: Shape) -> [Double] {
        let h = s.height, w = s.width, oh = h / 2, ow = w / 2
        var y = [Double](repeating: 0, count: s.channels * oh * ow)
        for c in 0..<s.channels {
            for i in 0..<oh {
                for j in 0..<ow {
                    let v = [x[(c * h + 2 * i) * w + 2 * j], x[(c * h + 2 * i) * w + 2 * j + 1],
                             x[(c * h + 2 * i + 1) * w + 2 * j], x[(c * h + 2 * i + 1) * w + 2 * j + 1]]
                    y[(c * oh + i) * ow + j] = kind == .max ? v.max()! : v.reduce(0, +) / 4
                }
            }
        }
        return y
    }

    /// G[a,b] = Σ_k F[a,k]·F[b,k] / (H·W), F centred per channel when asked.
    static func gram(_ f: [Double], _ s: Shape, centered: Bool) -> [Double] {
        let c = s.channels, n = s.plane
        var fc = f
        if centered {
            for ch in 0..<c {
                let mean = fc[ch * n..<(ch + 1) * n].reduce(0, +) / Double(n)
                for k in 0..<n { fc[ch * n + k] -= mean }
            }
        }
        var g = [Double](repeating: 0, count: c * c)
        for a in 0..<c {
            for b in 0..<c {
                var acc = 0.0
                for k in 0..<n { acc += fc[a * n + k] * fc[b * n + k] }
                g[a * c + b] = acc / Double(n)
            }
        }
        return g
    }

    /// ‖F − P‖² / (C·H·W)
    static func contentLoss(_ f: [Double], _ p: [Double]) -> Double {
        var s = 0.0
        for i in f.indices { s += (f[i] - p[i]) * (f[i] - p[i]) }
        return s / Double(f.count)
    }

    /// ‖G − A‖² / C² (C² = the number of entries).
    static func styleLoss(_ g: [Double], _ a: [Double]) -> Double { contentLoss(g, a) }

    static func tv(_ x: [Double], _ s: Shape, _ kind: TVKind) -> Double {
        let h = s.height, w = s.width
        var total = 0.0
        for c in 0..<s.channels {
            for i in 0..<h {
                for j in 0..<w {
                    let k = (c * h + i) * w + j
                    let hasDown = i + 1 < h, hasRight = j + 1 < w
                    let dv = hasDown ? x[k + w] - x[k] : 0
                    let dh = hasRight ? x[k + 1] - x[k] : 0
                    switch kind {
                    case .l2:
                        total += dv * dv + dh * dh
                    case .l1:
                        total += abs(dv) + abs(dh)
                    case .power(let gf):
                        let g = Double(gf)
                        let eps = g < 1 ? Double(TVKind.epsilon) : 0
                        total += Foundation.pow(dv * dv + dh * dh + eps, g)
                    }
                }
            }
        }
        return total
    }

    /// ‖gram(maxpool(relu(conv(x) + b))) − A‖² / C²
    static func styleChain(_ x: [Double], _ s: Shape, _ w: [Double], _ b: [Double], cout: Int,
                           a: [Double], centered: Bool) -> Double {
        let so = Shape(cout, s.height, s.width)
        let p = pool(.max, relu(conv3x3(x, s, w, b, cout: cout)), so)
        return styleLoss(gram(p, Shape(cout, s.height / 2, s.width / 2), centered: centered), a)
    }

    /// Whether every conv output is ≥ delta from 0 and every pool window's largest ReLU
    /// output (when positive) leads the runner-up by ≥ delta.
    static func chainIsSmooth(_ x: [Double], _ s: Shape, _ w: [Double], _ b: [Double], cout: Int,
                              delta: Double) -> Bool {
        let y = conv3x3(x, s, w, b, cout: cout)
        if y.contains(where: { abs($0) < delta }) { return false }
        let z = relu(y), h = s.height, wd = s.width
        for c in 0..<cout {
            for i in 0..<h / 2 {
                for j in 0..<wd / 2 {
                    let o = (c * h + 2 * i) * wd + 2 * j
                    let v = [z[o], z[o + 1], z[o + wd], z[o + wd + 1]].sorted(by: >)
                    if v[0] > 0 && v[0] - v[1] < delta { return false }
                }
            }
        }
        return true
    }
}
