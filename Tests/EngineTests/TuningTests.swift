import Foundation
import XCTest
@testable import Engine

/// Per-device tuning files (`neural-style tune`): names, round trip, refusal of damaged or
/// foreign files, and the precedence environment > tuned file > shipped defaults in the backend.
/// The search itself is timed, so it is exercised by `tune` (and a one-candidate run here), not
/// judged by its timings.
final class TuningTests: XCTestCase {
    var folder: String!
    var saved: String?

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ns-tuning-\(UUID().uuidString)").path
        saved = ProcessInfo.processInfo.environment[TunedParameters.folderVariable]
        setenv(TunedParameters.folderVariable, folder, 1)
    }

    override func tearDownWithError() throws {
        if let s = saved { setenv(TunedParameters.folderVariable, s, 1) } else { unsetenv(TunedParameters.folderVariable) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    func tuned(_ d: DeviceInfo, _ parameters: String) -> TunedParameters {
        TunedParameters(platform: d.platform, device: d.name, driver: d.driverVersion, parameters: parameters, size: 64,
                        defaultSeconds: 1, tunedSeconds: 0.8, candidates: 3, date: Date(timeIntervalSince1970: 1_800_000_000))
    }

    func testFileNamesAreSafeAndRoundTrip() throws {
        let d = try DeviceInfo.select(nil)
        let name = TunedParameters.fileName(for: d)
        XCTAssertTrue(name.hasPrefix("opencl-") && name.hasSuffix(".json"))
        XCTAssertFalse(name.dropFirst(7).contains("/") || name.contains(" "), name)
        let t = tuned(d, "convRows=2,gramOutputBlock=8")
        let path = try t.save(for: d)
        XCTAssertEqual(path, folder + "/" + name)
        XCTAssertEqual(try TunedParameters.load(for: d), t)
    }

    func testBackendPrecedence() throws {
        let d = try DeviceInfo.select(nil)
        XCTAssertNil(try OpenCLBackend(device: d).tuning, "no file: the shipped defaults")
        XCTAssertEqual(try OpenCLBackend(device: d).parameters.convRows, 4)
        _ = try tuned(d, "convRows=2,gramOutputBlock=8").save(for: d)
        let b = try OpenCLBackend(device: d)
        XCTAssertNotNil(b.tuning)
        XCTAssertEqual(b.parameters.convRows, 2, "the tuned file beats the defaults")
        XCTAssertEqual(b.parameters.gramOutputBlock, 8)
        XCTAssertEqual(try OpenCLBackend(device: d, tuned: false).parameters.convRows, 4, "the tuner measures without it")
        setenv(OpenCLBackend.parametersVariable, "convRows=1", 1)
        defer { unsetenv(OpenCLBackend.parametersVariable) }
        let e = try OpenCLBackend(device: d)
        XCTAssertEqual(e.parameters.convRows, 1, "the environment beats the tuned file")
        XCTAssertEqual(e.parameters.gramOutputBlock, 8, "and leaves the file's other settings")
        setenv(TunedParameters.folderVariable, "off", 1)
        XCTAssertNil(try OpenCLBackend(device: d).tuning, "NEURAL_STYLE_TUNING=off reads no file")
    }

    func testDamagedOrForeignFilesAreRefused() throws {
        let d = try DeviceInfo.select(nil)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = TunedParameters.path(for: d)!
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try OpenCLBackend(device: d)) { XCTAssertTrue("\($0)".contains("is damaged"), "\($0)") }
        var other = tuned(d, "convRows=2")
        other.device = "Some GPU"
        let enc = JSONEncoder()
        enc.dateEncodingStrategy = .iso8601
        try enc.encode(other).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TunedParameters.load(for: d)) { XCTAssertTrue("\($0)".contains("is for Some GPU"), "\($0)") }
        try enc.encode(tuned(d, "convRows=99")).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TunedParameters.load(for: d)) { XCTAssertTrue("\($0)".contains("does not take"), "\($0)") }
    }

    /// With no time left after the defaults, the search keeps them: the result names no parameter.
    func testAnExhaustedBudgetKeepsTheDefaults() throws {
        let d = try DeviceInfo.select(nil)
        var trials: [KernelTuner.Trial] = []
        let r = try KernelTuner(device: d, size: 32, iterations: 1, budget: 0).run { trials.append($0) }
        XCTAssertEqual(trials.map(\.group), ["defaults"])
        XCTAssertNil(trials[0].failure, "the defaults pass the parity cases")
        XCTAssertEqual(r.parameters, "")
        XCTAssertEqual(r.device, d.name)
    }

    func testSearchedParametersAreTheBackendsResolvedOnes() throws {
        let d = try DeviceInfo.select(nil)
        let s = KernelTuner.searched(try OpenCLBackend(device: d, tuned: false))
        XCTAssertEqual(s["convRows"], "4")
        XCTAssertEqual(s["fma"], d.fma ? "on" : "off")
        XCTAssertEqual(KernelTuner.merge(s, "convRows=2,convOutputBlock=8")["convRows"], "2")
        var p = OpenCLBackend.Parameters()
        XCTAssertNoThrow(try p.apply(KernelTuner.text(s)), "what the tuner writes, the backend reads")
    }
}
