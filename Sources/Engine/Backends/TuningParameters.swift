import Foundation

/// Named tuning parameters that can be set from text like "name=value,name=value" (the
/// NEURAL_STYLE_CPU_PARAMETERS and NEURAL_STYLE_CL_PARAMETERS environment variables), so tuners
/// and benchmarks can try settings without a rebuild.
public protocol TuningParameters {
    /// "CPU" or "OpenCL", for messages.
    static var kind: String { get }
    /// Every name `set` knows, for the message about an unknown one.
    static var names: [String] { get }
    /// Sets one parameter: false for an unknown name; throws `TuningValueError` for a bad value.
    mutating func set(_ name: String, _ value: String) throws -> Bool
    /// Checks limits that involve several parameters, once all are set.
    func validate() throws
}

/// A value a parameter does not accept; `apply` turns it into a message naming both.
public struct TuningValueError: Error {}

extension TuningParameters {
    public func validate() throws {}

    /// All or nothing: on an error the parameters are left as they were.
    public mutating func apply(_ text: String) throws {
        var copy = self
        for item in text.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else {
                throw EngineError.invalidArgument("bad \(Self.kind) parameter \"\(item)\"; use name=value")
            }
            let known: Bool
            do { known = try copy.set(kv[0], kv[1]) } catch is TuningValueError {
                throw EngineError.invalidArgument("bad value for \(Self.kind) parameter \(kv[0]): \(kv[1])")
            }
            guard known else {
                throw EngineError.invalidArgument("unknown \(Self.kind) parameter \(kv[0]); known: \(Self.names.joined(separator: ", "))")
            }
        }
        try copy.validate()
        self = copy
    }
}

/// The integer `value` names, if it lies in `range` and passes `accept`.
func tuningInt(_ value: String, _ range: ClosedRange<Int> = 1...Int.max,
               accept: (Int) -> Bool = { _ in true }) throws -> Int {
    guard let v = Int(value), range.contains(v), accept(v) else { throw TuningValueError() }
    return v
}

/// on/true or off/false.
func tuningBool(_ value: String) throws -> Bool {
    switch value {
    case "on", "true": return true
    case "off", "false": return false
    default: throw TuningValueError()
    }
}
