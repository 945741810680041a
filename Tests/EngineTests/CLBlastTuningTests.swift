import CBLAS
import Foundation
import XCTest
@testable import Engine

/// Tuned CLBlast parameters: tuner files are read and filtered, CLBlast accepts a complete set
/// and rejects an incomplete one, and a large SGEMM stays correct with the tuned kernel.
final class CLBlastTuningTests: XCTestCase {
    /// A configuration CLBlast's Xgemm tuner found on PoCL (valid for any device that allows
    /// 64 work-items per group).
    static let xgemm = "GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=8 MDIMC=8 MWG=64 NDIMB=8 NDIMC=8 NWG=64 PRECISION=32 SA=0 SB=0 STRM=0 STRN=0 VWM=4 VWN=4"

    func tunerFile(_ dir: URL, _ name: String, family: String, precision: String, device: String,
                   parameters: String, time: String = "0.42") throws {
        let json: [String: Any] = ["kernel_family": family, "precision": precision, "best_kernel": "Xgemm",
                                   "best_time": time, "best_parameters": parameters, "device": device, "results": []]
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent(name))
    }

    func testTunerFilesAreReadAppliedAndKeepSGEMMCorrect() throws {
        let device = try DeviceInfo.select(nil)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clblast-tuning-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try tunerFile(dir, "clblast_xgemm_1_32.json", family: "xgemm_1", precision: "32", device: device.name, parameters: Self.xgemm)
        // slower, double precision, or another device: all ignored
        try tunerFile(dir, "clblast_xgemm_2_32.json", family: "xgemm_2", precision: "32", device: device.name,
                      parameters: Self.xgemm.replacingOccurrences(of: "VWN=4", with: "VWN=2"), time: "9.5")
        try tunerFile(dir, "clblast_xgemm_1_64.json", family: "xgemm_1", precision: "64", device: device.name, parameters: Self.xgemm)
        try tunerFile(dir, "other.json", family: "xgemm_1", precision: "32", device: "some GPU", parameters: Self.xgemm)
        let tunings = try CLBlastTuning.load(folder: dir.path, device: device.name)
        XCTAssertEqual(tunings.map(\.kernel), ["Xgemm"])
        XCTAssertEqual(tunings.first?.parameters.count, 16)
        XCTAssertEqual(tunings.first?.parameters.first { $0.name == "VWN" }?.value, 4)

        let backend = try OpenCLBackend(device: device)
        try backend.context.apply(tunings[0])
        // a product large enough for CLBlast's indirect (Xgemm) kernel, against OpenBLAS
        let n = 512
        var rng = SeededRandom(seed: 9)
        let a = rng.uniformArray(n * n), b = rng.uniformArray(n * n)
        let ta = try backend.tensor(a, Shape(1, n, n)), tb = try backend.tensor(b, Shape(1, n, n))
        let tc = try backend.makeTensor(Shape(1, n, n))
        try backend.context.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: ta.cl, lda: n,
                                  b: tb.cl, ldb: n, beta: 0, c: tc.cl, ldc: n)
        let c = try backend.download(tc)
        var expected = [Float](repeating: 0, count: n * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n),
                    0, &expected, Int32(n))
        XCTAssertLessThan(OpCase.error([c], reference: [expected]), 1e-5)

        // an incomplete set is refused with a message that says so
        let partial = CLBlastTuning(kernel: "Xgemm", device: device.name, milliseconds: 1,
                                    parameters: Array(tunings[0].parameters.prefix(3)))
        XCTAssertThrowsError(try backend.context.apply(partial)) { XCTAssertTrue("\($0)".contains("missing"), "\($0)") }
        // a file that is not a tuner result names itself
        let junk = dir.appendingPathComponent("junk.json")
        try Data("{\"kernel_family\": 3}".utf8).write(to: junk)
        XCTAssertThrowsError(try CLBlastTuning.read(junk.path)) { XCTAssertTrue("\($0)".contains("junk.json"), "\($0)") }
    }
}
