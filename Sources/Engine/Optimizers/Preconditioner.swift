import Foundation

/// The operator M in L-BFGS's initial inverse Hessian H₀ = γ·M (`LBFGS.preconditioner`).
public enum Preconditioner: String, CaseIterable, Sendable {
    /// M = I: the textbook L-BFGS (the first releases' form).
    case none
    /// M = I + β·Σₗ Qₗ (`BlockPyramid`): a step along a smooth direction is made longer than one
    /// along a detailed one, where the loss's curvature in pixel space is small.
    case pyramid
}

/// M·v = v + β·Σₗ Qₗ·v for l = 1 … L, where Qₗ replaces every 2ˡ×2ˡ block of each channel by its
/// mean (2×2 average pooling l times, then back up). Qₗ = 4ˡ·(Dᵀ)ˡ·Dˡ with D the average pooling, so
/// M is symmetric positive definite (an odd last row or column of a level is left out of the
/// coarser ones, which keeps that). L is every level whose shorter side is at least
/// `coarsestSide`, so the coarsest blocks cover about the same share of the image at every size.
///
/// Why: the VGG losses change little when the image changes smoothly (a colour shift over a
/// region), so their curvature there is small and a step of γ·I, scaled to the largest curvature
/// the last pair saw, moves such directions too little; L-BFGS's history learns only as many of
/// them as it keeps pairs. The pooling is the network's own (`Backend.pool(.avg)` and its backward,
/// with their CPU twins and parity cases).
final class BlockPyramid {
    static let coarsestSide = 8
    let backend: Backend
    let weight: Float
    /// D^l·v, l = 1 … L; on the way back up each holds the sum of the coarser levels.
    private var levels: [Tensor] = []
    /// the way back up from level l + 1 to level l (l ≥ 1)
    private var ups: [Tensor] = []

    init(backend: Backend, shape: Shape, weight: Float = 1) throws {
        self.backend = backend
        self.weight = weight
        levels = try Self.levelShapes(shape).map { try backend.makeTensor($0) }
        ups = try levels.dropLast().map { try backend.makeTensor($0.shape) }
    }

    /// The shapes of D¹·v … Dᴸ·v: 2×2 pooling (floor mode) while the shorter side stays at least
    /// `coarsestSide`.
    static func levelShapes(_ shape: Shape) -> [Shape] {
        var out: [Shape] = [], h = shape.height, w = shape.width
        while min(h, w) / 2 >= coarsestSide {
            h /= 2; w /= 2
            out.append(Shape(shape.channels, h, w))
        }
        return out
    }

    /// The number of levels L (0: M = I).
    var depth: Int { levels.count }

    /// Floats it holds besides its input and output, for `MemoryModel`: the levels, and all but
    /// the last again (`ups`).
    static func scratchFloats(_ shape: Shape) -> Int {
        let counts = levelShapes(shape).map(\.count)
        return 2 * counts.reduce(0, +) - (counts.last ?? 0)
    }

    /// out = M·v (out and v distinct).
    func apply(_ v: Tensor, into out: Tensor) throws {
        guard !levels.isEmpty else { return try backend.copy(v, into: out) }
        var source = v
        for level in levels {
            try backend.pool(.avg, source, into: level)
            source = level
        }
        // Σₗ Qₗ·v = U(D·v + U(D²·v + …)) with U = 4·Dᵀ, from the coarsest level up
        for l in stride(from: levels.count - 1, to: 0, by: -1) {
            try backend.poolBackward(.avg, levels[l], input: levels[l - 1], into: ups[l - 1])
            try backend.axpy(4, ups[l - 1], levels[l - 1])
        }
        try backend.poolBackward(.avg, levels[0], input: v, into: out)
        try backend.scale(out, by: 4 * weight)
        try backend.axpy(1, v, out)
    }
}
