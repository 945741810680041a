import Foundation

/// Lanczos-3 resampling (separable, a = 3). When shrinking, the kernel is widened by the scale
/// factor so it also low-passes (no aliasing). Results are clamped to 0…255.
extension RGBImage {
    public func resized(width w: Int, height h: Int) -> RGBImage {
        if w == width && h == height { return self }
        let horizontal = Self.resampleRows(pixels, width: width, height: height, to: w)
        let both = Self.resampleColumns(horizontal, width: w, height: height, to: h)
        return RGBImage(width: w, height: h, pixels: both.map { min(255, max(0, $0)) })
    }

    static func lanczos(_ x: Double) -> Double {
        if x == 0 { return 1 }
        if abs(x) >= 3 { return 0 }
        let px = Double.pi * x
        return 3 * sin(px) * sin(px / 3) / (px * px)
    }

    /// For each output index, the first source index and normalised weights.
    static func taps(from n: Int, to m: Int) -> [(Int, [Float])] {
        let scale = Double(m) / Double(n)
        let support = 3 / min(scale, 1)
        return (0..<m).map { i in
            let center = (Double(i) + 0.5) / scale - 0.5
            let lo = Int((center - support).rounded(.up)), hi = Int((center + support).rounded(.down))
            var ws: [Double] = []
            for j in lo...hi { ws.append(lanczos((Double(j) - center) * min(scale, 1))) }
            let sum = ws.reduce(0, +)
            // clamp-to-edge: fold taps outside the image onto the border samples
            var folded = [Double](repeating: 0, count: n)
            var first = n, last = -1
            for (k, wgt) in ws.enumerated() {
                let j = min(n - 1, max(0, lo + k))
                folded[j] += wgt / sum
                first = min(first, j)
                last = max(last, j)
            }
            return (first, (first...last).map { Float(folded[$0]) })
        }
    }

    static func resampleRows(_ src: [Float], width: Int, height: Int, to w: Int) -> [Float] {
        let t = taps(from: width, to: w)
        var out = [Float](repeating: 0, count: w * height * 3)
        DispatchQueue.concurrentPerform(iterations: height) { y in
            src.withUnsafeBufferPointer { s in
                out.withUnsafeBufferPointer { o in
                    let op = UnsafeMutablePointer(mutating: o.baseAddress!) + y * w * 3
                    let sp = s.baseAddress! + y * width * 3
                    for x in 0..<w {
                        let (first, ws) = t[x]
                        var acc: (Float, Float, Float) = (0, 0, 0)
                        for (k, wgt) in ws.enumerated() {
                            let p = sp + (first + k) * 3
                            acc.0 += wgt * p[0]; acc.1 += wgt * p[1]; acc.2 += wgt * p[2]
                        }
                        op[x * 3] = acc.0; op[x * 3 + 1] = acc.1; op[x * 3 + 2] = acc.2
                    }
                }
            }
        }
        return out
    }

    static func resampleColumns(_ src: [Float], width: Int, height: Int, to h: Int) -> [Float] {
        let t = taps(from: height, to: h)
        var out = [Float](repeating: 0, count: width * h * 3)
        let row = width * 3
        DispatchQueue.concurrentPerform(iterations: h) { y in
            src.withUnsafeBufferPointer { s in
                out.withUnsafeBufferPointer { o in
                    let op = UnsafeMutablePointer(mutating: o.baseAddress!) + y * row
                    let (first, ws) = t[y]
                    for (k, wgt) in ws.enumerated() {
                        let sp = s.baseAddress! + (first + k) * row
                        for i in 0..<row { op[i] += wgt * sp[i] }
                    }
                }
            }
        }
        return out
    }
}
