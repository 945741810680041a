/// L(x) and optionally ∇L(x), for the optimisers. `StyleObjective` evaluates the whole image at
/// once; `TiledObjective` tile by tile with Gram matrices of the whole image.
public protocol Objective: AnyObject {
    var evaluations: Int { get }
    func evaluate(_ x: Tensor, gradient: Tensor?) throws -> LossTerms
}

extension StyleObjective: Objective {}

extension Architecture {
    /// How far (in input pixels, each side) the features at layer `last` see beyond their own
    /// position: every 3×3 convolution at stride s adds s. 70 for relu5_1 of VGG-19.
    public func receptiveRadius(upTo last: Int) -> Int {
        var stride = 1, radius = 0
        for (i, l) in layers.enumerated() where i <= last {
            switch l.kind {
            case .conv: radius += stride
            case .pool: stride *= 2
            case .relu: break
            }
        }
        return radius
    }

    /// 2^(pools up to `last`): tiles start on multiples of this so pooling grids line up.
    public func alignment(upTo last: Int) -> Int {
        layers.prefix(last + 1).reduce(1) { a, l in l.kind == .pool ? a * 2 : a }
    }
}
