import Foundation

/// Runs the parity table on a backend against the CPU reference.
public struct ParityCheck {
    public struct Result: Codable {
        public let op: String
        public let shape: String
        public let error: Double
        public let tolerance: Double
        public let passed: Bool
        public let failure: String?
    }

    public static func run(on backend: Backend, cases: [OpCase] = OpCase.all(),
                           progress: ((Result) -> Void)? = nil) -> [Result] {
        // the plainest CPU forms (im2col + GEMM convolutions, no Winograd or col2im) are the reference
        let reference = CPUBackend()
        reference.parameters.winogradMinChannels = nil
        reference.parameters.col2imForFewOutputs = false
        return cases.map { c in
            let result: Result
            do {
                let expected = try c.run(on: reference)
                let actual = try c.run(on: backend)
                let e = OpCase.error(actual, reference: expected)
                result = Result(op: c.op, shape: c.shape, error: e, tolerance: c.tolerance,
                                passed: e <= c.tolerance, failure: nil)
            } catch {
                result = Result(op: c.op, shape: c.shape, error: .infinity, tolerance: c.tolerance, passed: false,
                                failure: "\(error)")
            }
            progress?(result)
            return result
        }
    }

    public static func format(_ r: Result) -> String {
        let err = r.error.isFinite ? String(format: "%.2e", r.error) : "—"
        let line = pad(r.op, 26) + pad(r.shape, 22) + lpad(err, 10) + lpad(String(format: "%.0e", r.tolerance), 9)
            + "  " + (r.passed ? "pass" : "FAIL")
        if let f = r.failure { return line + "  " + (f.split(separator: "\n").first.map(String.init) ?? f) }
        return line
    }

    public static var header: String {
        pad("operation", 26) + pad("shape", 22) + lpad("max err", 10) + lpad("tol", 9) + "  result"
    }
}
