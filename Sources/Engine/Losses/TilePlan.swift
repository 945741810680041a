/// How an image is cut for evaluation: tiles of `tile` pixels a side (rounded up to the pooling
/// alignment) whose interiors cover the image, each evaluated with `halo` extra pixels on every
/// side so the features of its interior equal the whole image's exactly. A whole image is the
/// plan with no tile: one region, no halo. The memory planner and the evaluator both read this
/// one value, so what is budgeted is what runs.
public struct TilePlan: Equatable, Sendable {
    /// The tile's interior side (a multiple of `alignment`), nil: the whole image at once.
    public let tile: Int?
    /// The receptive radius of the deepest loss layer, rounded up to `alignment`.
    public let halo: Int
    /// 2^(pools up to the deepest loss layer): tiles start on multiples of it so pooling grids line up.
    public let alignment: Int

    /// A tile: its interior [y0, y1) × [x0, x1) and the evaluated extent [ey0, ey1) × [ex0, ex1).
    public struct Tile: Equatable, Sendable { public let y0, y1, x0, x1, ey0, ey1, ex0, ex1: Int }

    /// `requested` px tiles (nil: whole image) for losses reading up to layer `last`.
    public init(tile requested: Int?, architecture: Architecture, last: Int) {
        let align = architecture.alignment(upTo: last)
        alignment = align
        halo = (architecture.receptiveRadius(upTo: last) + align - 1) / align * align
        tile = requested.map { max(align, ($0 + align - 1) / align * align) }
    }

    /// The largest evaluated extent for an image of height × width: what one tile's activations
    /// are allocated for.
    public func extent(height: Int, width: Int) -> (height: Int, width: Int) {
        guard let t = tile else { return (height, width) }
        return (min(height, t + 2 * halo), min(width, t + 2 * halo))
    }

    /// The tiles of an image, row by row. Tiles whose halo would cross the image edge stop at it,
    /// so their zero padding is the image's own.
    public func tiles(height: Int, width: Int) -> [Tile] {
        guard let t = tile else { return [Tile(y0: 0, y1: height, x0: 0, x1: width, ey0: 0, ey1: height, ex0: 0, ex1: width)] }
        var out: [Tile] = []
        for y0 in Swift.stride(from: 0, to: height, by: t) {
            for x0 in Swift.stride(from: 0, to: width, by: t) {
                let y1 = min(height, y0 + t), x1 = min(width, x0 + t)
                out.append(Tile(y0: y0, y1: y1, x0: x0, x1: x1, ey0: max(0, y0 - halo), ey1: min(height, y1 + halo),
                                ex0: max(0, x0 - halo), ex1: min(width, x1 + halo)))
            }
        }
        return out
    }

    /// The largest interior a tile has at a layer of shape `full` and `stride` (input pixels per
    /// feature): the size of the reused crop buffers.
    public func largestInterior(full: Shape, stride: Int) -> Shape {
        guard let t = tile else { return full }
        return Shape(full.channels, min(full.height, (t + stride - 1) / stride), min(full.width, (t + stride - 1) / stride))
    }
}
