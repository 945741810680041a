import Foundation
import GRDB

/// An uploaded image: stored as `images/<id>.<ext>` under the data folder. The name the browser
/// sent is kept only as text to show; it never becomes a path.
struct ImageRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "image"
    var id: String
    var name: String
    var file: String
    var width: Int
    var height: Int
    var bytes: Int
    var sha256: String
    var created: Date
}

/// One stylisation job and everything the gallery shows of it. `arguments` is the stylize command
/// line the job runs (paths inside the data folder), `options` the flags as the client sent them.
struct JobRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "job"
    enum Status: String, Codable, Sendable { case queued, running, done, failed, cancelled }
    var id: String
    var status: Status
    var device: String
    var content: String
    var styles: [String]
    var masks: [String: String]
    var options: [String: String]
    var arguments: [String]
    var command: String
    var iteration: Int
    var iterations: Int
    var secondsPerIteration: Double?
    var loss: LossPoint?
    var history: [LossPoint]
    var error: String?
    var created: Date
    var started: Date?
    var finished: Date?

    var isFinished: Bool { status == .done || status == .failed || status == .cancelled }
}

/// A job's place in the queue's order.
struct QueueEntry: Sendable {
    var id: String
    var status: JobRecord.Status
    var device: String

    init(id: String, status: JobRecord.Status, device: String) {
        self.id = id
        self.status = status
        self.device = device
    }

    init(_ j: JobRecord) { self.init(id: j.id, status: j.status, device: j.device) }
}

/// The loss at one evaluation: the weighted total and each term's weighted value, by name.
struct LossPoint: Codable, Sendable, Equatable {
    var iteration: Int
    var total: Double
    var terms: [String: Double]
}

/// The studio's SQLite database (GRDB) under `--data`: images and jobs. Every method is one
/// transaction; the queue serialises them, so workers and request handlers can call it freely.
final class Store: Sendable {
    let db: DatabaseQueue

    init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        db = try DatabaseQueue(path: path, configuration: config)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "image") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("file", .text).notNull()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("created", .datetime).notNull()
            }
            try db.create(table: "job") { t in
                t.primaryKey("id", .text)
                t.column("status", .text).notNull().indexed()
                t.column("device", .text).notNull()
                t.column("content", .text).notNull()
                t.column("styles", .jsonText).notNull()
                t.column("masks", .jsonText).notNull()
                t.column("options", .jsonText).notNull()
                t.column("arguments", .jsonText).notNull()
                t.column("command", .text).notNull()
                t.column("iteration", .integer).notNull()
                t.column("iterations", .integer).notNull()
                t.column("secondsPerIteration", .double)
                t.column("loss", .jsonText)
                t.column("history", .jsonText).notNull()
                t.column("error", .text)
                t.column("created", .datetime).notNull()
                t.column("started", .datetime)
                t.column("finished", .datetime)
            }
        }
        try migrator.migrate(db)
    }

    func insert(_ image: ImageRecord) throws { try db.write { try image.insert($0) } }
    func images() throws -> [ImageRecord] { try db.read { try ImageRecord.fetchAll($0, sql: "SELECT * FROM image ORDER BY rowid DESC") } }
    func image(_ id: String) throws -> ImageRecord? { try db.read { try ImageRecord.fetchOne($0, key: id) } }
    func image(sha256: String) throws -> ImageRecord? {
        try db.read { try ImageRecord.filter(Column("sha256") == sha256).fetchOne($0) }
    }

    func insert(_ job: JobRecord) throws { try db.write { try job.insert($0) } }
    func save(_ job: JobRecord) throws { try db.write { try job.update($0) } }
    func delete(job id: String) throws { _ = try db.write { try JobRecord.deleteOne($0, key: id) } }
    func job(_ id: String) throws -> JobRecord? { try db.read { try JobRecord.fetchOne($0, key: id) } }
    /// Oldest first: the order jobs were submitted, which is the queue's order.
    func jobs() throws -> [JobRecord] { try db.read { try JobRecord.fetchAll($0, sql: "SELECT * FROM job ORDER BY rowid") } }

    /// Every unfinished job's id, status and device, oldest first: all that queue positions need,
    /// without decoding every job's options and loss curve.
    func queue() throws -> [QueueEntry] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT id, status, device FROM job WHERE status IN ('queued', 'running') ORDER BY rowid").map {
                QueueEntry(id: $0["id"], status: JobRecord.Status(rawValue: $0["status"]) ?? .queued, device: $0["device"])
            }
        }
    }

    /// The queued jobs of one device, oldest first.
    func queued(device: String) throws -> [JobRecord] {
        try db.read { try JobRecord.fetchAll($0, sql: "SELECT * FROM job WHERE status = 'queued' AND device = ? ORDER BY rowid", arguments: [device]) }
    }

    /// Changes a job in one transaction; `change` returns false to leave it as it was.
    @discardableResult
    func update(_ id: String, _ change: (inout JobRecord) throws -> Bool) throws -> JobRecord? {
        try db.write { db in
            guard var job = try JobRecord.fetchOne(db, key: id) else { return nil }
            guard try change(&job) else { return job }
            try job.update(db)
            return job
        }
    }

    /// The next queued job for a device, oldest first, marked running in the same transaction.
    func claimNext(device: String) throws -> JobRecord? {
        try db.write { db in
            guard var job = try JobRecord.fetchOne(db, sql: "SELECT * FROM job WHERE status = 'queued' AND device = ? ORDER BY rowid LIMIT 1",
                                                   arguments: [device]) else { return nil }
            job.status = .running
            job.started = Date()
            try job.update(db)
            return job
        }
    }

    /// At start-up: jobs left running by a previous server go back to the queue (they resume
    /// from their checkpoint when one was written). Returns how many.
    func requeueInterrupted() throws -> Int {
        try db.write { db in
            try db.execute(sql: "UPDATE job SET status = 'queued' WHERE status = 'running'")
            return db.changesCount
        }
    }
}
