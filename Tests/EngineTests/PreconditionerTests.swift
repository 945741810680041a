import Foundation
import XCTest
@testable import Engine

/// `BlockPyramid`, L-BFGS's default preconditioner M = I + β·Σₗ Qₗ.
final class PreconditionerTests: XCTestCase {
    /// M·v written out with loops: v plus β times, for every level l, the mean of the 2ˡ×2ˡ block
    /// each pixel lies in (pixels past the level's floor-mode grid get none).
    private func reference(_ v: [Float], _ shape: Shape, depth: Int, weight: Double) -> [Double] {
        let (c, h, w) = (shape.channels, shape.height, shape.width)
        var out = v.map(Double.init)
        for l in stride(from: 1, through: depth, by: 1) {
            let b = 1 << l, gh = h >> l, gw = w >> l
            for ch in 0..<c {
                for bi in 0..<gh {
                    for bj in 0..<gw {
                        var sum = 0.0
                        for i in bi * b..<(bi + 1) * b { for j in bj * b..<(bj + 1) * b { sum += Double(v[(ch * h + i) * w + j]) } }
                        let mean = sum / Double(b * b)
                        for i in bi * b..<(bi + 1) * b { for j in bj * b..<(bj + 1) * b { out[(ch * h + i) * w + j] += weight * mean } }
                    }
                }
            }
        }
        return out
    }

    /// On 3×37×50 (odd sides; levels 18×25 and 9×12, then 4 < 8 stops), on the CPU backend and on
    /// OpenCL: M·v matches the loops to 1e-5 of its largest value, M is symmetric (uᵀMv = vᵀMu)
    /// and vᵀMv ≥ vᵀv; a block-constant image over 4×4 blocks is multiplied by 1 + 2β, and a
    /// checkerboard (zero mean in every 2×2 block) is left as it is.
    func testTheBlockPyramidMatchesItsDefinitionAndIsSymmetricPositiveDefinite() throws {
        var backends: [(String, Backend)] = [("cpu", CPUBackend())]
        if let device = try? DeviceInfo.select(nil) { backends.append(("opencl", try OpenCLBackend(device: device, tuned: false))) }
        let shape = Shape(3, 37, 50), n = 3 * 37 * 50
        var rng = SeededRandom(seed: 21)
        let u = (0..<n).map { _ in rng.uniform(-128, 128) }, v = (0..<n).map { _ in rng.uniform(-128, 128) }
        let weight: Float = 1.5
        for (name, backend) in backends {
            let m = try BlockPyramid(backend: backend, shape: shape, weight: weight)
            XCTAssertEqual(m.depth, 2, name)
            let out = try backend.makeTensor(shape)
            func apply(_ values: [Float]) throws -> [Float] {
                try m.apply(try backend.tensor(values, shape), into: out)
                return try backend.download(out)
            }
            let mu = try apply(u), mv = try apply(v)
            let want = reference(v, shape, depth: 2, weight: Double(weight))
            let scale = want.map(abs).max()!
            let worst = zip(mv, want).map { abs(Double($0) - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5 * scale, "\(name): M·v against the loops")
            let uMv = zip(u, mv).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let vMu = zip(v, mu).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(uMv, vMu, accuracy: 1e-5 * abs(uMv), "\(name): symmetry")
            let vMv = zip(v, mv).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertGreaterThanOrEqual(vMv, v.reduce(0.0) { $0 + Double($1) * Double($1) }, name)

            // on 3×32×32 (levels 16 and 8): constant 4×4 blocks gain both levels, a checkerboard neither
            let square = Shape(3, 32, 32)
            let m2 = try BlockPyramid(backend: backend, shape: square, weight: weight)
            XCTAssertEqual(m2.depth, 2, name)
            let out2 = try backend.makeTensor(square)
            let blocks: [Float] = (0..<(3 * 32 * 32)).map { (k: Int) -> Float in
                let row = k / 32 / 4, column = k % 32 / 4
                return Float((row * 7 + column * 3) % 11 - 5)
            }
            try m2.apply(try backend.tensor(blocks, square), into: out2)
            let b2 = try backend.download(out2), stretch = 1 + 2 * weight
            XCTAssertLessThan(zip(b2, blocks).map { abs($0 - stretch * $1) }.max()!, 1e-4, "\(name): a 4×4-block image")
            let checker: [Float] = (0..<(3 * 32 * 32)).map { (k: Int) -> Float in (k / 32 + k % 32) % 2 == 0 ? 9 : -9 }
            try m2.apply(try backend.tensor(checker, square), into: out2)
            XCTAssertEqual(try backend.download(out2), checker, "\(name): a checkerboard has no smooth part")
        }
        // below 16 px on the shorter side there is no level: M = I
        XCTAssertEqual(try BlockPyramid(backend: CPUBackend(), shape: Shape(3, 15, 300)).depth, 0)
        XCTAssertEqual(BlockPyramid.scratchFloats(Shape(3, 15, 300)), 0)
        XCTAssertEqual(BlockPyramid.scratchFloats(shape), 2 * 3 * (18 * 25 + 9 * 12) - 3 * 9 * 12)
    }
}
