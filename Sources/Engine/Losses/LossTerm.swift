/// One term of the loss, as the evaluator (`Objective`) drives it. A term reads the network's
/// features at its `layers` (or only the image when it has none), keeps its targets (computed
/// once, when it is made) and reports its value and gradient for one region of the image at a
/// time; a whole image is one region, so every term is exact whether the image is tiled or not.
///
/// Per evaluation the evaluator calls, in order:
///   `reset` — forget the last value;
///   `accumulateStatistics` for each region, then `finishStatistics` — only for terms that need
///   statistics of the whole image before any gradient (Gram matrices);
///   `evaluate(region, layer, gradient)` for each region and each of the term's layers, deepest
///   first, inside the backward pass (or after the forward pass when no gradient is asked);
///   `evaluateImage` — terms of the image itself (total variation).
public protocol LossTerm: AnyObject {
    /// The value the last evaluation reported (unweighted, its weight and any per-layer parts).
    var value: TermValue { get }
    /// Network layers read, by index (empty: the term reads only the image).
    var layers: [Int] { get }
    var needsStatistics: Bool { get }

    func reset()
    func accumulateStatistics(_ region: Region) throws
    func finishStatistics(gradient: Bool) throws
    /// With `gradient`, adds the term's weighted gradient with respect to layer `layer`'s output
    /// over the region into it (a tensor the region's interior shape).
    func evaluate(_ region: Region, layer: Int, gradient: Tensor?) throws
    /// With `gradient`, adds the weighted gradient with respect to the image into it.
    func evaluateImage(_ x: Tensor, gradient: Tensor?) throws
}

extension LossTerm {
    public var needsStatistics: Bool { false }
    public func accumulateStatistics(_ region: Region) throws {}
    public func finishStatistics(gradient: Bool) throws {}
    public func evaluate(_ region: Region, layer: Int, gradient: Tensor?) throws {}
    public func evaluateImage(_ x: Tensor, gradient: Tensor?) throws {}
}

/// A term as the planner sees it before anything is allocated: the layers it will read, the
/// images it runs through the network while its targets are computed, the memory it will keep,
/// and how to make it on an objective.
public protocol LossTermSpec {
    /// Layer names, resolved against the network's architecture by the caller.
    var layerNames: [String] { get }
    /// Sizes (height, width) of the images other than the output-sized content that this term
    /// sends through the network during setup, for an output of height × width (style images).
    func setupImages(height: Int, width: Int) throws -> [(height: Int, width: Int)]
    /// Bytes of targets and term-owned buffers for an output of height × width (`shapes`: every
    /// layer's shape at that size) under `plan`.
    func memoryBytes(architecture: Architecture, shapes: [Shape], plan: TilePlan) -> Int
    func make(on objective: Objective) throws -> LossTerm
}

/// One entry of an evaluation's breakdown: an unweighted value and the weight it enters the
/// total with, plus the per-layer parts of a term over several layers.
public struct TermValue: Codable, Sendable, Equatable {
    public var name: String
    public var value: Double
    public var weight: Double
    /// Unweighted per-layer values (style: L_style^l; the term's value is Σ w_l·L_style^l).
    public var layers: [String: Double]?
    /// The order of `layers` (JSON objects have none).
    public var layerOrder: [String]?

    public init(name: String, value: Double = 0, weight: Double, layers: [(String, Double)]? = nil) {
        self.name = name
        self.value = value
        self.weight = weight
        if let l = layers {
            self.layers = Dictionary(l, uniquingKeysWith: +)
            layerOrder = l.map(\.0)
        }
    }

    public var weighted: Double { weight * value }
}
