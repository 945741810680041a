import Foundation

/// `neural-style tune`: searches the OpenCL kernels' parameters (those NEURAL_STYLE_CL_PARAMETERS
/// exposes) for one device, one group at a time (coordinate descent from the profile's defaults).
/// Every candidate is first checked against the CPU reference on the parity table's small shapes
/// and dropped if any case fails; the survivors are timed on full VGG-19 iterations at the given
/// size, each group's candidates in one window with the current choice among them, so drift
/// between groups does not decide. A candidate replaces the current choice only when it is at
/// least `margin` faster.
public struct KernelTuner {
    public struct Trial: Codable, Sendable {
        public let group: String
        public let settings: String
        public let seconds: Double?
        public let failure: String?
    }

    /// One group of parameters tried together, with the values that make sense for a profile.
    struct Group {
        let name: String
        let candidates: [String]
    }

    public let device: DeviceInfo
    public let size: Int
    public let iterations: Int
    public let budget: TimeInterval
    public var margin = 0.03
    /// Interleaved rounds of defaults against the choice at the end.
    public var confirmRounds = 3

    public init(device: DeviceInfo, size: Int = 256, iterations: Int = 3, budget: TimeInterval = 600) {
        self.device = device
        self.size = size
        self.iterations = iterations
        self.budget = budget
    }

    /// The groups in the order they are searched: the method first (path, where Winograd starts),
    /// then each kernel's register blocking, then the reduction's launch shape.
    func groups(_ profile: OpenCLBackend.ParameterProfile) -> [Group] {
        var g: [Group] = []
        g.append(Group(name: "path", candidates: ["path=direct", "path=clblast"]))
        g.append(Group(name: "winograd", candidates: ["winogradMinChannels=64", "winogradMinChannels=128", "winogradMinChannels=off"]))
        if device.fma {
            g.append(Group(name: "multiply-add", candidates: ["fma=on", "fma=off"]))
        }
        g.append(Group(name: "vector width", candidates: ["convVectorWidth=16", "convVectorWidth=8"]))
        g.append(Group(name: "winograd blocking", candidates: [
            "winogradOutputBlock=3,winogradRows=8", "winogradOutputBlock=2,winogradRows=8", "winogradOutputBlock=4,winogradRows=4",
            "winogradOutputBlock=6,winogradRows=4", "winogradOutputBlock=3,winogradRows=4", "winogradOutputBlock=4,winogradRows=6"]))
        g.append(Group(name: "conv blocking", candidates: [
            "convOutputBlock=6,convRows=4", "convOutputBlock=4,convRows=4", "convOutputBlock=8,convRows=2",
            "convOutputBlock=12,convRows=2", "convOutputBlock=3,convRows=8"]))
        g.append(Group(name: "gram blocking", candidates: [
            "gramOutputBlock=16,gramRows=1", "gramOutputBlock=8,gramRows=1", "gramOutputBlock=8,gramRows=2",
            "gramOutputBlock=4,gramRows=4", "gramOutputBlock=12,gramRows=2"]))
        g.append(Group(name: "reduction", candidates: [
            "reduceWorkGroup=128,reduceGroups=256", "reduceWorkGroup=64,reduceGroups=256", "reduceWorkGroup=256,reduceGroups=256",
            "reduceWorkGroup=128,reduceGroups=64", "reduceWorkGroup=128,reduceGroups=1024"]))
        if profile == .cpu {
            g.append(Group(name: "work-group", candidates: ["convWorkGroup=1", "convWorkGroup=4", "convWorkGroup=16"]))
        }
        return g
    }

    /// Parameters as "name=value" pairs: later settings replace earlier ones of the same name.
    static func merge(_ base: [String: String], _ settings: String) -> [String: String] {
        var out = base
        for item in settings.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { out[kv[0]] = kv[1] }
        }
        return out
    }

    static func text(_ p: [String: String]) -> String { p.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }

    /// Builds a backend with `settings` over the profile's defaults (no tuning file, no environment).
    func backend(_ settings: String) throws -> OpenCLBackend {
        var p = OpenCLBackend.Parameters()
        if !settings.isEmpty { try p.apply(settings) }
        return try OpenCLBackend(device: device, parameters: p, tuned: false)
    }

    /// The parity table's small shapes of every operation the parameters touch, on `backend`.
    func verify(_ backend: OpenCLBackend) -> String? {
        let ops = ["conv", "winograd", "gram", "reduce", "sum", "dot", "mse", "tv", "pool", "relu"]
        let cases = OpCase.all(.simulator).filter { c in ops.contains { c.op.contains($0) } }
        let failed = ParityCheck.run(on: backend, cases: cases).filter { !$0.passed }
        guard let f = failed.first else { return nil }
        return "\(failed.count) parity case\(failed.count == 1 ? "" : "s") failed, first \(f.op) \(f.shape): \(f.failure ?? String(format: "error %.2e > %.0e", f.error, f.tolerance))"
    }

    /// Seconds per iteration with `settings`, or why the candidate was dropped.
    func measure(_ settings: String, weights: ModelWeights) -> (Double?, String?) {
        do {
            let b = try backend(settings)
            if let why = verify(b) { return (nil, why) }
            let row = try IterationBenchmark.run(backend: b, weights: weights, size: size, iterations: iterations, warmup: 1)
            return row.medianSeconds.isFinite ? (row.medianSeconds, nil) : (nil, "no timing")
        } catch {
            return (nil, "\(error)")
        }
    }

    /// The searched parameters of a backend as "name" → "value", resolved as the backend runs them.
    static func searched(_ b: OpenCLBackend) -> [String: String] {
        let p = b.parameters
        var d: [String: String] = [
            "path": b.path.rawValue,
            "winogradMinChannels": p.winogradMinChannels.map { $0 == Int.max ? "off" : String($0) } ?? "off",
            "convVectorWidth": String(p.convVectorWidth),
            "winogradOutputBlock": String(p.winogradOutputBlock), "winogradRows": String(p.winogradRows),
            "convOutputBlock": String(p.convOutputBlock), "convRows": String(p.convRows),
            "gramOutputBlock": String(p.gramOutputBlock), "gramRows": String(p.gramRows),
            "reduceWorkGroup": String(p.reduceWorkGroup), "reduceGroups": String(p.reduceGroups),
        ]
        if let w = p.convWorkGroup { d["convWorkGroup"] = String(w) }
        if let f = p.fma { d["fma"] = f ? "on" : "off" }
        return d
    }

    /// Runs the search; `report` sees every trial as it ends. Returns the tuned parameters (only
    /// those that differ from the defaults) with the default's and the best time.
    public func run(report: (Trial) -> Void) throws -> TunedParameters {
        let start = Date()
        let weights = ModelWeights.random(.vgg19, seed: 0)
        let profile = try OpenCLBackend.parameterProfile(for: device)
        let defaults = Self.searched(try backend(""))
        var current = defaults
        var trials = 0
        let (base, why) = measure("", weights: weights)
        trials += 1
        report(Trial(group: "defaults", settings: Self.text(defaults), seconds: base, failure: why))
        guard let defaultSeconds = base else {
            throw EngineError.device("the shipped defaults fail on \(device.name): \(why ?? "?"); run neural-style check")
        }
        var best = defaultSeconds
        for group in groups(profile) {
            if Date().timeIntervalSince(start) > budget { break }
            var results: [(settings: [String: String], seconds: Double)] = []
            for c in group.candidates {
                if Date().timeIntervalSince(start) > budget { break }
                let settings = Self.merge(current, c)
                let (t, failure) = measure(Self.text(settings), weights: weights)
                trials += 1
                report(Trial(group: group.name, settings: c, seconds: t, failure: failure))
                if let t { results.append((settings, t)) }
            }
            // the current choice is timed again among its group's candidates, in the same window
            let now = results.first { $0.settings == current }?.seconds ?? best
            if let winner = results.min(by: { $0.seconds < $1.seconds }), winner.seconds < now * (1 - margin) {
                current = winner.settings
                best = winner.seconds
            } else {
                best = now
            }
        }
        var kept = current.filter { defaults[$0.key] != $0.value }
        // the search's figures come from different windows: time the defaults and the choice
        // again, interleaved, and keep the choice only if it is still faster
        var d: [Double] = [], t: [Double] = []
        if !kept.isEmpty {
            for _ in 0..<confirmRounds {
                if let x = measure("", weights: weights).0 { d.append(x) }
                if let x = measure(Self.text(current), weights: weights).0 { t.append(x) }
            }
            report(Trial(group: "confirm", settings: Self.text(kept), seconds: median(t), failure: nil))
            if median(t) >= median(d) * (1 - margin) { kept = [:] }
        }
        return TunedParameters(platform: device.platform, device: device.name, driver: device.driverVersion,
                               parameters: Self.text(kept), size: size,
                               defaultSeconds: d.isEmpty ? defaultSeconds : median(d),
                               tunedSeconds: kept.isEmpty ? (d.isEmpty ? defaultSeconds : median(d)) : median(t),
                               candidates: trials, date: Date())
    }
}
