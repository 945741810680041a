/// The shape of one image's feature map, channel-major: C × H × W (W fastest).
public struct Shape: Equatable, Hashable, CustomStringConvertible, Codable, Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(_ channels: Int, _ height: Int, _ width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// A flat vector of `n` values.
    public init(vector n: Int) { self.init(1, 1, n) }

    public var count: Int { channels * height * width }
    public var plane: Int { height * width }
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// Backend-owned memory. Each backend downcasts to its own subclass.
public class Storage {
    public let count: Int
    init(count: Int) { self.count = count }
}

/// A view of backend memory with a shape. Copying a Tensor shares its storage.
public struct Tensor {
    public let storage: Storage
    public let shape: Shape
    public init(storage: Storage, shape: Shape) {
        precondition(shape.count <= storage.count, "tensor \(shape) does not fit storage of \(storage.count)")
        self.storage = storage
        self.shape = shape
    }
    public var count: Int { shape.count }

    /// The same storage seen with another shape of no more elements.
    public func reshaped(_ s: Shape) -> Tensor { Tensor(storage: storage, shape: s) }
}

public enum PoolKind: String, CaseIterable, Codable, Sendable { case max, avg }

/// Total-variation forms (see `kernels/loss.cl` and the README's definitions).
public enum TVKind: Equatable, CustomStringConvertible, Codable, Sendable {
    /// Σ (x[i+1,j] − x[i,j])² + (x[i,j+1] − x[i,j])²
    case l2
    /// Σ |x[i+1,j] − x[i,j]| + |x[i,j+1] − x[i,j]|, subgradient 0 at 0.
    case l1
    /// Σ (dv² + dh² + ε)^γ with ε = `TVKind.epsilon` when γ < 1 (0 otherwise); dv, dh are 0 past the last row/column.
    case power(Float)

    public static let epsilon: Float = 1e-6

    public init?(parsing text: String) {
        switch text {
        case "l2": self = .l2
        case "l1": self = .l1
        default:
            guard text.hasPrefix("power:"), let g = Float(text.dropFirst(6)), g > 0, g.isFinite else { return nil }
            self = .power(g)
        }
    }

    public var description: String {
        switch self {
        case .l2: return "l2"
        case .l1: return "l1"
        case .power(let g): return "power:\(g)"
        }
    }
}
