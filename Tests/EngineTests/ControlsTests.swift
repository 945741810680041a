import XCTest
@testable import Engine

/// The perceptual controls end to end on the Engine API: several styles and their blend, masks
/// (guided Gram matrices), the content weight map, scale control and the three colour modes —
/// each against a case whose answer is known, tiled against whole, on both backends.
final class ControlsTests: XCTestCase {
    static let weights = ModelWeights.random(.vgg19, seed: 3)

    /// Smooth and warm: a low-frequency gradient.
    static func smooth(_ w: Int, _ h: Int) -> RGBImage {
        var px: [Float] = []
        for y in 0..<h { for x in 0..<w {
            px += [200 + 40 * Float(x) / Float(w), 90 + 60 * Float(y) / Float(h), 40]
        } }
        return RGBImage(width: w, height: h, pixels: px)
    }

    /// Busy and cold: a 2-px checkerboard of blue and yellow with noise.
    static func busy(_ w: Int, _ h: Int, seed: UInt64 = 9) -> RGBImage {
        var rng = SeededRandom(seed: seed)
        var px: [Float] = []
        for y in 0..<h { for x in 0..<w {
            let on = ((x / 2) + (y / 2)) % 2 == 0
            px += (on ? [30, 60, 230] : [240, 230, 20]).map { $0 + rng.uniform(-20, 20) }
        } }
        return RGBImage(width: w, height: h, pixels: px.map { min(255, max(0, $0)) })
    }

    static func noise(_ w: Int, _ h: Int, seed: UInt64) -> RGBImage {
        var rng = SeededRandom(seed: seed)
        return RGBImage(width: w, height: h, pixels: rng.uniformArray(w * h * 3, 0, 255))
    }

    func transfer(_ backend: Backend = CPUBackend(), _ edit: (inout TransferOptions) -> Void = { _ in }) throws -> StyleTransfer {
        var o = TransferOptions()
        o.size = 40
        o.iterations = 4
        o.lbfgsHistory = 10
        o.loss.contentLayer = "relu3_2"
        o.loss.styleLayers = ["relu1_1", "relu2_1", "relu3_1"]
        o.loss.tvWeight = 1e-4
        edit(&o)
        return try StyleTransfer(backend: backend, weights: Self.weights, options: o)
    }

    /// The loss and its gradient at a fixed image of width × height.
    func evaluate(_ t: StyleTransfer, _ inputs: TransferInputs, width: Int = 40, height: Int = 32,
                  tile: Int? = nil) throws -> (LossTerms, [Float]) {
        let objective = try t.makeObjective(t.prepared(inputs), width: width, height: height, tile: tile)
        var rng = SeededRandom(seed: 17)
        let x = try t.backend.tensor(rng.uniformArray(3 * width * height, -80, 80), Shape(3, height, width))
        let g = try t.backend.makeTensor(3, height, width)
        let terms = try objective.evaluate(x, gradient: g)
        return (terms, try t.backend.download(g))
    }

    func maxRelative(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max()! / max(b.map(abs).max()!, 1e-30)
    }

    func style(_ image: RGBImage, _ edit: (inout StyleInput) -> Void = { _ in }) -> StyleInput {
        var s = StyleInput(image: image)
        edit(&s)
        return s
    }

    // MARK: several styles

    /// Blend weights 1,0 give the first style's target; the same style twice at 0.5,0.5 gives it
    /// too. Both are exact (0 + 1·G and ½G + ½G round to G), so the runs' images are equal. The
    /// same holds for the feature means' targets (λ = 1e4).
    func testBlendOneZeroAndTheSameStyleTwiceEqualTheSingleStyle() throws {
        for meanWeight: Float? in [nil, 1e4] {
            let t = try transfer { $0.loss.styleMeanWeight = meanWeight }
            let content = Self.noise(40, 32, seed: 1), a = Self.busy(36, 30), b = Self.smooth(30, 36)
            let single = TransferInputs(content: content, styles: [style(a)])
            let oneZero = TransferInputs(content: content, styles: [style(a), style(b) { $0.blend = 0 }])
            let twice = TransferInputs(content: content, styles: [style(a) { $0.blend = 0.5 }, style(a) { $0.blend = 0.5 }])
            let (t0, g0) = try evaluate(t, single)
            for (name, inputs) in [("1,0", oneZero), ("twice 0.5,0.5", twice)] {
                let label = "\(name), λ \(meanWeight ?? 0)"
                let (t1, g1) = try evaluate(t, inputs)
                XCTAssertEqual(t1.total, t0.total, label)
                XCTAssertEqual(t1.stylePerLayer, t0.stylePerLayer, label)
                XCTAssertEqual(g1, g0, label)
                XCTAssertEqual(try t.run(inputs).image.pixels, try t.run(single).image.pixels, label)
            }
            // and the blend does mix: 1,1 of two different styles is neither
            let (tb, _) = try evaluate(t, TransferInputs(content: content, styles: [style(a), style(b)]))
            XCTAssertGreaterThan(abs(tb.style - t0.style), 1e-3 * t0.style)
        }
    }

    /// Scale control: style 1 only at relu2_1 and relu3_1, style 2 only at relu1_1 — each layer's
    /// value is that of the style that owns it.
    func testStyleLayersOfGivesEachLayerItsStyle() throws {
        let t = try transfer()
        let content = Self.noise(40, 32, seed: 1), a = Self.busy(36, 30), b = Self.smooth(30, 36)
        let (mixed, _) = try evaluate(t, TransferInputs(content: content, styles: [
            style(a) { $0.layers = ["relu2_1", "relu3_1"] }, style(b) { $0.layers = ["relu1_1"] }]))
        let (onlyA, _) = try evaluate(t, TransferInputs(content: content, styles: [style(a)]))
        let (onlyB, _) = try evaluate(t, TransferInputs(content: content, styles: [style(b)]))
        XCTAssertEqual(mixed.stylePerLayer[0], onlyB.stylePerLayer[0])
        XCTAssertEqual(Array(mixed.stylePerLayer[1...]), Array(onlyA.stylePerLayer[1...]))
        XCTAssertNotEqual(onlyA.stylePerLayer[0], onlyB.stylePerLayer[0])
    }

    // MARK: masks

    func testMaskOfOnesEqualsNoMask() throws {
        for backend in [CPUBackend() as Backend, try OpenCLBackend(device: nil)] {
            let t = try transfer(backend)
            let content = Self.noise(40, 32, seed: 1), a = Self.busy(36, 30)
            let (t0, g0) = try evaluate(t, TransferInputs(content: content, styles: [style(a)]))
            let (t1, g1) = try evaluate(t, TransferInputs(content: content, styles: [
                style(a) { $0.mask = GreyMap(width: 20, height: 16, constant: 1) }]),
                                       width: 40, height: 32)
            XCTAssertEqual(t1.total, t0.total, accuracy: 1e-6 * t0.total, backend.kind)
            XCTAssertLessThan(maxRelative(g1, g0), 1e-5, backend.kind)
            // a content weight map of ones is the plain content term
            let (t2, g2) = try evaluate(t, TransferInputs(content: content, styles: [style(a)],
                                                          contentWeightMap: GreyMap(width: 8, height: 8, constant: 1)))
            XCTAssertEqual(t2.content, t0.content, accuracy: 1e-6 * t0.content, backend.kind)
            XCTAssertLessThan(maxRelative(g2, g0), 1e-5, backend.kind)
        }
    }

    static func half(_ w: Int, _ h: Int, left: Bool) -> GreyMap {
        GreyMap(width: w, height: h, values: (0..<(w * h)).map { p in ((p % w) < w / 2) == left ? 1 : 0 })
    }

    /// Two complementary half masks: after stylising, each half's guided Gram matrices are nearer
    /// its own style's than the other style's (the style loss restricted to that half is lower
    /// against its own style), while before — from the same content — neither half leaned so.
    func testComplementaryHalfMasksGiveEachHalfItsStyle() throws {
        let t = try transfer { $0.iterations = 40; $0.size = 48 }
        let content = RGBImage(width: 48, height: 48, pixels: [Float](repeating: 128, count: 48 * 48 * 3))
        let a = Self.busy(48, 48), b = Self.smooth(48, 48)
        let left = Self.half(48, 48, left: true), right = Self.half(48, 48, left: false)
        let result = try t.run(TransferInputs(content: content, styles: [style(a) { $0.mask = left }, style(b) { $0.mask = right }]))
        let scorer = try transfer { $0.loss.contentLayer = nil; $0.loss.tvWeight = 0 }
        func styleLoss(_ image: RGBImage, _ s: RGBImage, _ m: GreyMap) throws -> Double {
            let objective = try scorer.makeObjective(TransferInputs(content: nil, styles: [style(s) { $0.mask = m }]),
                                                     width: 48, height: 48)
            let x = try scorer.backend.tensor(image.networkInput(), Shape(3, 48, 48))
            return try objective.evaluate(x, gradient: nil).style
        }
        let leftOwn = try styleLoss(result.image, a, left), leftOther = try styleLoss(result.image, b, left)
        let rightOwn = try styleLoss(result.image, b, right), rightOther = try styleLoss(result.image, a, right)
        print("masked halves: left \(leftOwn) vs \(leftOther), right \(rightOwn) vs \(rightOther)")
        XCTAssertLessThan(leftOwn, 0.5 * leftOther)
        XCTAssertLessThan(rightOwn, 0.5 * rightOther)
    }

    /// Tiles with masks, a style region and the content weight map equal the whole image, with
    /// the feature means as a large part of the style term (λ = 1e4).
    func checkTiledEqualsWhole(_ backend: Backend, layers: [String], content layer: String, tolerance: Float) throws {
        let t = try transfer(backend) {
            $0.loss.styleLayers = layers; $0.loss.contentLayer = layer; $0.size = 120; $0.loss.styleMeanWeight = 1e4
        }
        var rng = SeededRandom(seed: 3)
        let ramp = GreyMap(width: 30, height: 25, values: (0..<(30 * 25)).map { Float($0 % 30) / 29 })
        let spot = GreyMap(width: 30, height: 25, values: (0..<(30 * 25)).map { _ in rng.uniform(0, 1) })
        let inputs = TransferInputs(content: Self.noise(120, 100, seed: 5), styles: [
            style(Self.busy(64, 60)) { $0.mask = ramp; $0.region = spot },
            style(Self.smooth(50, 70)) { $0.mask = spot; $0.scale = 0.5 },
        ], contentWeightMap: ramp)
        let (whole, gw) = try evaluate(t, inputs, width: 120, height: 100)
        let (tiled, gt) = try evaluate(t, inputs, width: 120, height: 100, tile: 48)
        XCTAssertEqual(whole.terms.count, 4, "content, two masked styles, tv")
        XCTAssertEqual(tiled.content, whole.content, accuracy: 1e-4 * whole.content)
        for (p, q) in zip(tiled.stylePerLayer, whole.stylePerLayer) { XCTAssertEqual(p, q, accuracy: 1e-4 * q) }
        let err = maxRelative(gt, gw)
        print("tiled vs whole with controls on \(backend.kind): max \(err)")
        XCTAssertLessThan(err, tolerance)
    }

    func testTiledEqualsWholeWithControlsOnCPU() throws {
        let plain = CPUBackend()
        plain.parameters.winogradMinChannels = nil
        plain.parameters.col2imForFewOutputs = false
        try checkTiledEqualsWhole(plain, layers: ["relu1_1", "relu2_1", "relu3_1", "relu4_1"], content: "relu4_2", tolerance: 1e-4)
    }

    func testTiledEqualsWholeWithControlsOnOpenCL() throws {
        try checkTiledEqualsWhole(try OpenCLBackend(device: nil), layers: ["relu1_1", "relu3_1"], content: "conv3_2", tolerance: 1e-4)
    }

    // MARK: colour

    /// Luminance-only transfer keeps the content's chroma: the output's I and Q equal the
    /// content's within 1/255 wherever no channel was clamped.
    func testLuminanceOnlyKeepsTheContentChroma() throws {
        let t = try transfer { $0.preserveColor = .luminance; $0.size = 40 }
        let content = Self.smooth(40, 32), a = Self.busy(36, 30)
        let inputs = TransferInputs(content: content, styles: [style(a)])
        let prepared = t.prepared(inputs)
        XCTAssertEqual(prepared.content!.pixels.count, content.pixels.count)
        let grey = prepared.content!.pixels
        for p in Swift.stride(from: 0, to: grey.count, by: 3) {
            let r: Float = grey[p], g: Float = grey[p + 1], b: Float = grey[p + 2]
            XCTAssertTrue(r == g && g == b, "the luminance content is grey")
        }
        let result = try t.run(inputs).image
        var checked = 0
        for p in 0..<(40 * 32) {
            let o = Array(result.pixels[(3 * p)..<(3 * p + 3)]), c = Array(content.pixels[(3 * p)..<(3 * p + 3)])
            guard o.allSatisfy({ $0 > 0 && $0 < 255 }) else { continue }
            let (_, oi, oq) = RGBImage.yiq(fromRGB: o[0], o[1], o[2]), (_, ci, cq) = RGBImage.yiq(fromRGB: c[0], c[1], c[2])
            XCTAssertEqual(oi, ci, accuracy: 1 / 255)
            XCTAssertEqual(oq, cq, accuracy: 1 / 255)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 40 * 32 / 2)
        // and the luminance did change: it is a stylisation, not a copy
        let dy = zip(result.luminancePlane, content.luminancePlane).map { abs($0 - $1) }.reduce(0, +) / Float(40 * 32)
        XCTAssertGreaterThan(dy, 2)
    }

    /// The histogram-matched style has the content's RGB mean and covariance (relative Frobenius
    /// error ≤ 1 %), for the three matrix square roots, at the size the style term uses.
    func testHistogramMatchedStyleHasTheContentStatistics() throws {
        let content = Self.smooth(48, 40), style = Self.busy(36, 30)
        for method in ColorMatch.allCases {
            let t = try transfer { $0.preserveColor = .histogram(method) }
            let s = t.prepared(TransferInputs(content: content, styles: [StyleInput(image: style)])).styles[0]
            let used = s.image(width: 30, height: 25).colorStatistics, target = content.colorStatistics
            for c in 0..<3 { XCTAssertEqual(used.mean[c], target.mean[c], accuracy: 1e-2, "\(method) mean") }
            let diff = zip(used.covariance, target.covariance).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            let norm = target.covariance.map { $0 * $0 }.reduce(0, +).squareRoot()
            XCTAssertLessThan(diff / norm, 0.01, "\(method)")
        }
    }

    /// `post` keeps the stylised luminance and puts the content's chroma back.
    func testPostPutsTheContentChromaBack() throws {
        let t = try transfer { $0.preserveColor = .post }
        let content = Self.smooth(40, 32)
        let stylised = Self.busy(40, 32)
        let out = t.recombined(stylised, TransferInputs(content: content, style: nil))
        for p in Swift.stride(from: 0, to: 40 * 32, by: 37) {
            let (oy, oi, oq) = RGBImage.yiq(fromRGB: out.pixels[3 * p], out.pixels[3 * p + 1], out.pixels[3 * p + 2])
            let (sy, _, _) = RGBImage.yiq(fromRGB: stylised.pixels[3 * p], stylised.pixels[3 * p + 1], stylised.pixels[3 * p + 2])
            let (_, ci, cq) = RGBImage.yiq(fromRGB: content.pixels[3 * p], content.pixels[3 * p + 1], content.pixels[3 * p + 2])
            XCTAssertEqual(oy, sy, accuracy: 1e-3)
            XCTAssertEqual(oi, ci, accuracy: 1 / 255)
            XCTAssertEqual(oq, cq, accuracy: 1 / 255)
        }
    }
}
