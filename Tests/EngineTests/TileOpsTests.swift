import Foundation
import XCTest
@testable import Engine

/// The CPU tile operations (`crop`, `accumulateCrop`) against hand-computed results, a naive
/// reference over many offsets, and a 2×2 grid of overlapping tiles whose accumulated crops
/// give each pixel's overlap count. (The OpenCL kernels are checked against these in the
/// parity table, cases "crop" and "accumulate_crop".)
final class TileOpsTests: XCTestCase {
    let cpu = CPUBackend()

    func testCropZeroFillsOutsideTheSource() throws {
        // 2×2×3: channel 0 = 1…6, channel 1 = 11…16
        let src = try cpu.tensor([1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16], Shape(2, 2, 3))
        let dst = try cpu.makeTensor(2, 3, 3)
        try cpu.fill(dst, 9)  // stale values must be overwritten
        try cpu.crop(src, top: -1, left: 1, into: dst)
        XCTAssertEqual(try cpu.download(dst), [0, 0, 0, 2, 3, 0, 5, 6, 0,
                                               0, 0, 0, 12, 13, 0, 15, 16, 0])
        // inside
        let inner = try cpu.makeTensor(2, 1, 2)
        try cpu.crop(src, top: 1, left: 0, into: inner)
        XCTAssertEqual(try cpu.download(inner), [4, 5, 14, 15])
        // wholly outside: all zero
        try cpu.fill(dst, 9)
        try cpu.crop(src, top: 5, left: -7, into: dst)
        XCTAssertEqual(try cpu.download(dst), [Float](repeating: 0, count: 18))
    }

    func testAccumulateCropIgnoresPositionsOutsideTheDestination() throws {
        // tile 2×2×2: channel 0 = 1…4, channel 1 = 5…8; only its (0, 1) lands inside, at (2, 0)
        let src = try cpu.tensor([1, 2, 3, 4, 5, 6, 7, 8], Shape(2, 2, 2))
        let dst = try cpu.makeTensor(2, 3, 3)
        try cpu.fill(dst, 10)
        try cpu.accumulateCrop(src, top: 2, left: -1, into: dst)
        XCTAssertEqual(try cpu.download(dst), [10, 10, 10, 10, 10, 10, 12, 10, 10,
                                               10, 10, 10, 10, 10, 10, 16, 10, 10])
        // inside: adds, does not overwrite
        try cpu.accumulateCrop(src, top: 0, left: 1, into: dst)
        XCTAssertEqual(try cpu.download(dst), [10, 11, 12, 10, 13, 14, 12, 10, 10,
                                               10, 15, 16, 10, 17, 18, 16, 10, 10])
        // wholly outside: unchanged
        let before = try cpu.download(dst)
        try cpu.accumulateCrop(src, top: -2, left: 0, into: dst)
        try cpu.accumulateCrop(src, top: 0, left: 3, into: dst)
        XCTAssertEqual(try cpu.download(dst), before)
    }

    /// Every offset from wholly-outside on one side to wholly-outside on the other, against
    /// the definitions written out element by element.
    func testBothAgreeWithTheDefinitionAtEveryOffset() throws {
        var rng = SeededRandom(seed: 41)
        let (c, h, w, th, tw) = (3, 5, 7, 3, 4)
        let x = rng.uniformArray(c * h * w), t = rng.uniformArray(c * th * tw)
        let image = try cpu.tensor(x, Shape(c, h, w)), tile = try cpu.tensor(t, Shape(c, th, tw))
        for top in -th...h {
            for left in -tw...w {
                try cpu.crop(image, top: top, left: left, into: tile)
                var want = [Float](repeating: 0, count: c * th * tw)
                for ch in 0..<c { for i in 0..<th { for j in 0..<tw {
                    let y = top + i, xx = left + j
                    if y >= 0 && y < h && xx >= 0 && xx < w { want[(ch * th + i) * tw + j] = x[(ch * h + y) * w + xx] }
                } } }
                XCTAssertEqual(try cpu.download(tile), want, "crop @\(top),\(left)")

                try cpu.upload(t, to: tile)
                try cpu.upload(x, to: image)
                try cpu.accumulateCrop(tile, top: top, left: left, into: image)
                var sum = x
                for ch in 0..<c { for i in 0..<th { for j in 0..<tw {
                    let y = top + i, xx = left + j
                    if y >= 0 && y < h && xx >= 0 && xx < w { sum[(ch * h + y) * w + xx] += t[(ch * th + i) * tw + j] }
                } } }
                XCTAssertEqual(try cpu.download(image), sum, "accumulateCrop @\(top),\(left)")
                try cpu.upload(x, to: image)
            }
        }
    }

    /// A 2×2 grid of tiles with a halo, overlapping by two rows and two columns and
    /// overhanging every border: Σ accumulateCrop(crop(ones)) counts how many tiles cover
    /// each pixel (1, 2 or 4), and an integer image comes back multiplied by those counts.
    func testOverlappingGridReproducesOverlapCounts() throws {
        let (c, h, w) = (2, 7, 9)
        // (top, height) per tile row and (left, width) per tile column
        let rows = [(-1, 6), (3, 5)]      // rows −1…4 and 3…7: overlap 3…4
        let cols = [(-2, 8), (4, 7)]      // columns −2…5 and 4…10: overlap 4…5
        func covered(_ y: Int, _ x: Int) -> Float {
            let r = rows.filter { y >= $0.0 && y < $0.0 + $0.1 }.count
            let k = cols.filter { x >= $0.0 && x < $0.0 + $0.1 }.count
            return Float(r * k)
        }
        var rng = SeededRandom(seed: 42)
        let integers = rng.uniformArray(c * h * w, -50, 50).map { $0.rounded() }
        for values in [[Float](repeating: 1, count: c * h * w), integers] {
            let image = try cpu.tensor(values, Shape(c, h, w))
            let acc = try cpu.makeTensor(c, h, w)
            try cpu.fill(acc, 0)
            for (top, th) in rows {
                for (left, tw) in cols {
                    let tile = try cpu.makeTensor(c, th, tw)
                    try cpu.crop(image, top: top, left: left, into: tile)
                    try cpu.accumulateCrop(tile, top: top, left: left, into: acc)
                }
            }
            let got = try cpu.download(acc)
            var want = [Float](repeating: 0, count: c * h * w)
            for ch in 0..<c { for y in 0..<h { for x in 0..<w {
                want[(ch * h + y) * w + x] = values[(ch * h + y) * w + x] * covered(y, x)
            } } }
            XCTAssertEqual(got, want)
            if values[0] == 1 && values.allSatisfy({ $0 == 1 }) {
                XCTAssertEqual(Set(got), [1, 2, 4])
                XCTAssertEqual(got[0], 1)                       // (0, 0): one tile
                XCTAssertEqual(got[3 * w + 0], 2)               // row overlap only
                XCTAssertEqual(got[0 * w + 5], 2)               // column overlap only
                XCTAssertEqual(got[4 * w + 4], 4)               // both
                XCTAssertEqual(got[h * w + 6 * w + 8], 1)       // channel 1, far corner
            }
        }
    }
}
