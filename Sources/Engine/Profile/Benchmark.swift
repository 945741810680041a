import Foundation

/// Times full style-transfer iterations (L-BFGS, loss and gradient through VGG-19 up to
/// relu5_1, content relu4_2, style relu1_1…relu5_1) on synthetic images, after a warm-up.
public struct IterationBenchmark {
    public struct Row: Codable {
        public let backend: String
        public let device: String
        public let size: Int
        public let iterations: Int
        public let medianSeconds: Double
        public let minSeconds: Double
        public let gflopPerIteration: Double
        public let gflops: Double
        public let peakHostBytes: Int?
        public let peakDeviceBytes: Int?
    }

    public static func run(backend: Backend, weights: ModelWeights, size: Int, iterations: Int, warmup: Int,
                           options base: TransferOptions = TransferOptions()) throws -> Row {
        var rng = SeededRandom(seed: UInt64(size))
        let content = RGBImage(width: size, height: size, pixels: rng.uniformArray(size * size * 3, 0, 255))
        let style = RGBImage(width: size, height: size, pixels: rng.uniformArray(size * size * 3, 0, 255))
        var options = base
        options.size = size
        options.iterations = warmup + iterations
        ProcessMemory.resetPeak()
        (backend as? OpenCLBackend)?.context.memory.resetPeak()
        let transfer = try StyleTransfer(backend: backend, weights: weights, options: options)
        var stamps: [Double] = []
        _ = try transfer.run(content: content, style: style) { _, _ in
            try backend.synchronize()
            stamps.append(Date().timeIntervalSinceReferenceDate)
            return true
        }
        let times = zip(stamps.dropFirst(), stamps).map { $0 - $1 }.suffix(iterations).sorted()
        let median = Engine.median(times)
        let arch = weights.architecture
        let loss = options.loss
        let styleIdx = try loss.styleLayers.map { try arch.layerIndex($0) }
        let last = max(try loss.contentLayer.map { try arch.layerIndex($0) } ?? 0, styleIdx.max() ?? 0)
        let flops = arch.iterationFlops(height: size, width: size, upTo: last, styleLayers: styleIdx)
        return Row(backend: backend.kind, device: backend.deviceName, size: size, iterations: times.count,
                   medianSeconds: median, minSeconds: times.first ?? .nan, gflopPerIteration: flops / 1e9,
                   gflops: flops / 1e9 / median, peakHostBytes: ProcessMemory.peakResidentBytes,
                   peakDeviceBytes: (backend as? OpenCLBackend)?.context.memory.peak)
    }
}

/// Times each operation at the VGG-19 layer shapes of one image size (`bench ops`).
public struct OperationBenchmark {
    public struct Row: Codable {
        public let backend: String
        public let op: String
        public let shape: String
        public let medianMilliseconds: Double
        public let gflops: Double?
        public let gbps: Double?
    }

    public static func run(backend: Backend, size: Int, repeats: Int) throws -> [Row] {
        var rows: [Row] = []
        var rng = SeededRandom(seed: 9)
        func time(_ op: String, _ shape: String, flops: Double? = nil, bytes: Double? = nil, _ body: () throws -> Void) throws {
            try body()   // warm-up (kernel builds, scratch allocation)
            try backend.synchronize()
            var ts: [Double] = []
            for _ in 0..<max(repeats, 1) {
                let t0 = Date()
                try body()
                try backend.synchronize()
                ts.append(Date().timeIntervalSince(t0))
            }
            ts.sort()
            let med = ts[ts.count / 2]
            rows.append(Row(backend: backend.kind, op: op, shape: shape, medianMilliseconds: med * 1e3,
                            gflops: flops.map { $0 / med / 1e9 }, gbps: bytes.map { $0 / med / 1e9 }))
        }
        let arch = Architecture.vgg19
        var h = size, w = size
        var lastC = 3
        for layer in arch.layers {
            switch layer.kind {
            case .conv(_, let cin, let cout):
                let x = try backend.tensor(rng.uniformArray(cin * h * w), Shape(cin, h, w))
                let wt = try backend.tensor(rng.uniformArray(cout * cin * 9, -0.1, 0.1), Shape(cout, cin, 9))
                let b = try backend.tensor(rng.uniformArray(cout), Shape(vector: cout))
                let y = try backend.makeTensor(cout, h, w)
                let f = 2.0 * Double(cout * cin * 9) * Double(h * w)
                try time("conv3x3", "\(layer.name) \(cin)→\(cout) \(h)×\(w)", flops: f) {
                    try backend.conv3x3(x, weight: wt, bias: b, into: y)
                }
                let wf = try backend.tensor(rng.uniformArray(cout * cin * 9, -0.1, 0.1), Shape(cin, cout, 9))
                try time("conv3x3_backward", "\(layer.name) \(cout)→\(cin) \(h)×\(w)", flops: f) {
                    try backend.conv3x3(y, weight: wf, bias: nil, into: x)
                }
                lastC = cout
            case .relu:
                let x = try backend.tensor(rng.uniformArray(lastC * h * w), Shape(lastC, h, w))
                try time("relu", "\(layer.name) \(lastC)×\(h)×\(w)", bytes: 8.0 * Double(x.count)) {
                    try backend.relu(x, into: x)
                }
                let dy = try backend.tensor(rng.uniformArray(lastC * h * w, -1, 1), Shape(lastC, h, w))
                try time("relu_backward", "\(layer.name) \(lastC)×\(h)×\(w)", bytes: 12.0 * Double(x.count)) {
                    try backend.reluBackward(dy, output: x, into: dy)   // in place, as the network runs it
                }
                if ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"].contains(layer.name) {
                    let g = try backend.makeTensor(1, lastC, lastC)
                    try time("gram", "\(layer.name) \(lastC)×\(h)×\(w)", flops: 2.0 * Double(lastC * lastC) * Double(h * w)) {
                        try backend.gram(x, centered: false, into: g)
                    }
                    let df = try backend.makeTensor(lastC, h, w)
                    try time("gram_backward", "\(layer.name) \(lastC)×\(h)×\(w)", flops: 2.0 * Double(lastC * lastC) * Double(h * w)) {
                        try backend.accumulateGramBackward(g, features: x, centered: false, into: df)
                    }
                }
            case .pool:
                let x = try backend.tensor(rng.uniformArray(lastC * h * w), Shape(lastC, h, w))
                let y = try backend.makeTensor(lastC, h / 2, w / 2)
                try time("maxpool", "\(layer.name) \(lastC)×\(h)×\(w)", bytes: 5.0 * Double(x.count)) {
                    try backend.pool(.max, x, into: y)
                }
                let dx = try backend.makeTensor(lastC, h, w)
                try time("maxpool_backward", "\(layer.name) \(lastC)×\(h)×\(w)", bytes: 9.0 * Double(x.count)) {
                    try backend.poolBackward(.max, y, input: x, into: dx)
                }
                h /= 2; w /= 2
            }
            if layer.name == "relu5_1" { break }
        }
        return rows
    }
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
