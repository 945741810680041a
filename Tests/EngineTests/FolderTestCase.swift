import Foundation
import XCTest
@testable import Engine

/// A test case with a fresh folder of its own, removed afterwards: what the CLI, bad-input and
/// checkpoint tests run the tool in.
class FolderTestCase: XCTestCase {
    private(set) var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let d = directory { try? FileManager.default.removeItem(at: d) }
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The folder's entries, sorted.
    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// A seeded noise image written through the tool's own PNG writer.
    func writeImage(_ name: String, _ w: Int, _ h: Int, seed: UInt64 = 1) throws {
        var rng = SeededRandom(seed: seed)
        let px = (0..<(w * h * 3)).map { _ in Float(rng.next() % 256) }
        try RGBImage(width: w, height: h, pixels: px).writePNG(path(name))
    }
}
