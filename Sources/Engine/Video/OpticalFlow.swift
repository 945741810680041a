import COpticalFlow
import Foundation

/// A dense optical flow field over a frame a, toward a frame b: for each pixel (x, y) of a, the
/// displacement (dx, dy) such that pixel (x, y) of a shows the same point as (x + dx, y + dy) in
/// b, i.e. a(x, y) ≈ b(x + dx, y + dy). Row-major planes of width × height, in pixels.
///
/// A flow over frame n toward frame p is the *backward* flow that warps p onto n
/// (`OpticalFlow.warp`); the flow over p toward n is the *forward* flow.
public struct FlowField: Sendable {
    public let width: Int
    public let height: Int
    /// Horizontal displacements, row-major: dx[y · width + x].
    public var dx: [Float]
    /// Vertical displacements, row-major: dy[y · width + x].
    public var dy: [Float]

    public init(width: Int, height: Int, dx: [Float], dy: [Float]) {
        precondition(width >= 0 && height >= 0 && dx.count == width * height && dy.count == width * height)
        self.width = width
        self.height = height
        self.dx = dx
        self.dy = dy
    }

    /// A flow of a known motion, for tests and synthetic clips: `motion(x, y)` is (dx, dy) at
    /// pixel (x, y).
    public init(width: Int, height: Int, motion: (_ x: Int, _ y: Int) -> (Float, Float)) {
        var dx = [Float](repeating: 0, count: width * height), dy = dx
        for y in 0..<height {
            for x in 0..<width {
                (dx[y * width + x], dy[y * width + x]) = motion(x, y)
            }
        }
        self.init(width: width, height: height, dx: dx, dy: dy)
    }

    /// The same displacement (dx, dy) at every pixel: a pan of the whole frame.
    public init(width: Int, height: Int, constant dx: Float, _ dy: Float) {
        self.init(width: width, height: height,
                  dx: [Float](repeating: dx, count: width * height), dy: [Float](repeating: dy, count: width * height))
    }

    /// (dx, dy) at a real position, bilinear between the four nearest pixels; positions outside
    /// the frame are clamped to its border (see `OpticalFlow.BilinearWeights`).
    public func sample(x: Float, y: Float) -> (Float, Float) {
        let w = OpticalFlow.BilinearWeights(x: x, y: y, width: width, height: height)
        return (w.apply(dx, offset: 0, stride: 1), w.apply(dy, offset: 0, stride: 1))
    }
}

/// Optical flow for video style transfer (Ruder, Dosovitskiy & Brox, "Artistic Style Transfer
/// for Videos", GCPR 2016): the flow between frames (OpenCV's DIS), backward warping of the
/// previous stylised frame onto the current one, and the reliability weights c of the temporal
/// loss Σ c · (x − warp(x_prev))².
public enum OpticalFlow {
    /// The dense flow from frame a to frame b (DIS, PRESET_MEDIUM at full resolution; settings in
    /// Sources/COpticalFlow/opticalflow.cpp). The frames are rounded to 8 bits and converted to
    /// grey. Deterministic: equal frames give bit-identical flow. Frames of different sizes are
    /// `.invalidArgument`; a failure inside OpenCV is `.image` (OpenCV 4.6 refuses frames with a
    /// side under 12 px unless the other side is long enough), an allocation failure `.outOfMemory`.
    public static func compute(from a: RGBImage, to b: RGBImage) throws -> FlowField {
        guard a.width == b.width && a.height == b.height else {
            throw EngineError.invalidArgument("optical flow: the frames differ in size (\(a.width)×\(a.height) and \(b.width)×\(b.height))")
        }
        let w = a.width, h = a.height
        var xy = [Float](repeating: 0, count: 2 * w * h)
        var message = [CChar](repeating: 0, count: 1024)
        let bytesA = a.bytes, bytesB = b.bytes
        let rc = nsof_dis_flow(bytesA, bytesB, Int32(clamping: w), Int32(clamping: h), &xy, &message, message.count)
        if rc != 0 {
            let text = String(cString: message)
            switch rc {
            case NSOF_ERR_ARGUMENT: throw EngineError.invalidArgument(text)
            case NSOF_ERR_NOMEM: throw EngineError.outOfMemory(text)
            default: throw EngineError.image(text)
            }
        }
        var dx = [Float](repeating: 0, count: w * h), dy = dx
        for p in 0..<(w * h) {
            dx[p] = xy[2 * p]
            dy[p] = xy[2 * p + 1]
        }
        return FlowField(width: w, height: h, dx: dx, dy: dy)
    }

    /// Backward warping of planar C×H×W data (the network-input layout) by a flow over the
    /// output frame: out[c, y, x] = in[c](x + dx(x, y), y + dy(x, y)), bilinear, positions
    /// clamped to the image. With `flow` = flow(n → p), this brings frame p (or its stylised
    /// version) onto frame n's pixels.
    public static func warp(_ planes: [Float], channels: Int, width: Int, height: Int, by flow: FlowField) -> [Float] {
        precondition(flow.width == width && flow.height == height && planes.count == channels * width * height)
        let plane = width * height
        var out = [Float](repeating: 0, count: planes.count)
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                let w = BilinearWeights(x: Float(x) + flow.dx[p], y: Float(y) + flow.dy[p], width: width, height: height)
                for c in 0..<channels { out[c * plane + p] = w.apply(planes, offset: c * plane, stride: 1) }
            }
        }
        return out
    }

    /// Reliability weights c over frame n for stylising frame n from frame p (Ruder et al. §3.2),
    /// from the forward flow f = flow(p → n) (over p) and the backward flow b = flow(n → p) (over
    /// n). With f̃(x) = f(x + b(x)) (bilinear), the forward flow at the point of p that x comes
    /// from, c(x) = 0 where
    ///
    /// - x is disoccluded (the round trip n → p → n does not come back):
    ///   |f̃ + b|² > 0.01 · (|f̃|² + |b|²) + 0.5, or
    /// - x is on a motion boundary: |∇b_x|² + |∇b_y|² > 0.01 · |b|² + 0.002, where ∇b_x is
    ///   (∂b_x/∂x, ∂b_x/∂y) by forward differences (b_x(x + 1, y) − b_x(x, y), …), taken as 0 at
    ///   the last column (∂/∂x) and the last row (∂/∂y),
    ///
    /// and c(x) = 1 elsewhere.
    public static func reliability(forward f: FlowField, backward b: FlowField) -> GreyMap {
        precondition(f.width == b.width && f.height == b.height, "the two flows must cover frames of one size")
        let w = b.width, h = b.height
        var c = [Float](repeating: 1, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let p = y * w + x
                let bx = b.dx[p], by = b.dy[p]
                let (fx, fy) = f.sample(x: Float(x) + bx, y: Float(y) + by)
                let sx = fx + bx, sy = fy + by
                let disoccluded = sx * sx + sy * sy > 0.01 * (fx * fx + fy * fy + bx * bx + by * by) + 0.5

                let right = x + 1 < w ? p + 1 : p, below = y + 1 < h ? p + w : p
                let bxdx = b.dx[right] - bx, bxdy = b.dx[below] - bx
                let bydx = b.dy[right] - by, bydy = b.dy[below] - by
                let gradient = bxdx * bxdx + bxdy * bxdy + bydx * bydx + bydy * bydy
                let boundary = gradient > 0.01 * (bx * bx + by * by) + 0.002

                if disoccluded || boundary { c[p] = 0 }
            }
        }
        return GreyMap(width: w, height: h, values: c)
    }

    /// The four taps of bilinear interpolation at (x, y), clamped to a width × height grid:
    /// v = (1 − α)(1 − β) v[y0, x0] + α(1 − β) v[y0, x1] + (1 − α) β v[y1, x0] + α β v[y1, x1],
    /// with x clamped to [0, width − 1], x0 = ⌊x⌋, x1 = min(x0 + 1, width − 1), α = x − x0
    /// (likewise y, y0, y1, β).
    struct BilinearWeights {
        let i00: Int, i01: Int, i10: Int, i11: Int
        let alpha: Float, beta: Float

        init(x: Float, y: Float, width: Int, height: Int) {
            // A NaN position (a failed flow) clamps to 0: Swift's max(0, .nan) is 0.
            let cx = min(Float(width - 1), max(0, x)), cy = min(Float(height - 1), max(0, y))
            let x0 = Int(cx), y0 = Int(cy)
            let x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1)
            alpha = cx - Float(x0)
            beta = cy - Float(y0)
            i00 = y0 * width + x0
            i01 = y0 * width + x1
            i10 = y1 * width + x0
            i11 = y1 * width + x1
        }

        /// The interpolated value of values[offset + stride · i] over the grid's pixel indices i.
        func apply(_ values: [Float], offset: Int, stride: Int) -> Float {
            let v00 = values[offset + stride * i00], v01 = values[offset + stride * i01]
            let v10 = values[offset + stride * i10], v11 = values[offset + stride * i11]
            let top = v00 + alpha * (v01 - v00), bottom = v10 + alpha * (v11 - v10)
            return top + beta * (bottom - top)
        }
    }
}

extension RGBImage {
    /// Backward warping of an interleaved image by a flow over the output frame: out(x, y) =
    /// self(x + dx, y + dy), bilinear per channel, positions clamped to the image (see
    /// `OpticalFlow.warp` for the planar network-input layout).
    public func warped(by flow: FlowField) -> RGBImage {
        precondition(flow.width == width && flow.height == height)
        var out = [Float](repeating: 0, count: pixels.count)
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                let w = OpticalFlow.BilinearWeights(x: Float(x) + flow.dx[p], y: Float(y) + flow.dy[p], width: width, height: height)
                for c in 0..<3 { out[3 * p + c] = w.apply(pixels, offset: c, stride: 3) }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
