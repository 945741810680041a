import CLKernels

/// An OpenCL failure, carrying the shim's status code and message.
public struct OpenCLError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    /// The compiler's log when a program failed to build.
    public let buildLog: String?

    public var description: String {
        if let log = buildLog, !log.isEmpty { return "\(message)\n\(log)" }
        return message
    }

    /// Allocation failures: the message names the bytes asked for and the device's limits.
    public var isOutOfMemory: Bool {
        code == NS_ERR_TOO_LARGE || code == -4 /* CL_MEM_OBJECT_ALLOCATION_FAILURE */
            || code == -5 /* CL_OUT_OF_RESOURCES */ || code == -6 /* CL_OUT_OF_HOST_MEMORY */
    }
}

/// Runs a shim call and turns a non-zero status into an `OpenCLError`.
@inline(__always)
func clCall(_ body: (UnsafeMutablePointer<ns_error>) -> Int32) throws {
    var err = ns_error()
    let rc = body(&err)
    if rc != 0 { throw OpenCLError(code: rc, message: errorMessage(&err), buildLog: nil) }
}

func errorMessage(_ err: inout ns_error) -> String {
    withUnsafeBytes(of: &err.message) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}

func fixedString<T>(_ value: T) -> String {
    withUnsafeBytes(of: value) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
