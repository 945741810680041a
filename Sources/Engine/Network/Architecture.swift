/// A VGG layer as users name it: `conv{b}_{i}` before the ReLU, `relu{b}_{i}` after, `pool{b}`.
public enum LayerKind: Equatable, Sendable {
    case conv(index: Int, inChannels: Int, outChannels: Int)   // index into the model's convolutions
    case relu
    case pool
}

public struct Layer: Sendable {
    public let name: String
    public let kind: LayerKind
}

/// VGG-16 and VGG-19: five blocks of 3×3 convolutions (64, 128, 256, 512, 512 channels), each
/// followed by ReLU, each block ending in 2×2 pooling.
public enum Architecture: String, CaseIterable, Codable, Sendable {
    case vgg19, vgg16

    public var convsPerBlock: [Int] { self == .vgg19 ? [2, 2, 4, 4, 4] : [2, 2, 3, 3, 3] }
    static let blockChannels = [64, 128, 256, 512, 512]

    /// The layer sequence, from conv1_1 to pool5.
    public var layers: [Layer] {
        var out: [Layer] = []
        var cin = 3, conv = 0
        for (b, n) in convsPerBlock.enumerated() {
            let cout = Self.blockChannels[b]
            for i in 1...n {
                out.append(Layer(name: "conv\(b + 1)_\(i)", kind: .conv(index: conv, inChannels: cin, outChannels: cout)))
                out.append(Layer(name: "relu\(b + 1)_\(i)", kind: .relu))
                cin = cout
                conv += 1
            }
            out.append(Layer(name: "pool\(b + 1)", kind: .pool))
        }
        return out
    }

    /// (name, in, out) of each convolution in order.
    public var convolutions: [(name: String, inChannels: Int, outChannels: Int)] {
        layers.compactMap { l in
            if case .conv(_, let i, let o) = l.kind { return (l.name, i, o) }
            return nil
        }
    }

    /// The index of a layer by name, or an error listing the valid names.
    public func layerIndex(_ name: String) throws -> Int {
        if let i = layers.firstIndex(where: { $0.name == name }) { return i }
        throw EngineError.invalidArgument(
            "unknown layer \"\(name)\" for \(rawValue); layers are conv{b}_{i}, relu{b}_{i}, pool{b}: "
                + layers.map(\.name).joined(separator: ","))
    }
}
