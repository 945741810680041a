import Foundation

/// One OpenCL source file from `kernels/`, embedded in the binary at build time
/// (see `KernelSources.generated.swift`, written by `tools/embed_kernels.py`).
/// Setting `NEURAL_STYLE_KERNELS=/path/to/kernels` reads the files from disk instead,
/// for kernel development without a rebuild.
public struct KernelFile: Sendable {
    public let name: String
    public let embedded: String

    public static let overrideVariable = "NEURAL_STYLE_KERNELS"

    public init(name: String, embedded: String) {
        self.name = name
        self.embedded = embedded
    }

    public var source: String {
        if let dir = ProcessInfo.processInfo.environment[Self.overrideVariable], !dir.isEmpty,
           let text = try? String(contentsOfFile: dir + "/" + name, encoding: .utf8) {
            return text
        }
        return embedded
    }
}
