import Foundation

/// A grey-level map over an image, 0…1 per pixel, row-major: spatial masks (`--style-mask`,
/// `--style-region`) and the content weight map. Brought to a layer's size the way the network
/// brings the image there: resized to the image, then 2×2 averages (floor mode) once per pool.
public struct GreyMap: Sendable {
    public let width: Int
    public let height: Int
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) {
        precondition(values.count == width * height)
        self.width = width
        self.height = height
        self.values = values
    }

    public init(width: Int, height: Int, constant: Float) {
        self.init(width: width, height: height, values: [Float](repeating: constant, count: width * height))
    }

    /// A picture's luminance (Y of YIQ) / 255: white is 1, black 0.
    public init(image: RGBImage) {
        self.init(width: image.width, height: image.height, values: image.luminancePlane.map(Self.level))
    }

    /// A sample on the 0…255 scale as a map value, on the 8-bit grid (white is exactly 1 after
    /// any resampling, so a mask of all ones is the plain Gram matrix).
    static func level(_ v: Float) -> Float { min(255, max(0, v.rounded())) / 255 }

    /// Reads a PNG or JPEG as a map (see `init(image:)`).
    public static func load(_ path: String, role: String, maxPixels: Int = Int(RGBImage.defaultMaxPixels)) throws -> GreyMap {
        do { return GreyMap(image: try RGBImage.load(path, maxPixels: maxPixels)) } catch EngineError.image(let m) {
            throw EngineError.image("cannot read the \(role) map: \(m)")
        }
    }

    /// Lanczos-resampled to w × h (as images are), on the 8-bit grid.
    public func resized(width w: Int, height h: Int) -> GreyMap {
        if w == width && h == height { return self }
        let rgb = RGBImage(width: width, height: height, pixels: values.flatMap { v in [255 * v, 255 * v, 255 * v] })
            .resized(width: w, height: h)
        return GreyMap(width: w, height: h, values: (0..<(w * h)).map { Self.level(rgb.pixels[3 * $0]) })
    }

    /// 2×2 averages (floor mode: an odd last row or column is dropped), `times` times.
    public func downsampled(times: Int) -> GreyMap {
        var m = self
        for _ in 0..<times {
            let h = m.height / 2, w = m.width / 2
            var out = [Float](repeating: 0, count: w * h)
            for i in 0..<h {
                for j in 0..<w {
                    let a = m.values[(2 * i) * m.width + 2 * j], b = m.values[(2 * i) * m.width + 2 * j + 1]
                    let c = m.values[(2 * i + 1) * m.width + 2 * j], d = m.values[(2 * i + 1) * m.width + 2 * j + 1]
                    out[i * w + j] = 0.25 * ((a + b) + (c + d))
                }
            }
            m = GreyMap(width: w, height: h, values: out)
        }
        return m
    }

    /// The map at layer `layer` of `architecture` for an image of width × height.
    public func atLayer(_ layer: Int, of architecture: Architecture, width w: Int, height h: Int) -> GreyMap {
        resized(width: w, height: h).downsampled(times: architecture.pools(upTo: layer))
    }

    public var sum: Double { values.reduce(0.0) { $0 + Double($1) } }

    /// Masks that overlap are scaled so that at each pixel they add up to at most 1 (where they
    /// add up to less, they are kept: uncovered pixels get only the content and TV terms).
    public static func normalisedOverlaps(_ maps: [GreyMap]) -> [GreyMap] {
        guard let first = maps.first else { return [] }
        var out = maps
        for p in 0..<(first.width * first.height) {
            let s = maps.reduce(Float(0)) { $0 + $1.values[p] }
            guard s > 1 else { continue }
            for k in out.indices { out[k].values[p] = maps[k].values[p] / s }
        }
        return out
    }
}

extension Architecture {
    /// Pooling layers up to and including `last`.
    public func pools(upTo last: Int) -> Int { layers.prefix(last + 1).filter { $0.kind == .pool }.count }
}
