import CImageIO
import Foundation

/// An RGB image with float samples on the 0…255 scale, stored row-major, interleaved (H×W×3).
public struct RGBImage {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(pixels.count == width * height * 3)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Input images over this many pixels are refused unless the caller raises the limit
    /// (`--max-input-megapixels`): 100 megapixels, e.g. 12 000 × 8 000.
    public static let defaultMaxPixels: Double = 100e6

    /// Reads a PNG (8/16-bit, grey, RGB, RGBA, palette; alpha over white) or JPEG file of at most
    /// `maxPixels` pixels. Corrupt, truncated or oversized files are `.image` errors, and a file
    /// that does not fit in memory is `.outOfMemory`, before its pixels are decoded.
    public static func load(_ path: String, maxPixels: Int = Int(defaultMaxPixels)) throws -> RGBImage {
        var img = nsio_image()
        var message = [CChar](repeating: 0, count: 1024)
        let rc = nsio_read(path, UInt64(max(0, maxPixels)), &img, &message, message.count)
        if rc != 0 {
            let text = String(cString: message)
            throw rc == NSIO_ERR_NOMEM ? EngineError.outOfMemory(text) : EngineError.image(text)
        }
        defer { nsio_free(img.rgb) }
        let n = Int(img.width) * Int(img.height) * 3
        // the float copy and the network-input copy made from it
        if let budget = ProcessMemory.budget, 2 * 4 * n > budget.bytes {
            throw EngineError.outOfMemory("\(path): \(img.width)×\(img.height) needs \(formatBytes(2 * 4 * n)) as floats, more than the \(formatBytes(budget.bytes)) of \(budget.source)")
        }
        let pixels = (0..<n).map { Float(img.rgb[$0]) }
        return RGBImage(width: Int(img.width), height: Int(img.height), pixels: pixels)
    }

    /// The 8-bit samples, rounded and clamped to 0…255.
    public var bytes: [UInt8] { pixels.map { UInt8(max(0, min(255, $0.rounded()))) } }

    /// Writes an 8-bit RGB PNG atomically: a temporary file beside `path`, then a rename, so a
    /// failure never leaves a half-written file. `text` becomes UTF-8 text chunks (key, value).
    public func writePNG(_ path: String, text: [(key: String, value: String)] = []) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw EngineError.io("\(path): the folder \(dir) does not exist")
        }
        let tmp = dir + "/." + url.lastPathComponent + ".\(getpid()).tmp"
        var message = [CChar](repeating: 0, count: 1024)
        let keys = text.map { strdup($0.key) }, values = text.map { strdup($0.value) }
        defer { (keys + values).forEach { free($0) } }
        let rc = bytes.withUnsafeBufferPointer { rgb in
            keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
                values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                    nsio_write_png_text(tmp, rgb.baseAddress, UInt32(width), UInt32(height), k.baseAddress, v.baseAddress,
                                        UInt32(text.count), &message, message.count)
                }
            }
        }
        if rc != 0 {
            unlink(tmp)
            // the message names the hidden temporary file: name the user's path instead
            var why = String(cString: message)
            if why.hasPrefix(tmp + ": ") { why = String(why.dropFirst(tmp.count + 2)) }
            if rc == NSIO_ERR_NOMEM { throw EngineError.outOfMemory("cannot write \(path): \(why)") }
            throw EngineError.io("cannot write \(path): \(why.prefix(1).lowercased() + why.dropFirst())")
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw EngineError.io("cannot write \(path): \(reason.prefix(1).lowercased() + reason.dropFirst())")
        }
    }

    // MARK: network input space

    /// ImageNet mean in BGR order, on the 0…255 scale.
    public static let meanBGR: [Float] = [103.939, 116.779, 123.68]

    /// C×H×W, BGR, 0…255 with the ImageNet mean subtracted: what conv1_1 consumes.
    public func networkInput() -> [Float] {
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        for p in 0..<plane {
            for c in 0..<3 {  // c: BGR channel, 2 − c: its RGB sample
                out[c * plane + p] = pixels[p * 3 + (2 - c)] - Self.meanBGR[c]
            }
        }
        return out
    }

    /// The inverse of `networkInput`, clamped to 0…255.
    public init(networkInput x: [Float], width: Int, height: Int) {
        let plane = width * height
        var px = [Float](repeating: 0, count: 3 * plane)
        for p in 0..<plane {
            for c in 0..<3 { px[p * 3 + (2 - c)] = min(255, max(0, x[c * plane + p] + Self.meanBGR[c])) }
        }
        self.init(width: width, height: height, pixels: px)
    }

    /// Bounds of each network-input channel that keep pixels inside 0…255.
    public static var networkLowerBounds: [Float] { meanBGR.map { -$0 } }
    public static var networkUpperBounds: [Float] { meanBGR.map { 255 - $0 } }

    /// Output size for a longest side of `longest`, keeping the aspect ratio.
    public func scaledSize(longestSide longest: Int) -> (width: Int, height: Int) {
        let s = Double(longest) / Double(max(width, height))
        return (max(1, Int((Double(width) * s).rounded())), max(1, Int((Double(height) * s).rounded())))
    }
}
