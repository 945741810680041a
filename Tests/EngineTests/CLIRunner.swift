import Foundation
import XCTest

/// Runs the built `neural-style` executable as a user would, in a folder of its own, with its
/// output sent to files (no pipe can fill up). Shared by the CLI and bad-input corpus tests.
enum CLIRunner {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let astronaut = repositoryRoot.appendingPathComponent("examples/astronaut.png").path
    static let starryNight = repositoryRoot.appendingPathComponent("examples/starry_night.png").path
    static let jpegFixture = repositoryRoot.appendingPathComponent("Tests/EngineTests/Fixtures/astronaut-64.jpg").path

    /// The executable built beside this test bundle (same scratch path), else the newest
    /// `.build*/debug/neural-style` under the package.
    static let executable: URL? = {
        let fm = FileManager.default
        var candidates: [URL] = []
        let bundle = Bundle(for: CLITests.self).bundleURL
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("neural-style"))
        candidates.append(bundle.appendingPathComponent("neural-style"))
        if let main = Bundle.main.executableURL {
            candidates.append(main.deletingLastPathComponent().appendingPathComponent("neural-style"))
        }
        for c in candidates where fm.isExecutableFile(atPath: c.path) { return c }
        let builds = ((try? fm.contentsOfDirectory(atPath: repositoryRoot.path)) ?? []).filter { $0.hasPrefix(".build") }
        let found = builds.map { repositoryRoot.appendingPathComponent($0).appendingPathComponent("debug/neural-style") }
            .filter { fm.isExecutableFile(atPath: $0.path) }
        func modified(_ u: URL) -> Date {
            ((try? fm.attributesOfItem(atPath: u.path))?[.modificationDate] as? Date) ?? .distantPast
        }
        return found.max { modified($0) < modified($1) }
    }()

    struct Outcome {
        let status: Int32
        /// True when the process died of a signal (a crash), not by exit.
        let signaled: Bool
        let stdout: String
        let stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    /// Runs neural-style with `arguments` in `directory`; `environment` entries are added to the
    /// process's own. `afterStart` runs once the process has started (to send it a signal).
    static func run(_ arguments: [String], in directory: URL, timeout: TimeInterval = 120,
                    environment: [String: String] = [:],
                    afterStart: ((_ process: Process, _ stderrFile: URL) -> Void)? = nil) throws -> Outcome {
        guard let exe = executable else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey:
                "neural-style executable not found next to the test bundle or in .build*/debug; run swift build --build-tests"])
        }
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("cli-logs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        let outURL = logs.appendingPathComponent("stdout"), errURL = logs.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = exe
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        try process.run()
        afterStart?(process, errURL)
        let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
        process.waitUntilExit()
        deadline.cancel()
        try out.close()
        try err.close()
        return Outcome(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                       stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                       stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}
