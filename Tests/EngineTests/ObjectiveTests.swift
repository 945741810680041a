import XCTest
@testable import Engine

/// The whole loss through the network: its gradient against finite differences, and the two
/// backends against each other.
final class ObjectiveTests: XCTestCase {
    /// Float32 forward passes: the finite difference uses a step large enough to rise above
    /// rounding, and the comparison is on the projection onto a few random directions.
    func checkObjectiveGradient(config: LossConfig, pooling: PoolKind, backend: Backend) throws {
        let h = 20, w = 18
        var rng = SeededRandom(seed: 5)
        let weights = ModelWeights.random(.vgg19, seed: 1)
        let net = try VGGNetwork(weights: weights, backend: backend, pooling: pooling,
                                 depth: try Architecture.vgg19.layerIndex("relu3_1"))
        let content = rng.uniformArray(3 * h * w, -100, 100)
        let style = rng.uniformArray(3 * 16 * 14, -100, 100)
        let obj = try StyleObjective(network: net, config: config, height: h, width: w, content: content,
                                     style: (style, 16, 14))
        let x0 = rng.uniformArray(3 * h * w, -100, 100)
        let x = try backend.tensor(x0, Shape(3, h, w))
        let g = try backend.makeTensor(3, h, w)
        _ = try obj.evaluate(x, gradient: g)
        let grad = try backend.download(g)
        for _ in 0..<3 {
            let dir = rng.uniformArray(3 * h * w)
            let eps: Float = 0.01
            let xp = try backend.tensor(zip(x0, dir).map { $0 + eps * $1 }, x.shape)
            let xm = try backend.tensor(zip(x0, dir).map { $0 - eps * $1 }, x.shape)
            let fd = (try obj.evaluate(xp, gradient: nil).total - obj.evaluate(xm, gradient: nil).total) / Double(2 * eps)
            let an = zip(grad, dir).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(an, fd, accuracy: 0.03 * max(abs(fd), 1e-6), "directional derivative (float32 loss, ReLU and max-pool kinks: 3%)")
        }
    }

    func config(content: String?, style: [String], tv: TVKind = .l2) -> LossConfig {
        var c = LossConfig()
        c.contentLayer = content
        c.styleLayers = style
        c.styleWeight = 3
        c.tvWeight = 1e-3
        c.tv = tv
        return c
    }

    func testContentGradientThroughTheNetwork() throws {
        try checkObjectiveGradient(config: config(content: "relu2_2", style: []), pooling: .max, backend: CPUBackend())
        try checkObjectiveGradient(config: config(content: "conv3_1", style: []), pooling: .avg, backend: CPUBackend())
    }

    func testStyleGradientThroughTheNetwork() throws {
        try checkObjectiveGradient(config: config(content: nil, style: ["relu1_1", "relu2_1", "conv3_1"]),
                                   pooling: .max, backend: CPUBackend())
    }

    func testFullObjectiveGradientOnOpenCL() throws {
        try checkObjectiveGradient(config: config(content: "relu2_2", style: ["relu1_1", "relu2_1", "relu3_1"], tv: .power(1.25)),
                                   pooling: .max, backend: try OpenCLBackend(device: nil))
    }
}
