import XCTest
@testable import Engine

/// Issue: large images — tiled evaluation equals whole-image evaluation, coarse-to-fine runs,
/// tiles leave no seams, and the memory model matches what the CPU backend really uses.
final class LargeImageTests: XCTestCase {
    /// An image large enough for several tiles with the relu5_1 halo (80 px): 3×3 tiles of 48 px
    /// interior at 136×120 — every tile's halo is clipped at some edge, the middle one at none.
    func compareTiledWithWhole(backend: Backend, layers: [String], content: String?,
                               maxTolerance: Float? = 1e-4, l2Tolerance: Double = 1e-4) throws {
        let h = 136, w = 120
        var rng = SeededRandom(seed: 21)
        var config = LossConfig()
        config.contentLayer = content
        config.styleLayers = layers
        config.styleWeight = 5
        config.tvWeight = 1e-6
        let weights = ModelWeights.random(.vgg19, seed: 2)
        let depth = try ([content].compactMap { $0 } + layers).map { try Architecture.vgg19.layerIndex($0) }.max()!
        let net = try VGGNetwork(weights: weights, backend: backend, pooling: .max, depth: depth)
        let c = rng.uniformArray(3 * h * w, -100, 100)
        let s = (pixels: rng.uniformArray(3 * 72 * 88, -100, 100), height: 72, width: 88)
        let whole = try Objective(network: net, config: config, height: h, width: w, content: c, style: s)
        let tiled = try Objective(network: net, config: config, height: h, width: w, tile: 48, content: c, style: s)
        XCTAssertGreaterThan(tiled.plan.tiles(height: h, width: w).count, 4)
        let x = try backend.tensor(rng.uniformArray(3 * h * w, -100, 100), Shape(3, h, w))
        let g1 = try backend.makeTensor(3, h, w), g2 = try backend.makeTensor(3, h, w)
        let t1 = try whole.evaluate(x, gradient: g1)
        let t2 = try tiled.evaluate(x, gradient: g2)
        XCTAssertEqual(t2.content, t1.content, accuracy: 1e-4 * abs(t1.content) + 1e-12, "content")
        for (a, b) in zip(t2.stylePerLayer, t1.stylePerLayer) { XCTAssertEqual(a, b, accuracy: 1e-4 * abs(b), "style") }
        XCTAssertEqual(t2.tv, t1.tv, accuracy: 1e-6 * abs(t1.tv))
        // gradient: max |tiled − whole| relative to max |whole|, and ‖tiled − whole‖ / ‖whole‖
        let a = try backend.download(g2), b = try backend.download(g1)
        let err = zip(a, b).map { abs($0 - $1) }.max()! / b.map(abs).max()!
        var dd = 0.0, bb = 0.0
        for (p, q) in zip(a, b) { dd += Double(p - q) * Double(p - q); bb += Double(q) * Double(q) }
        let l2 = (dd / bb).squareRoot()
        print("tiled vs whole-image gradient on \(backend.kind): max \(err), L2 \(l2)")
        if let tol = maxTolerance { XCTAssertLessThan(err, tol, "tiled gradient differs from the whole-image gradient by \(err)") }
        XCTAssertLessThan(l2, l2Tolerance, "tiled gradient differs from the whole-image gradient by \(l2) (L2)")
    }

    /// With the plain convolutions (im2col + GEMM) tiles and whole image differ only in summation
    /// order (measured: 7.7e-7 at the worst pixel, relative to the largest). The default Winograd
    /// path rounds each value a little differently in a tile than in the whole image (~1e-5
    /// relative), and with random weights some max-pooling windows hold near-ties: where the
    /// choice flips, the gradient (a subgradient there) changes over the patch the window sees.
    /// Measured: 1.1e-2 at the worst pixel, 3.3e-3 over the whole gradient (L2), with the losses
    /// equal to 1e-4; that case is held to 2e-2 in L2.
    func testTiledEqualsWholeOnCPU() throws {
        let layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
        let plain = CPUBackend()
        plain.parameters.winogradMinChannels = nil
        plain.parameters.col2imForFewOutputs = false
        try compareTiledWithWhole(backend: plain, layers: layers, content: "relu4_2")
        try compareTiledWithWhole(backend: CPUBackend(), layers: layers, content: "relu4_2", maxTolerance: nil, l2Tolerance: 2e-2)
    }

    func testTiledEqualsWholeOnOpenCL() throws {
        try compareTiledWithWhole(backend: try OpenCLBackend(device: nil), layers: ["relu1_1", "relu3_1"],
                                  content: "conv3_2")
    }

    func testHaloCoversTheReceptiveField() {
        let a = Architecture.vgg19
        XCTAssertEqual(a.receptiveRadius(upTo: try! a.layerIndex("relu5_1")), 2 * 1 + 2 * 2 + 4 * 4 + 4 * 8 + 16)
        XCTAssertEqual(a.alignment(upTo: try! a.layerIndex("relu5_1")), 16)
        XCTAssertEqual(a.alignment(upTo: try! a.layerIndex("relu1_1")), 1)
    }

    /// Coarse to fine on small sizes, and tiled at the last scale, end to end.
    func testCoarseToFineRunsAndTiles() throws {
        var rng = SeededRandom(seed: 4)
        let content = RGBImage(width: 96, height: 80, pixels: rng.uniformArray(96 * 80 * 3, 0, 255))
        let style = RGBImage(width: 64, height: 64, pixels: rng.uniformArray(64 * 64 * 3, 0, 255))
        var o = TransferOptions()
        o.scaleSizes = [24, 48, 96]
        o.size = 96
        o.iterations = 4
        o.scaleIterations = [2]
        o.tile = 32
        o.loss.styleLayers = ["relu1_1", "relu2_1"]
        o.loss.contentLayer = "relu2_2"
        let t = try StyleTransfer(backend: CPUBackend(), weights: .random(.vgg19, seed: 1), options: o)
        var seen: [Int] = []
        let r = try t.run(content: content, style: style) { step, x in seen.append(x.shape.width); return true }
        XCTAssertEqual(r.plans.map(\.width), [24, 48, 96])
        XCTAssertEqual(r.plans.map(\.tile), [32, 32, 32])
        XCTAssertEqual(r.evaluations, 2 + 2 + 4)
        XCTAssertEqual(r.secondsPerIterationByScale.count, 3)
        o.scaleIterations = [3, 1]
        XCTAssertEqual((0..<3).map { o.iterations(atScale: $0, of: 3) }, [3, 1, 4])
        o.scaleIterations = [3, 1, 1]
        XCTAssertThrowsError(try o.validate())
        XCTAssertEqual(Set(seen), [24, 48, 96])
        XCTAssertEqual(r.image.width, 96)
        XCTAssertEqual(r.image.height, 80)
    }

    /// Tiles leave no seams: the tiled run's output equals the whole-image run's up to float
    /// rounding, so no step in local statistics along tile borders can exceed the untiled one's.
    func testNoSeamsAlongTileBorders() throws {
        var rng = SeededRandom(seed: 8)
        let content = RGBImage(width: 112, height: 112, pixels: rng.uniformArray(112 * 112 * 3, 0, 255))
        let style = RGBImage(width: 64, height: 64, pixels: rng.uniformArray(64 * 64 * 3, 0, 255))
        var o = TransferOptions()
        o.size = 112
        o.iterations = 5
        o.loss.styleLayers = ["relu1_1", "relu2_1", "relu3_1"]
        o.loss.contentLayer = "relu3_2"
        let weights = ModelWeights.random(.vgg19, seed: 5)
        let whole = try StyleTransfer(backend: CPUBackend(), weights: weights, options: o).run(content: content, style: style)
        o.tile = 48
        let tiled = try StyleTransfer(backend: CPUBackend(), weights: weights, options: o).run(content: content, style: style)
        XCTAssertEqual(tiled.plans.last?.tile, 48)
        // mean absolute step across each vertical tile border (x = 48, 96) vs elsewhere
        func borderStep(_ img: RGBImage, _ col: Int) -> Double {
            var s = 0.0
            for y in 0..<img.height { for c in 0..<3 {
                s += Double(abs(img.pixels[(y * img.width + col) * 3 + c] - img.pixels[(y * img.width + col - 1) * 3 + c]))
            } }
            return s / Double(img.height * 3)
        }
        for col in [48, 96] {
            XCTAssertLessThanOrEqual(borderStep(tiled.image, col), borderStep(whole.image, col) + 0.5, "seam at x = \(col)")
        }
        // same optimisation up to float summation order, which L-BFGS amplifies a little
        let diffs = zip(tiled.image.pixels, whole.image.pixels).map { Double(abs($0 - $1)) }
        let mean = diffs.reduce(0, +) / Double(diffs.count)
        XCTAssertLessThan(mean, 0.25, "tiled and whole-image outputs differ by \(mean) levels on average")
        XCTAssertLessThan(diffs.max()!, 8, "tiled and whole-image outputs differ by up to \(diffs.max()!) levels")
    }

    func testOverBudgetGivesTheLargestSizeThatFits() throws {
        // planning needs only the images' shapes: a square style is sized to the output
        let tiny = RGBImage(width: 16, height: 16, pixels: [Float](repeating: 0, count: 16 * 16 * 3))
        let square = TransferInputs(content: tiny, style: tiny)
        var o = TransferOptions()
        o.size = 4096
        o.memoryLimit = 64 << 20
        let t = try StyleTransfer(backend: CPUBackend(), weights: .random(.vgg19, seed: 1), options: o)
        XCTAssertThrowsError(try t.plan(square, width: 4096, height: 4096, iterations: 1)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("too small for any image"), m)
        }
        o.memoryLimit = 800 << 20
        let t1 = try StyleTransfer(backend: CPUBackend(), weights: .random(.vgg19, seed: 1), options: o)
        XCTAssertThrowsError(try t1.plan(square, width: 4096, height: 4096, iterations: 1)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("largest output that fits"), m)
        }
        // history 100 at 2048²: the optimiser alone needs 10 GiB, so no tiling helps
        o.memoryLimit = 2 << 30
        let t2 = try StyleTransfer(backend: CPUBackend(), weights: .random(.vgg19, seed: 1), options: o)
        XCTAssertThrowsError(try t2.plan(square, width: 2048, height: 2048, iterations: 1))
        // history 5: tiles make it fit
        o.lbfgsHistory = 5
        let t3 = try StyleTransfer(backend: CPUBackend(), weights: .random(.vgg19, seed: 1), options: o)
        let p = try t3.plan(square, width: 2048, height: 2048, iterations: 1)
        XCTAssertNotNil(p.tile, "2048² cannot fit 2 GiB whole")
        XCTAssertLessThanOrEqual(p.estimatedBytes, 2 << 30)
    }
}
