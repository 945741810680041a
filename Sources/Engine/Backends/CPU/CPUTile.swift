import Foundation

extension CPUBackend {
    /// Copies the overlapping rectangle row by row and zero-fills the rest; parallel over channels.
    public func crop(_ src: Tensor, top: Int, left: Int, into dst: Tensor) throws {
        let c = src.shape.channels, sh = src.shape.height, sw = src.shape.width
        let dh = dst.shape.height, dw = dst.shape.width
        precondition(dst.shape.channels == c, "crop of \(src.shape) into \(dst.shape)")
        // dst rows i0..<i1 and columns j0..<j1 come from inside src
        let i0 = min(max(-top, 0), dh), i1 = max(min(sh - top, dh), i0)
        let j0 = min(max(-left, 0), dw), j1 = max(min(sw - left, dw), j0)
        let sp = src.cpu, dp = dst.cpu
        timed("crop", .bytes(4.0 * Double(dst.count + c * (i1 - i0) * (j1 - j0)))) {
            DispatchQueue.concurrentPerform(iterations: c) { ch in
                let s = sp + ch * sh * sw, d = dp + ch * dh * dw
                for i in 0..<dh {
                    let row = d + i * dw
                    guard i >= i0 && i < i1 && j1 > j0 else { row.update(repeating: 0, count: dw); continue }
                    row.update(repeating: 0, count: j0)
                    (row + j0).update(from: s + (top + i) * sw + left + j0, count: j1 - j0)
                    (row + j1).update(repeating: 0, count: dw - j1)
                }
            }
        }
    }

    /// Adds the overlapping rectangle row by row; parallel over channels.
    public func accumulateCrop(_ src: Tensor, top: Int, left: Int, into dst: Tensor) throws {
        let c = src.shape.channels, sh = src.shape.height, sw = src.shape.width
        let dh = dst.shape.height, dw = dst.shape.width
        precondition(dst.shape.channels == c, "accumulateCrop of \(src.shape) into \(dst.shape)")
        // src rows i0..<i1 and columns j0..<j1 land inside dst
        let i0 = min(max(-top, 0), sh), i1 = max(min(dh - top, sh), i0)
        let j0 = min(max(-left, 0), sw), j1 = max(min(dw - left, sw), j0)
        guard i1 > i0 && j1 > j0 else { return }
        let sp = src.cpu, dp = dst.cpu
        timed("accumulate_crop", .bytes(12.0 * Double(c * (i1 - i0) * (j1 - j0)))) {
            DispatchQueue.concurrentPerform(iterations: c) { ch in
                let s = sp + ch * sh * sw, d = dp + ch * dh * dw
                for i in i0..<i1 {
                    let from = s + i * sw, to = d + (top + i) * dw
                    for j in j0..<j1 { to[left + j] += from[j] }
                }
            }
        }
    }
}
