import Foundation

/// A job as the API and the WebSocket show it: the stored record, its place in its device's
/// queue (1 = next, 0 = running, nil = finished), the estimated time left and the result's URLs.
struct JobView: Encodable {
    let id: String
    let status: JobRecord.Status
    let device: String
    let position: Int?
    let created: Date
    let started: Date?
    let finished: Date?
    let content: String
    let styles: [String]
    let masks: [String: String]
    let options: [String: String]
    let command: String
    let iteration: Int
    let iterations: Int
    let secondsPerIteration: Double?
    let eta: Double?
    let loss: LossPoint?
    let error: String?
    let result: String?
    let preview: String?
    /// The loss curve (GET /api/jobs/{id} only).
    let history: [LossPoint]?

    init(_ j: JobRecord, position: Int?, curve: [LossPoint]?, hasPreview: Bool = true) {
        id = j.id
        status = j.status
        device = j.device
        self.position = position
        created = j.created
        started = j.started
        finished = j.finished
        content = j.content
        styles = j.styles
        masks = j.masks
        options = j.options
        command = j.command
        iteration = j.iteration
        iterations = j.iterations
        secondsPerIteration = j.secondsPerIteration
        eta = j.status == .running ? j.secondsPerIteration.map { $0 * Double(max(0, j.iterations - j.iteration)) } : nil
        loss = j.loss
        error = j.error
        result = j.status == .done ? "/api/jobs/\(j.id)/result.png" : nil
        preview = j.started != nil && hasPreview ? "/api/jobs/\(j.id)/preview.png" : nil
        history = curve
    }

    /// Queue positions per device: running jobs 0, queued ones 1, 2, … in submission order.
    static func positions(_ jobs: [QueueEntry]) -> [String: Int] {
        var next: [String: Int] = [:]
        var out: [String: Int] = [:]
        for j in jobs {
            switch j.status {
            case .running: out[j.id] = 0
            case .queued:
                next[j.device, default: 0] += 1
                out[j.id] = next[j.device]
            default: break
            }
        }
        return out
    }
}
