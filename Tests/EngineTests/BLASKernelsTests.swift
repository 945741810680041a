import Foundation
import XCTest
@testable import Engine

/// The CPU backend's BLAS kernels follow the CPU's instruction sets, not a table of models.
final class BLASKernelsTests: XCTestCase {
    private func features(_ build: (inout BLASKernels.Features) -> Void) -> BLASKernels.Features {
        var f = BLASKernels.Features()
        build(&f)
        return f
    }

    func testChoiceFollowsTheFeatures() {
        let avx512 = features {
            $0.avx = true; $0.avx2 = true; $0.fma = true
            $0.avx512f = true; $0.avx512bw = true; $0.avx512vl = true; $0.avx512dq = true
        }
        var intel = avx512
        intel.vendor = "GenuineIntel"
        XCTAssertEqual(BLASKernels.choice(for: intel), "SkylakeX")
        var amd = avx512
        amd.vendor = "AuthenticAMD"
        XCTAssertEqual(BLASKernels.choice(for: amd), "SkylakeX", "Zen 4: AVX-512 kernels, as later OpenBLAS releases pick")
        let avx2 = features { $0.avx = true; $0.avx2 = true; $0.fma = true; $0.vendor = "AuthenticAMD" }
        XCTAssertEqual(BLASKernels.choice(for: avx2), "Zen")
        var avx2Intel = avx2
        avx2Intel.vendor = "GenuineIntel"
        XCTAssertEqual(BLASKernels.choice(for: avx2Intel), "Haswell")
        XCTAssertEqual(BLASKernels.choice(for: features { $0.avx = true }), "Sandybridge")
        XCTAssertNil(BLASKernels.choice(for: BLASKernels.Features()))
        // AVX-512F alone (no BW/VL/DQ) is not enough for SkylakeX's kernels
        XCTAssertEqual(BLASKernels.choice(for: features { $0.avx = true; $0.avx2 = true; $0.fma = true; $0.avx512f = true }), "Zen")
    }

    func testTiers() {
        XCTAssertEqual(BLASKernels.tier("Prescott"), 0)
        XCTAssertEqual(BLASKernels.tier("Core2"), 0)
        XCTAssertEqual(BLASKernels.tier("Sandybridge"), 1)
        XCTAssertEqual(BLASKernels.tier("Zen"), 2)
        XCTAssertEqual(BLASKernels.tier("HASWELL"), 2)
        XCTAssertEqual(BLASKernels.tier("SkylakeX"), 3)
        XCTAssertEqual(BLASKernels.tier("Cooperlake"), 3)
    }

    /// The executable on this machine: where cpuid reports AVX2 or AVX-512, the kernels it runs
    /// are of that tier (re-executing with OPENBLAS_CORETYPE when OpenBLAS's own detection does
    /// not know the CPU). Skipped when the environment sets OPENBLAS_CORETYPE, which always wins.
    func testTheToolRunsKernelsOfTheCPUsTier() throws {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else {
            throw XCTSkip("OPENBLAS_CORETYPE is set in this environment, and it wins")
        }
        let host = BLASKernels.Features.host
        guard let best = BLASKernels.choice(for: host) else { throw XCTSkip("no AVX on this CPU") }
        let dir = FileManager.default.temporaryDirectory
        let r = try CLIRunner.run(["devices"], in: dir)
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("Host: ") }, r.stdout + r.stderr)
        let core = try XCTUnwrap(line.components(separatedBy: "OpenBLAS kernels ").last?.split(separator: " ").first)
        print("\(line)  (cpuid: \(host.summary), best \(best))")
        XCTAssertEqual(BLASKernels.tier(String(core)), BLASKernels.tier(best), String(line))
        XCTAssertFalse(line.contains("warning"), String(line))
    }

    /// The re-execution itself: an LD_PRELOADed stand-in for `openblas_get_corename` reports
    /// "Prescott" as Debian's OpenBLAS does on CPUs it does not know, and OPENBLAS_CORETYPE once
    /// it is set; the tool must then run itself again with the kernels cpuid calls for.
    func testAGenericDetectionIsReplacedByTheFeaturesChoice() throws {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else {
            throw XCTSkip("OPENBLAS_CORETYPE is set in this environment, and it wins")
        }
        guard let best = BLASKernels.choice(for: BLASKernels.Features.host) else { throw XCTSkip("no AVX on this CPU") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("fake.c").path, library = dir.appendingPathComponent("fake.so").path
        try """
            #include <stdlib.h>
            char *openblas_get_corename(void) { char *c = getenv("OPENBLAS_CORETYPE"); return c ? c : "Prescott"; }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-o", library, source]
        try cc.run()
        cc.waitUntilExit()
        guard cc.terminationStatus == 0 else { throw XCTSkip("no C compiler to build the stand-in") }
        let r = try CLIRunner.run(["devices"], in: dir, environment: ["LD_PRELOAD": library])
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("Host: ") }, r.stdout + r.stderr)
        XCTAssertTrue(line.contains("OpenBLAS kernels \(best) (chosen from cpuid)"), String(line))
        let user = try CLIRunner.run(["devices"], in: dir, environment: ["LD_PRELOAD": library, "OPENBLAS_CORETYPE": "Prescott"])
        let userLine = try XCTUnwrap(user.stdout.split(separator: "\n").first { $0.hasPrefix("Host: ") })
        XCTAssertTrue(userLine.contains("OpenBLAS kernels Prescott (OPENBLAS_CORETYPE); warning"), String(userLine))
    }
}
