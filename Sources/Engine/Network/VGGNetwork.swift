import Foundation

/// A VGG network resident on a backend, run forward up to the deepest layer a loss uses and
/// backward to its input. Weights are uploaded once, together with the flipped copies that
/// the backward convolution uses.
///
/// Memory: a ReLU overwrites its convolution's output in place (unless that convolution is
/// itself a loss layer), so one tensor is kept per conv/ReLU pair and one per pool; backward
/// ping-pongs between two gradient buffers of the largest activation size.
public final class VGGNetwork {
    public let backend: Backend
    public let architecture: Architecture
    public let model: String
    public let pooling: PoolKind
    public let layers: [Layer]
    /// Index of the deepest layer uploaded and run.
    public let depth: Int

    struct ConvParams { let weight: Tensor; let flipped: Tensor; let bias: Tensor }
    var convs: [Int: ConvParams] = [:]   // by layer index

    /// Uploads the convolutions up to layer `depth` (inclusive).
    public init(weights: ModelWeights, backend: Backend, pooling: PoolKind = .max, depth: Int? = nil) throws {
        self.backend = backend
        architecture = weights.architecture
        model = weights.model
        self.pooling = pooling
        layers = weights.architecture.layers
        self.depth = depth ?? layers.count - 1
        for (i, layer) in layers.enumerated() where i <= self.depth {
            guard case .conv(let k, let cin, let cout) = layer.kind else { continue }
            let c = weights.convolutions[k]
            convs[i] = ConvParams(
                weight: try backend.tensor(c.weight, Shape(cout, cin, 9)),
                flipped: try backend.tensor(flippedConvWeights(c.weight, outChannels: cout, inChannels: cin),
                                            Shape(cin, cout, 9)),
                bias: try backend.tensor(c.bias, Shape(vector: cout)))
        }
    }

    public func layerIndex(_ name: String) throws -> Int {
        let i = try architecture.layerIndex(name)
        guard i <= depth else {
            throw EngineError.invalidArgument("layer \(name) is deeper than this network was built for")
        }
        return i
    }

    /// Shapes of every layer's output for an input of height × width.
    public func shapes(height: Int, width: Int) -> [Shape] {
        var s = Shape(3, height, width)
        return layers.map { l in
            switch l.kind {
            case .conv(_, _, let cout): s = Shape(cout, s.height, s.width)
            case .relu: break
            case .pool: s = Shape(s.channels, s.height / 2, s.width / 2)
            }
            return s
        }
    }

    /// The activations of one forward pass; storage is reused across passes of the same size.
    public final class Activations {
        public let height: Int
        public let width: Int
        /// outputs[i] is layer i's output (a ReLU and its convolution may share storage).
        public internal(set) var outputs: [Tensor] = []
        var gradA: Tensor?
        var gradB: Tensor?
        init(height: Int, width: Int) { self.height = height; self.width = width }

        /// The same storage seen for a smaller input (each layer's tensor reshaped): tiles of
        /// different sizes reuse one allocation.
        func view(height h: Int, width w: Int, shapes: [Shape]) -> Activations {
            let v = Activations(height: h, width: w)
            v.outputs = zip(outputs, shapes).map { $0.reshaped($1) }
            v.gradA = gradA
            v.gradB = gradB
            return v
        }
    }

    /// Activations for an input no larger than `acts` was made for, sharing its storage.
    public func view(of acts: Activations, height: Int, width: Int) -> Activations {
        acts.view(height: height, width: width, shapes: Array(shapes(height: height, width: width).prefix(acts.outputs.count)))
    }

    /// Allocates activations for an input size; `separate` lists conv layers that must keep
    /// their pre-ReLU output (they are loss layers).
    public func makeActivations(height: Int, width: Int, upTo last: Int, separate: Set<Int> = []) throws -> Activations {
        let acts = Activations(height: height, width: width)
        let shapes = self.shapes(height: height, width: width)
        var largest = 3 * height * width
        for i in 0...last {
            if case .relu = layers[i].kind, !separate.contains(i - 1) {
                acts.outputs.append(acts.outputs[i - 1])   // in place over the conv output
            } else {
                acts.outputs.append(try backend.makeTensor(shapes[i]))
            }
            largest = max(largest, shapes[i].count)
        }
        let storageShape = Shape(vector: largest)
        acts.gradA = try backend.makeTensor(storageShape)
        acts.gradB = try backend.makeTensor(storageShape)
        return acts
    }

    /// Runs layers 0…last on x (3×H×W network input).
    public func forward(_ x: Tensor, into acts: Activations, upTo last: Int) throws {
        var input = x
        for i in 0...last {
            let out = acts.outputs[i]
            switch layers[i].kind {
            case .conv:
                let p = convs[i]!
                try backend.conv3x3(input, weight: p.weight, bias: p.bias, into: out)
            case .relu:
                try backend.relu(input, into: out)
            case .pool:
                try backend.pool(pooling, input, into: out)
            }
            input = out
        }
    }

    /// Backpropagates from layer `last` to the input. `inject(i, grad)` adds the losses'
    /// gradients with respect to layer i's output into `grad` (called for every layer, deepest
    /// first, before propagating through it). Returns the gradient with respect to x, in a
    /// buffer owned by `acts` (valid until the next backward).
    public func backward(_ x: Tensor, acts: Activations, from last: Int,
                         inject: (Int, Tensor) throws -> Void) throws -> Tensor {
        let shapes = self.shapes(height: acts.height, width: acts.width)
        var grad = acts.gradA!.reshaped(shapes[last])
        var spare = acts.gradB!
        try backend.fill(grad, 0)
        for i in stride(from: last, through: 0, by: -1) {
            try inject(i, grad)
            let inputShape = i == 0 ? x.shape : shapes[i - 1]
            switch layers[i].kind {
            case .relu:
                try backend.reluBackward(grad, output: acts.outputs[i], into: grad)
            case .conv:
                let dx = spare.reshaped(inputShape)
                try backend.conv3x3(grad, weight: convs[i]!.flipped, bias: nil, into: dx)
                spare = Tensor(storage: grad.storage, shape: Shape(vector: grad.storage.count))
                grad = dx
            case .pool:
                let dx = spare.reshaped(inputShape)
                let input = i == 0 ? x : acts.outputs[i - 1]
                try backend.poolBackward(pooling, grad, input: input, into: dx)
                spare = Tensor(storage: grad.storage, shape: Shape(vector: grad.storage.count))
                grad = dx
            }
        }
        return grad
    }
}

extension Architecture {
    /// Floating-point operations of one loss-and-gradient evaluation at height × width: the
    /// convolutions up to layer `last` forward and backward (to the input), plus each style
    /// layer's Gram matrix (2·C²·H·W counting a multiply-add as two) and its backward (4·C²·H·W).
    public func iterationFlops(height: Int, width: Int, upTo last: Int, styleLayers: [Int]) -> Double {
        var h = height, w = width
        var total = 0.0
        for (i, l) in layers.enumerated() where i <= last {
            switch l.kind {
            case .conv(_, let cin, let cout): total += 2 * 2 * Double(cout * cin * 9) * Double(h * w)
            case .pool: h /= 2; w /= 2
            case .relu: break
            }
            if styleLayers.contains(i) {
                let c = Double(layers[...i].reversed().compactMap { l -> Int? in
                    if case .conv(_, _, let o) = l.kind { return o } else { return nil } }.first ?? 3)
                total += 6 * c * c * Double(h * w)
            }
        }
        return total
    }
}
