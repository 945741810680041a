import XCTest
@testable import Engine

/// The foundation: the default device runs a hand-written kernel and CLBlast, and failures
/// come back as errors with the compiler log or the allocation sizes.
final class OpenCLSmokeTests: XCTestCase {
    func testDefaultDeviceIsListed() throws {
        let devices = try DeviceInfo.all()
        XCTAssertFalse(devices.isEmpty)
        let d = try DeviceInfo.select(nil)
        XCTAssertGreaterThan(d.globalMemoryBytes, 0)
        XCTAssertGreaterThan(d.maxWorkGroupSize, 0)
    }

    func testUnknownDeviceListsWhatExists() throws {
        XCTAssertThrowsError(try DeviceInfo.select("no-such-device-xyz")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("no OpenCL device matches"), text)
            XCTAssertTrue(text.contains("0:"), text)
        }
        XCTAssertThrowsError(try DeviceInfo.select("99"))
    }

    func testVectorKernelMatchesCPULoop() throws {
        let ctx = try CLContext(device: try DeviceInfo.select(nil))
        let source = KernelFile(name: "smoke.cl", embedded: """
            __kernel void saxpb(__global const float *x, __global float *y, const float a, const int n) {
                const int i = get_global_id(0);
                if (i < n) y[i] = a * x[i] + y[i];
            }
            """)
        let n = 1000
        var rng = SeededRandom(seed: 7)
        let x = rng.uniformArray(n), y = rng.uniformArray(n)
        let bx = try ctx.allocate(bytes: n * 4), by = try ctx.allocate(bytes: n * 4)
        try x.withUnsafeBytes { try ctx.write(bx, from: $0.baseAddress!, bytes: n * 4) }
        try y.withUnsafeBytes { try ctx.write(by, from: $0.baseAddress!, bytes: n * 4) }
        try ctx.launch(try ctx.kernel("saxpb", in: source), global: [n], [.buffer(bx), .buffer(by), .float(2.5), .int(Int32(n))])
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBytes { try ctx.read(by, into: $0.baseAddress!, bytes: n * 4) }
        for i in 0..<n { XCTAssertEqual(out[i], 2.5 * x[i] + y[i], accuracy: 1e-5) }
    }

    func testCLBlastSgemmMatchesCPULoop() throws {
        let ctx = try CLContext(device: try DeviceInfo.select(nil))
        let m = 37, n = 29, k = 53
        var rng = SeededRandom(seed: 11)
        let a = rng.uniformArray(m * k), b = rng.uniformArray(k * n)
        let ba = try ctx.allocate(bytes: a.count * 4), bb = try ctx.allocate(bytes: b.count * 4)
        let bc = try ctx.allocate(bytes: m * n * 4)
        try a.withUnsafeBytes { try ctx.write(ba, from: $0.baseAddress!, bytes: a.count * 4) }
        try b.withUnsafeBytes { try ctx.write(bb, from: $0.baseAddress!, bytes: b.count * 4) }
        try ctx.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ba, lda: k, b: bb, ldb: n,
                      beta: 0, c: bc, ldc: n)
        var c = [Float](repeating: 0, count: m * n)
        try c.withUnsafeMutableBytes { try ctx.read(bc, into: $0.baseAddress!, bytes: m * n * 4) }
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += a[i * k + p] * b[p * n + j] }
                XCTAssertEqual(c[i * n + j], s, accuracy: 1e-4)
            }
        }
    }

    func testSyntaxErrorYieldsCompilerLog() throws {
        let ctx = try CLContext(device: try DeviceInfo.select(nil))
        let broken = KernelFile(name: "broken.cl", embedded: "__kernel void f(__global float *x) { x[0] = ; }")
        XCTAssertThrowsError(try ctx.kernel("f", in: broken)) { e in
            guard let e = e as? OpenCLError else { return XCTFail("unexpected \(e)") }
            XCTAssertTrue(e.message.contains("broken.cl"), e.message)
            XCTAssertTrue(e.message.contains("failed to build"), e.message)
            XCTAssertFalse((e.buildLog ?? "").isEmpty, "the compiler log is missing")
        }
    }

    func testAbsurdAllocationIsAnErrorNotACrash() throws {
        let ctx = try CLContext(device: try DeviceInfo.select(nil))
        let bytes = 1 << 50
        XCTAssertThrowsError(try ctx.allocate(bytes: bytes)) { e in
            guard case EngineError.outOfMemory(let m) = e else { return XCTFail("unexpected \(e)") }
            XCTAssertTrue(m.contains("\(bytes) bytes"), m)
            XCTAssertTrue(m.contains("largest single allocation"), m)
        }
    }

    func testKernelSourcesAreEmbeddedAndInSync() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dir = root.appendingPathComponent("kernels")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".cl") }.sorted()
        XCTAssertEqual(files, KernelFile.all.map(\.name).sorted(),
                       "kernels/ and the embedded list differ: run python3 tools/embed_kernels.py")
        for f in KernelFile.all {
            let disk = try String(contentsOf: dir.appendingPathComponent(f.name), encoding: .utf8)
            XCTAssertEqual(disk.trimmingCharacters(in: .newlines), f.embedded.trimmingCharacters(in: .newlines),
                           "\(f.name) is out of date: run python3 tools/embed_kernels.py")
        }
    }
}
