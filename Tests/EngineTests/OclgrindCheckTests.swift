import Foundation
import XCTest
@testable import Engine

/// `tools/oclgrind-check.sh` catches what PoCL forgives: with the barrier inside the reduction's
/// tree removed (through the kernel-source override), work-items race on local memory, the
/// results can still match on a CPU device, and the simulator must report the race on our
/// kernel. The intact kernels give no report. Skipped where Oclgrind is not installed.
final class OclgrindCheckTests: XCTestCase {
    private func script(_ env: [String: String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [CLIRunner.repositoryRoot.appendingPathComponent("tools/oclgrind-check.sh").path, "gpu"]
        var e = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
        if let exe = CLIRunner.executable { e["NEURAL_STYLE_BIN"] = exe.path }
        p.environment = e
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("oclgrind-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let h = try FileHandle(forWritingTo: log)
        p.standardOutput = h
        p.standardError = h
        try p.run()
        p.waitUntilExit()
        try h.close()
        return (p.terminationStatus, String(decoding: try Data(contentsOf: log), as: UTF8.self))
    }

    func testAMissingBarrierIsReportedAsARaceOnOurKernel() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/oclgrind") else { throw XCTSkip("oclgrind is not installed") }
        let barrier = "if (l < s) scratch[l] += scratch[l + s];\n        barrier(CLK_LOCAL_MEM_FENCE);"
        XCTAssertTrue(KernelFile.reduce.embedded.contains(barrier), "reduce.cl changed: update this test's injection")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ns-racy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let racy = KernelFile.reduce.embedded.replacingOccurrences(of: barrier, with: "if (l < s) scratch[l] += scratch[l + s];")
        try racy.write(to: dir.appendingPathComponent("reduce.cl"), atomically: true, encoding: .utf8)

        let clean = try script(["OCLGRIND_CHECK_ONLY": "dot"])
        print(clean.output)
        XCTAssertEqual(clean.status, 0, clean.output)
        XCTAssertTrue(clean.output.contains("Oclgrind reports on our kernels: 0"), clean.output)

        let broken = try script(["OCLGRIND_CHECK_ONLY": "dot", KernelFile.overrideVariable: dir.path])
        print(broken.output)
        XCTAssertNotEqual(broken.status, 0, "the check passed a reduction without its barrier:\n" + broken.output)
        XCTAssertTrue(broken.output.contains("OURS") && broken.output.contains("dot_partials") && broken.output.contains("data race"),
                      broken.output)
    }
}
