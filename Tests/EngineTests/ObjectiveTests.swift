import XCTest
@testable import Engine

/// The whole loss through the network: its gradient against finite differences, and the two
/// backends against each other.
final class ObjectiveTests: XCTestCase {
    /// Float32 forward passes: the finite difference uses a step large enough to rise above
    /// rounding, and the comparison is on the projection onto a few random directions.
    func checkObjectiveGradient(config: LossConfig, pooling: PoolKind, backend: Backend, step eps: Float = 0.01,
                                tolerance: Double = 0.03, configure: (inout [LossTermSpec]) -> Void = { _ in }) throws {
        let h = 20, w = 18
        var rng = SeededRandom(seed: 5)
        let weights = ModelWeights.random(.vgg19, seed: 1)
        let net = try VGGNetwork(weights: weights, backend: backend, pooling: pooling,
                                 depth: try Architecture.vgg19.layerIndex("relu3_1"))
        let content = rng.uniformArray(3 * h * w, -100, 100)
        let style = rng.uniformArray(3 * 16 * 14, -100, 100)
        let obj = try Objective(network: net, config: config, height: h, width: w, content: content,
                                     style: (style, 16, 14), configure: configure)
        let x0 = rng.uniformArray(3 * h * w, -100, 100)
        let x = try backend.tensor(x0, Shape(3, h, w))
        let g = try backend.makeTensor(3, h, w)
        _ = try obj.evaluate(x, gradient: g)
        let grad = try backend.download(g)
        for _ in 0..<3 {
            let dir = rng.uniformArray(3 * h * w)
            let xp = try backend.tensor(zip(x0, dir).map { $0 + eps * $1 }, x.shape)
            let xm = try backend.tensor(zip(x0, dir).map { $0 - eps * $1 }, x.shape)
            let fd = (try obj.evaluate(xp, gradient: nil).total - obj.evaluate(xm, gradient: nil).total) / Double(2 * eps)
            let an = zip(grad, dir).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(an, fd, accuracy: tolerance * max(abs(fd), 1e-6), "directional derivative (float32 loss, ReLU and max-pool kinks)")
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

    /// The feature means beside the Gram matrix, plain and masked, at conv1_1: before any ReLU
    /// the loss is a polynomial in x, so a larger step and 0.3 % hold where kinks would need 3 %.
    /// λ = 1e5 makes the means most of the gradient: a 20 % error in their backward fails.
    func checkStyleMeansGradient(_ backend: Backend) throws {
        var c = config(content: nil, style: ["conv1_1"])
        c.styleMeanWeight = 1e5
        try checkObjectiveGradient(config: c, pooling: .max, backend: backend, step: 0.1, tolerance: 0.003)
        try checkObjectiveGradient(config: c, pooling: .max, backend: backend, step: 0.1, tolerance: 0.003, configure: masked)
    }

    func testStyleMeansGradientThroughTheNetworkOnCPU() throws { try checkStyleMeansGradient(CPUBackend()) }

    func testStyleMeansGradientThroughTheNetworkOnOpenCL() throws { try checkStyleMeansGradient(try OpenCLBackend(device: nil)) }

    /// A video's frames share the style targets (`Objective.Targets`): an objective that takes
    /// the Gram matrices and the means from the store evaluates as one that computed them.
    func testKeptStyleTargetsIncludeTheMeans() throws {
        let backend = CPUBackend()
        var rng = SeededRandom(seed: 8)
        let net = try VGGNetwork(weights: ModelWeights.random(.vgg19, seed: 1), backend: backend, pooling: .max,
                                 depth: try Architecture.vgg19.layerIndex("relu2_1"))
        let style = rng.uniformArray(3 * 16 * 14, -100, 100)
        var spec = StyleTerm.Spec(layers: ["relu1_1", "relu2_1"], layerWeights: [0.5, 0.5], weight: 3,
                                  sources: [StyleTerm.Source(pixels: { style }, height: 16, width: 14)])
        spec.meanWeight = 1e4
        spec.targetKey = "noise"
        let store = Objective.Targets()
        let x = try backend.tensor(rng.uniformArray(3 * 20 * 18, -100, 100), Shape(3, 20, 18))
        var results: [(Double, [Float])] = []
        for targets in [store, store, nil] {
            let obj = try Objective(network: net, height: 20, width: 18, tile: nil, specs: [spec], targets: targets)
            let g = try backend.makeTensor(3, 20, 18)
            let total = try obj.evaluate(x, gradient: g).total
            results.append((total, try backend.download(g)))
        }
        XCTAssertEqual(store.tensors.count, 2, "the Gram matrices and the means, each under its key")
        for r in results.dropFirst() {
            XCTAssertEqual(r.0, results[0].0)
            XCTAssertEqual(r.1, results[0].1)
        }
    }

    /// Guided Gram matrices (a soft mask on the output and a region on the style image) and the
    /// content weight map: the multiply_plane kernel forward and in the backward pass.
    func masked(_ specs: inout [LossTermSpec]) {
        var rng = SeededRandom(seed: 12)
        let mask = GreyMap(width: 18, height: 20, values: (0..<(18 * 20)).map { _ in rng.uniform(0, 1) })
        let region = GreyMap(width: 14, height: 16, values: (0..<(14 * 16)).map { i in i % 3 == 0 ? 0 : 1 })
        for k in specs.indices {
            if var c = specs[k] as? ContentTerm.Spec { c.weightMap = mask; specs[k] = c }
            if var st = specs[k] as? StyleTerm.Spec {
                st.mask = { mask }
                st.sources[0].region = region
                specs[k] = st
            }
        }
    }

    func testMaskedObjectiveGradientOnCPU() throws {
        try checkObjectiveGradient(config: config(content: "relu2_2", style: ["relu1_1", "relu2_1", "conv3_1"]),
                                   pooling: .max, backend: CPUBackend(), configure: masked)
    }

    func testMaskedObjectiveGradientOnOpenCL() throws {
        try checkObjectiveGradient(config: config(content: "relu2_2", style: ["relu1_1", "relu2_1"]),
                                   pooling: .avg, backend: try OpenCLBackend(device: nil), configure: masked)
    }

    func testFullObjectiveGradientOnOpenCL() throws {
        try checkObjectiveGradient(config: config(content: "relu2_2", style: ["relu1_1", "relu2_1", "relu3_1"], tv: .power(1.25)),
                                   pooling: .max, backend: try OpenCLBackend(device: nil))
    }
}
