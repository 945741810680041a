/// One tile of one image during one pass, as a loss term sees it: the features of the tile's
/// interior at any layer, in the whole image's coordinates. For a whole image (one region) the
/// features are the activations themselves and gradients go straight into the backward pass's
/// buffer, so an untiled evaluation does no extra copies.
public final class Region {
    public let tile: TilePlan.Tile
    /// The image's size: the interior of a tile ending at its edge keeps the last (floor-pooled)
    /// row and column.
    public let imageHeight: Int
    public let imageWidth: Int
    /// True when the region is the whole image.
    public let isWhole: Bool
    let acts: VGGNetwork.Activations
    unowned let objective: Objective
    let fullShapes: [Shape]
    /// The tile's network input (the image itself for a whole region).
    var input: Tensor?

    init(tile: TilePlan.Tile, imageHeight: Int, imageWidth: Int, acts: VGGNetwork.Activations, objective: Objective) {
        self.tile = tile
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        self.acts = acts
        self.objective = objective
        isWhole = tile.y0 == 0 && tile.x0 == 0 && tile.y1 == imageHeight && tile.x1 == imageWidth
            && tile.ey0 == 0 && tile.ex0 == 0 && tile.ey1 == imageHeight && tile.ex1 == imageWidth
        fullShapes = objective.network.shapes(height: imageHeight, width: imageWidth)
    }

    var backend: Backend { objective.backend }

    /// Layer i's shape for the whole image.
    public func fullShape(_ i: Int) -> Shape { fullShapes[i] }

    /// Scale (stride) of layer i relative to the input.
    func stride(_ i: Int) -> Int { objective.network.architecture.alignment(upTo: i) }

    /// The interior at layer i: its shape and its offset inside the tile's feature map.
    public func interior(_ i: Int) -> (shape: Shape, top: Int, left: Int) {
        let s = stride(i), full = fullShapes[i]
        let qy0 = tile.y0 / s, qx0 = tile.x0 / s
        let qy1 = tile.y1 == imageHeight ? full.height : tile.y1 / s
        let qx1 = tile.x1 == imageWidth ? full.width : tile.x1 / s
        return (Shape(full.channels, max(0, qy1 - qy0), max(0, qx1 - qx0)), qy0 - tile.ey0 / s, qx0 - tile.ex0 / s)
    }

    /// Where the interior starts in the whole image's feature map at layer i.
    public func origin(_ i: Int) -> (y: Int, x: Int) { (tile.y0 / stride(i), tile.x0 / stride(i)) }

    /// The interior's features at layer i (the activation itself for a whole image, else a crop
    /// into a reused buffer).
    public func features(_ i: Int) throws -> Tensor {
        if isWhole { return acts.outputs[i] }
        let (shape, top, left) = interior(i)
        let f = try objective.buffer("features", shape)
        try backend.crop(acts.outputs[i], top: top, left: left, into: f)
        return f
    }

    /// The interior's part of a whole-image map at layer i (`map`'s channel count is kept: a
    /// content target has C, a mask 1), in buffer `name`.
    public func crop(_ map: Tensor, layer i: Int, buffer name: String) throws -> Tensor {
        if isWhole { return map }
        let (shape, _, _) = interior(i)
        let (gy, gx) = origin(i)
        let out = try objective.buffer(name, Shape(map.shape.channels, shape.height, shape.width))
        try backend.crop(map, top: gy, left: gx, into: out)
        return out
    }

    /// Runs `body` with a zeroed gradient of the interior's shape at layer i and adds it into
    /// the tile's gradient `grad` (for a whole image, `body` writes into `grad` directly).
    public func addGradient(layer i: Int, into grad: Tensor, _ body: (Tensor) throws -> Void) throws {
        if isWhole { return try body(grad) }
        let (shape, top, left) = interior(i)
        let gi = try objective.buffer("gradient", shape)
        try backend.fill(gi, 0)
        try body(gi)
        try backend.accumulateCrop(gi, top: top, left: left, into: grad)
    }
}
