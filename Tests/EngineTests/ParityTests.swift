import Foundation
import XCTest
@testable import Engine

/// Every operation on the default OpenCL device (PoCL in CI) against the CPU reference.
final class ParityTests: XCTestCase {
    /// Both paths for convolutions and Gram matrices: CLBlast (GPUs' default) and the direct
    /// kernels (CPU devices' default).
    func testEveryOperationMatchesTheCPUReference() throws {
        for path in OpenCLBackend.Parameters.Path.allCases {
            var p = OpenCLBackend.Parameters()
            p.path = path
            let backend = try OpenCLBackend(device: try DeviceInfo.select(nil), parameters: p)
            XCTAssertEqual(backend.path, path)
            let results = ParityCheck.run(on: backend)
            XCTAssertGreaterThan(results.count, 50)
            for r in results where !r.passed { XCTFail("\(path): " + ParityCheck.format(r)) }
        }
    }

    /// The GPU parameter profile (CLBlast, 256-wide reductions, no per-work-item groups) on
    /// whatever device this is, PoCL in CI: the configuration a first GPU run gets, on the full
    /// table, and the Winograd kernels as a GPU would run them (products in CLBlast).
    func testTheGPUProfileMatchesTheCPUReference() throws {
        let device = try DeviceInfo.select(nil)
        let backend = try OpenCLBackend(device: device, parameterProfile: .gpu)
        XCTAssertEqual(backend.parameterProfile, .gpu)
        XCTAssertEqual(backend.path, .clblast)
        let results = ParityCheck.run(on: backend)
        XCTAssertGreaterThan(results.count, 50)
        for r in results where !r.passed { XCTFail("gpu profile: " + ParityCheck.format(r)) }
        var p = OpenCLBackend.Parameters()
        p.winogradMinChannels = 4
        let winograd = try OpenCLBackend(device: device, parameters: p, parameterProfile: .gpu)
        for r in ParityCheck.run(on: winograd, cases: OpCase.all().filter { $0.op.hasPrefix("conv3x3") }) where !r.passed {
            XCTFail("gpu profile, Winograd: " + ParityCheck.format(r))
        }
    }

    /// Every work-group size the tuner tries (convWorkGroup 1, 4, 16) runs the convolutions on
    /// any shape, direct and Winograd: a group that does not divide a layer's width in vectors
    /// (9×7 has 1 vector of 16) used to fail with CL_INVALID_WORK_GROUP_SIZE.
    func testEveryConvolutionWorkGroupSizeRunsOnEveryShape() throws {
        let device = try DeviceInfo.select(nil)
        let convs = OpCase.all().filter { $0.op.hasPrefix("conv3x3") }
        for group in [1, 4, 16] {
            for winograd in [Int.max, 4] {
                var p = OpenCLBackend.Parameters()
                p.path = .direct
                p.convWorkGroup = group
                p.winogradMinChannels = winograd
                let backend = try OpenCLBackend(device: device, parameters: p, tuned: false)
                let results = ParityCheck.run(on: backend, cases: convs)
                XCTAssertGreaterThan(results.count, 8)
                for r in results where !r.passed {
                    XCTFail("convWorkGroup=\(group), winogradMinChannels=\(winograd): " + ParityCheck.format(r))
                }
            }
        }
    }

    /// Both multiply-add forms of the register-blocked kernels (fma() where the device reports
    /// CL_FP_FMA, the default there, and mad()) pass the direct convolution, Winograd and Gram
    /// cases; the default follows the device.
    func testBothMultiplyAddFormsMatchTheReference() throws {
        let device = try DeviceInfo.select(nil)
        XCTAssertEqual(try OpenCLBackend(device: device, tuned: false).parameters.fma, device.fma)
        var options = OpenCLBackend.Parameters()
        for f in [KernelFile.convDirect, .gram, .winograd, .reduce] {
            options.fma = true
            XCTAssertEqual(options.buildOptions(f).contains("-DMULADD=fma"), f.name != KernelFile.reduce.name, f.name)
            options.fma = false
            XCTAssertFalse(options.buildOptions(f).contains("MULADD"), f.name)
        }
        let cases = OpCase.all().filter { c in ["conv3x3", "winograd", "gram"].contains { c.op.contains($0) } }
        for fma in [true, false] where fma == false || device.fma {
            var p = OpenCLBackend.Parameters()
            p.path = .direct
            p.winogradMinChannels = 4
            p.fma = fma
            let backend = try OpenCLBackend(device: device, parameters: p, tuned: false)
            let results = ParityCheck.run(on: backend, cases: cases)
            XCTAssertGreaterThan(results.count, 8)
            for r in results where !r.passed { XCTFail("fma=\(fma): " + ParityCheck.format(r)) }
        }
    }

    /// A small layer's Winograd GEMM is fitted to its tiles: conv5_1 of a 128×128 image (8×8, 2×2
    /// tiles) multiplies 8 tiles per position, not the 128 of a full 16-wide, 8-row work-item.
    /// The parity tests above run these fitted kernels (the table's Winograd shapes have 1 to 3
    /// tile columns, so 1 to 3 vectors per work-item).
    func testWinogradGEMMWorkItemsFitSmallLayers() {
        var p = OpenCLBackend.Parameters()
        p.convVectorWidth = 16
        p.winogradRows = 8
        let small = p.winogradLayout(cin: 512, cout: 512, height: 8, width: 8)
        XCTAssertEqual([small.vector, small.gemmRows, small.ntStride], [4, 2, 8])
        let wide = p.winogradLayout(cin: 64, cout: 64, height: 128, width: 128)
        XCTAssertEqual([wide.vector, wide.gemmRows, wide.ntStride], [16, 8, 1024])
        let odd = p.winogradLayout(cin: 64, cout: 64, height: 9, width: 7)
        XCTAssertEqual([odd.vector, odd.gemmRows, odd.ntStride], [4, 3, 12])
        p.winogradFitVector = false
        let unfitted = p.winogradLayout(cin: 512, cout: 512, height: 8, width: 8)
        XCTAssertEqual([unfitted.vector, unfitted.gemmRows, unfitted.ntStride], [16, 8, 128])
    }

    /// The CPU backend's fast paths (Winograd F(2×2, 3×3), GEMM + col2im) against its plain
    /// forms, on the same table, with small bands so every shape is split into several.
    func testCPUFastPathsMatchThePlainReference() throws {
        let fast = CPUBackend()
        XCTAssertNotNil(fast.parameters.winogradMinChannels)
        XCTAssertTrue(fast.parameters.col2imForFewOutputs)
        fast.parameters.winogradMinChannels = 4   // Winograd on every table shape but the 3-channel ones
        fast.parameters.winogradBandBudget = 1
        fast.parameters.winogradMinTiles = 8      // bands of 2+ tile rows
        fast.parameters.im2colBudget = 2000       // col2im (64 → 3 at 9×7) in 2 bands
        let convs = OpCase.all().filter { $0.op.hasPrefix("conv3x3") }
        XCTAssertTrue(convs.contains { $0.shape.hasPrefix("64→3") })
        XCTAssertEqual(fast.parameters.convMethod(cin: 64, cout: 3), .col2im)
        XCTAssertGreaterThan(fast.parameters.convBandRows(.col2im, cin: 64, cout: 3, height: 9, width: 7), 1)
        XCTAssertLessThan(fast.parameters.convBandRows(.col2im, cin: 64, cout: 3, height: 9, width: 7), 9)
        fast.parameters.winogradF4MinTiles = 1     // F(4×4) even on these small shapes
        for tile in [2, 4] {
            fast.parameters.winogradTile = tile
            XCTAssertEqual(fast.parameters.winogradTile(height: 3, width: 4), tile)
            let results = ParityCheck.run(on: fast, cases: convs)
            XCTAssertGreaterThan(results.count, 8)
            for r in results {
                XCTAssertTrue(r.passed, "cpu, F(\(tile)×\(tile), 3×3): " + ParityCheck.format(r))
            }
            print("F(\(tile)x\(tile),3x3) worst error", results.map(\.error).max() ?? 0)
        }
    }

    /// Tuning overrides are parsed, and mistakes are errors rather than silently ignored.
    func testParameterOverrides() throws {
        var p = OpenCLBackend.Parameters()
        try p.apply("convVectorWidth=8, convOutputBlock=12, convRows=2, path=clblast")
        XCTAssertEqual(p.convVectorWidth, 8)
        XCTAssertEqual(p.convOutputBlock, 12)
        XCTAssertEqual(p.convRows, 2)
        XCTAssertEqual(p.path, .clblast)
        XCTAssertThrowsError(try p.apply("convVectorWidth=5"))
        XCTAssertThrowsError(try p.apply("noSuchKnob=1"))
        XCTAssertThrowsError(try p.apply("path"))
        XCTAssertThrowsError(try p.apply("convOutputBlock=16,convRows=2"))
        try p.apply("convOutputBlock=24,convRows=1")
        XCTAssertThrowsError(try p.apply("winogradOutputBlock=6,winogradRows=8"))
        try p.apply("winogradMinChannels=off,winogradGemm=clblast")
        XCTAssertFalse(p.usesWinograd(cin: 512, cout: 512))

        var c = CPUBackend.Parameters()
        try c.apply("winogradTile=2, winogradMinChannels=off, col2imForFewOutputs=off")
        XCTAssertEqual(c.winogradTile, 2)
        XCTAssertNil(c.winogradMinChannels)
        XCTAssertEqual(c.convMethod(cin: 64, cout: 3), .im2col)
        c = CPUBackend.Parameters()
        XCTAssertEqual(c.winogradTile(height: 32, width: 32), 4)   // 64 tiles of 4×4
        XCTAssertEqual(c.winogradTile(height: 16, width: 16), 2)
        XCTAssertThrowsError(try c.apply("winogradTile=3"))
        XCTAssertThrowsError(try c.apply("noSuchKnob=1"))
        XCTAssertThrowsError(try c.apply("chunk"))
    }

    /// `check` must notice a wrong kernel: a ReLU that leaks negatives is loaded through the
    /// development override, and the check fails for exactly the ReLU cases.
    func testCheckFailsLoudlyOnABrokenKernel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ns-broken-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = KernelFile.activation.embedded.replacingOccurrences(of: "fmax(x[i], 0.0f)", with: "fmax(x[i], -0.01f)")
        XCTAssertNotEqual(broken, KernelFile.activation.embedded)
        try broken.write(to: dir.appendingPathComponent("activation.cl"), atomically: true, encoding: .utf8)
        setenv(KernelFile.overrideVariable, dir.path, 1)
        defer { unsetenv(KernelFile.overrideVariable) }
        let backend = try OpenCLBackend(device: nil)
        let results = ParityCheck.run(on: backend, cases: OpCase.all().filter { $0.op.hasPrefix("relu") || $0.op == "maxpool" })
        let failed = Set(results.filter { !$0.passed }.map(\.op))
        XCTAssertEqual(failed, ["relu"])
    }

    /// Reductions are deterministic: the same input gives the same bits every run.
    func testReductionsAreBitwiseRepeatable() throws {
        let backend = try OpenCLBackend(device: nil)
        var rng = SeededRandom(seed: 3)
        let x = try backend.tensor(rng.uniformArray(300_001), Shape(vector: 300_001))
        let first = try backend.sumOfSquares(x)
        for _ in 0..<5 { XCTAssertEqual(try backend.sumOfSquares(x).bitPattern, first.bitPattern) }
        let cpu = CPUBackend()
        let y = try cpu.tensor(try backend.download(x), x.shape)
        let c0 = try cpu.dot(y, y)
        for _ in 0..<5 { XCTAssertEqual(try cpu.dot(y, y).bitPattern, c0.bitPattern) }
    }
}
