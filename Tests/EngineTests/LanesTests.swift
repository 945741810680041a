import Foundation
import XCTest
@testable import Engine

/// The CPU element-wise kernels that run in vector lanes (Lanes.swift) against their scalar
/// definitions, bit for bit: lengths that end inside a trip of 16 or a 4-lane step, one longer
/// than a parallel chunk, and the values where a select can differ from a branch (−0, NaN, ±∞).
final class LanesTests: XCTestCase {
    let cpu = CPUBackend()

    func values(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        var v = rng.uniformArray(n)
        let special: [Float] = [-0.0, 0, .nan, .infinity, -.infinity, -1e-40, 1e-40]
        for (k, s) in special.enumerated() where k * 5 < n { v[k * 5] = s }
        return v
    }

    func testReLUAndItsBackwardEqualTheScalarDefinitionsBitForBit() throws {
        for n in [1, 15, 16, 17, 37, cpu.parameters.chunk + 21] {
            let x = values(n, seed: 3), g = values(n, seed: 4)
            let xt = try cpu.tensor(x, Shape(vector: n)), yt = try cpu.makeTensor(Shape(vector: n))
            try cpu.relu(xt, into: yt)
            let y = try cpu.download(yt)
            XCTAssertEqual(y.map(\.bitPattern), x.map { max($0, 0).bitPattern }, "relu, n = \(n)")

            let gt = try cpu.tensor(g, Shape(vector: n)), dt = try cpu.makeTensor(Shape(vector: n))
            try cpu.reluBackward(gt, output: xt, into: dt)
            XCTAssertEqual(try cpu.download(dt).map(\.bitPattern), zip(g, x).map { ($1 > 0 ? $0 : 0).bitPattern },
                           "relu backward, n = \(n)")
            try cpu.reluBackward(gt, output: xt, into: gt)   // in place, as the network runs it
            XCTAssertEqual(try cpu.download(gt).map(\.bitPattern), zip(g, x).map { ($1 > 0 ? $0 : 0).bitPattern },
                           "relu backward in place, n = \(n)")
        }
    }
}
