/// Errors a user can act on. `description` is one line (device listings aside) for the CLI to print.
public enum EngineError: Error, CustomStringConvertible {
    case device(String)
    case outOfMemory(String)
    case invalidArgument(String)
    case image(String)
    case weights(String)
    case io(String)
    /// The loss or the image became non-finite: nothing trustworthy to write.
    case diverged(String)

    public var description: String {
        switch self {
        case .device(let m), .outOfMemory(let m), .invalidArgument(let m), .image(let m),
             .weights(let m), .io(let m), .diverged(let m):
            return m
        }
    }

    /// The process's exit status for this error (sysexits.h, documented in the README).
    public var exitCode: Int32 {
        switch self {
        case .invalidArgument: return ExitStatus.usage
        case .image, .weights: return ExitStatus.dataError
        case .device: return ExitStatus.unavailable
        case .diverged: return ExitStatus.software
        case .io: return ExitStatus.ioError
        case .outOfMemory: return ExitStatus.outOfMemory
        }
    }
}

/// Every exit status the tool uses, in one place.
public enum ExitStatus {
    public static let success: Int32 = 0
    /// A bad command line: unknown option, a value out of range (EX_USAGE).
    public static let usage: Int32 = 64
    /// An input file that is corrupt, truncated, too large or of the wrong kind (EX_DATAERR).
    public static let dataError: Int32 = 65
    /// No usable OpenCL device (EX_UNAVAILABLE).
    public static let unavailable: Int32 = 69
    /// A fault of the tool itself, or an optimisation that became non-finite (EX_SOFTWARE).
    public static let software: Int32 = 70
    /// Reading or writing a file failed, the disk is full (EX_IOERR).
    public static let ioError: Int32 = 74
    /// Not enough memory for the plan, or an allocation failed (EX_TEMPFAIL: retry with less).
    public static let outOfMemory: Int32 = 75
    public static let interrupted: Int32 = 130
    public static let terminated: Int32 = 143
}
