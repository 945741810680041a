import Engine
import Foundation

/// The models the studio has loaded, by `PlannedRun.modelKey`, shared by the workers and the
/// plan endpoint so each model's weights are read and held once.
final class WeightsCache: @unchecked Sendable {
    private let lock = NSLock()
    private var loaded: [String: ModelWeights] = [:]

    func weights(for planned: any PlannedRun) throws -> ModelWeights {
        lock.lock()
        if let w = loaded[planned.modelKey] { lock.unlock(); return w }
        lock.unlock()
        let w = try planned.loadWeights()   // outside the lock: a worker may read a model while another starts
        lock.lock()
        defer { lock.unlock() }
        if let first = loaded[planned.modelKey] { return first }
        loaded[planned.modelKey] = w
        return w
    }
}
