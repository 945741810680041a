/// Errors a user can act on. `description` is one line (device listings aside) for the CLI to print.
public enum EngineError: Error, CustomStringConvertible {
    case device(String)
    case outOfMemory(String)
    case invalidArgument(String)
    case image(String)
    case weights(String)
    case io(String)

    public var description: String {
        switch self {
        case .device(let m), .outOfMemory(let m), .invalidArgument(let m), .image(let m),
             .weights(let m), .io(let m):
            return m
        }
    }
}
