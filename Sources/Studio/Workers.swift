import Engine
import Foundation

/// The job queue: one worker thread per device (the CPU backend and each OpenCL device), each
/// taking its device's oldest queued job from the store. The optimiser runs on these threads,
/// never on the server's event loops, so the page stays responsive during a run. Cancel is per
/// job; stopping the server interrupts running jobs at their next evaluation, writes their
/// checkpoints and puts them back in the queue, where the next start resumes them.
final class Workers: @unchecked Sendable {
    let store: Store
    let events: Events
    let planner: any RunPlanner
    let dataFolder: String
    /// Checkpoints are written every this many evaluations, and when a run is interrupted.
    let checkpointEvery: Int
    /// A preview is pushed at most this often (seconds) and at every scale's first evaluation.
    let previewInterval: Double

    private let condition = NSCondition()
    private var cancelRequests = Set<String>()
    private var stopping = false
    private var threads: [Thread] = []
    private var live: [String: [LossPoint]] = [:]   // running job → its loss curve so far
    let weights: WeightsCache
    private var finishedThreads = 0

    init(store: Store, events: Events, planner: any RunPlanner, weights: WeightsCache, dataFolder: String,
         checkpointEvery: Int = 50, previewInterval: Double = 0.5) {
        self.store = store
        self.weights = weights
        self.events = events
        self.planner = planner
        self.dataFolder = dataFolder
        self.checkpointEvery = checkpointEvery
        self.previewInterval = previewInterval
    }

    func start(devices: [String]) {
        for d in devices {
            let t = Thread { [self] in loop(device: d) }
            t.name = "studio-worker-\(d)"
            t.stackSize = 16 << 20
            threads.append(t)
            t.start()
        }
    }

    /// A job was queued: wake the workers.
    func wake() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Interrupts running jobs (their checkpoints are written, they go back to the queue) and
    /// waits for every worker to return.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while finishedThreads < threads.count { condition.wait() }
        condition.unlock()
    }

    enum CancelOutcome { case cancelled(JobRecord), finished(JobRecord), unknown }

    /// A queued job is cancelled at once; a running one at its next evaluation.
    func cancel(_ id: String) throws -> CancelOutcome {
        var wasQueued = false
        guard let job = try store.update(id, { job in
            guard job.status == .queued else { return false }
            job.status = .cancelled
            job.finished = Date()
            wasQueued = true
            return true
        }) else { return .unknown }
        if wasQueued {
            publishQueue(of: job.device, changed: job)
            return .cancelled(job)
        }
        guard job.status == .running else { return .finished(job) }
        condition.lock()
        cancelRequests.insert(id)
        condition.unlock()
        return .cancelled(job)   // still running: it stops at its next evaluation and the worker publishes the end
    }

    /// The loss curve of a running job, kept in memory until it finishes.
    func curve(of id: String) -> [LossPoint]? {
        condition.lock()
        defer { condition.unlock() }
        return live[id]
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    private func loop(device: String) {
        var backend: Backend?
        while !isStopping {
            let next: JobRecord?
            do { next = try store.claimNext(device: device) } catch {
                FileHandle.standardError.write("studio: the job store failed: \(error)\n".data(using: .utf8)!)
                next = nil
            }
            guard let job = next else {
                condition.lock()
                if !stopping { _ = condition.wait(until: Date().addingTimeInterval(1)) }
                condition.unlock()
                continue
            }
            publishQueue(of: device, changed: job)
            run(job, backend: &backend)
        }
        condition.lock()
        finishedThreads += 1
        condition.broadcast()
        condition.unlock()
    }

    func jobFolder(_ id: String) -> String { dataFolder + "/jobs/" + id }

    private func run(_ job: JobRecord, backend: inout Backend?) {
        let folder = jobFolder(job.id)
        let checkpoint = folder + "/result.ckpt"
        var arguments = job.arguments + ["--checkpoint-every", String(checkpointEvery)]
        if FileManager.default.fileExists(atPath: checkpoint) { arguments.append("--resume") }
        condition.lock()
        live[job.id] = job.history
        condition.unlock()
        var curve = job.history
        var outcome: JobRecord.Status = .done
        var message: String?
        var final: LossPoint?
        var perIteration: Double?
        do {
            let planned = try planner.plan(arguments)
            let weights = try self.weights.weights(for: planned)
            if backend == nil { backend = try planned.makeBackend() }
            let options = try planned.transferOptions()
            let inputs = try planned.loadInputs()
            let transfer = try StyleTransfer(backend: backend!, weights: weights, options: options)
            let policy = try planned.checkpointPolicy(backend: backend!, weights: weights, options: options)
            let total = transfer.totalIterations
            let started = Date()
            var first: Int?
            var firstAt = started
            var lastPreview = Date.distantPast
            var lastSave = Date()
            var lastWidth = 0
            let result = try transfer.run(inputs, checkpoint: policy) { step, x in
                let point = LossPoint(iteration: step.evaluation, total: step.terms.total,
                                      terms: Dictionary(step.terms.terms.map { ($0.name, $0.weighted) }, uniquingKeysWith: +))
                // a resumed run starts again at its checkpoint, before the last points it showed
                if first == nil { curve.removeAll { $0.iteration >= step.evaluation } }
                curve.append(point)
                // seconds per evaluation from the first one on, so setup does not inflate the ETA
                if first == nil { first = step.evaluation; firstAt = Date() }
                let done = step.evaluation - first!
                let rate = done > 0 ? Date().timeIntervalSince(firstAt) / Double(done) : Date().timeIntervalSince(started)
                perIteration = rate
                condition.lock()
                live[job.id] = curve
                let cancelled = cancelRequests.contains(job.id)
                let stop = stopping
                condition.unlock()
                events.publish(Progress(id: job.id, iteration: step.evaluation, iterations: total, secondsPerIteration: rate,
                                        eta: rate * Double(total - step.evaluation), loss: point))
                if x.shape.width != lastWidth || Date().timeIntervalSince(lastPreview) >= previewInterval || step.evaluation == total {
                    lastWidth = x.shape.width
                    lastPreview = Date()
                    try preview(job.id, x: x, on: backend!, iteration: step.evaluation)
                }
                if Date().timeIntervalSince(lastSave) >= 2 {
                    lastSave = Date()
                    try store.update(job.id) { j in j.iteration = step.evaluation; j.iterations = total; j.secondsPerIteration = rate; j.loss = point; return true }
                }
                return !cancelled && !stop
            }
            final = curve.last
            condition.lock()
            let cancelled = cancelRequests.remove(job.id) != nil
            let stop = stopping
            condition.unlock()
            if cancelled {
                outcome = .cancelled
                unlink(checkpoint)
            } else if stop && result.evaluations < total {
                outcome = .queued   // resumes from its checkpoint at the next start
            } else {
                try result.image.writePNG(folder + "/result.png", text: [
                    ("Software", "neural-style"),
                    ("neural-style:command", job.command),
                    ("neural-style:options", String(decoding: try StudioJSON.encoder.encode(job.options), as: UTF8.self)),
                ])
                unlink(checkpoint)
            }
        } catch {
            outcome = .failed
            message = "\(error)"
        }
        condition.lock()
        live.removeValue(forKey: job.id)
        cancelRequests.remove(job.id)
        condition.unlock()
        let saved = try? store.update(job.id) { j in
            j.status = outcome
            j.history = curve
            if let f = final { j.loss = f; j.iteration = f.iteration }
            if let r = perIteration { j.secondsPerIteration = r }
            j.error = message
            if outcome != .queued { j.finished = Date() }
            return true
        }
        if let j = saved ?? nil { publishQueue(of: j.device, changed: j) }
    }

    /// The current image as `preview.png` in the job's folder, and pushed to every page.
    private func preview(_ id: String, x: Tensor, on backend: Backend, iteration: Int) throws {
        let image = RGBImage(networkInput: try backend.download(x), width: x.shape.width, height: x.shape.height)
        let path = jobFolder(id) + "/preview.png"
        try image.writePNG(path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        events.publish(Preview(id: id, iteration: iteration, image: "data:image/png;base64," + data.base64EncodedString()))
    }

    /// Publishes `changed` and every other queued job of its device (their positions moved).
    func publishQueue(of device: String, changed: JobRecord) {
        guard let queue = try? store.queue(), let waiting = try? store.queued(device: device) else { return }
        let positions = JobView.positions(queue)
        for j in [changed] + waiting.filter({ $0.id != changed.id }) {
            events.publish(JobMessage(job: JobView(j, position: positions[j.id], curve: nil)))
        }
    }

    struct Progress: Encodable {
        let type = "progress"
        let id: String
        let iteration: Int
        let iterations: Int
        let secondsPerIteration: Double
        let eta: Double
        let loss: LossPoint
    }

    struct Preview: Encodable {
        let type = "preview"
        let id: String
        let iteration: Int
        let image: String
    }

    struct JobMessage: Encodable {
        let type = "job"
        let job: JobView
    }
}
