// libFuzzer harness for ModelWeights.load (Sources/Engine/Network/ModelWeights.swift).
// load() takes a path and memory-maps the file, so each input is written to one scratch file
// (in /dev/shm when it exists) and loaded from there. Errors are the expected outcome for almost
// every input; only crashes, traps and sanitizer reports are findings.
import Engine
import Foundation

private let scratchPath: String = {
    let env = ProcessInfo.processInfo.environment["NSW_FUZZ_DIR"]
    let dir = env ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
    return dir + "/nsw-fuzz-\(getpid()).nsw"
}()

// NSW_FUZZ_VERBOSE=1 prints each input's outcome (for checking seeds and reproducing findings).
private let verbose = ProcessInfo.processInfo.environment["NSW_FUZZ_VERBOSE"] != nil

private func writeScratch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Bool {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var done = 0
    while done < size {
        let n = write(fd, data! + done, size - done)
        if n <= 0 { return false }
        done += n
    }
    return true
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard writeScratch(data, size) else { fatalError("cannot write \(scratchPath)") }
    // `expected` stays nil: a given architecture only adds one comparison after the manifest is
    // decoded, and would stop half the seeds there (the CLI's --model path passes one).
    let expected: Architecture? = nil
    do {
        let w = try ModelWeights.load(scratchPath, expected: expected)
        // Loading succeeded: the result must be consistent with its architecture.
        let convs = w.architecture.convolutions
        precondition(w.convolutions.count == convs.count)
        for (c, want) in zip(w.convolutions, convs) {
            precondition(c.weight.count == want.outChannels * want.inChannels * 9 && c.bias.count == want.outChannels)
        }
        if verbose { print("size \(size): loaded \(w.model) (\(w.architecture.rawValue))") }
    } catch {
        // The message is built from the input (JSON strings included): make sure it renders.
        let message = String(describing: error)
        if verbose { print("size \(size), expected \(expected.map(\.rawValue) ?? "nil"): \(message)") }
    }
    return 0
}
