import ArgumentParser
import Engine
import Foundation

/// `neural-style batch …` stylises a dataset in one process; `neural-style batch merge` combines
/// the shards' manifests.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Stylise many contents with many styles in one process: resumable, deterministic, shardable.",
        subcommands: [BatchRunCommand.self, BatchMergeCommand.self], defaultSubcommand: BatchRunCommand.self)
}

struct BatchMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Combine OUTDIR's shard manifests into manifest.jsonl, checking no item is missing or duplicated.")
    @Argument(help: "The batch's output folder.") var outdir: String

    func run() throws {
        guarded {
            let (items, shards) = try BatchManifest.merge(outdir)
            FileHandle.standardError.write("merged \(shards) shard manifests: \(items) items in \(outdir)/manifest.jsonl\n".data(using: .utf8)!)
        }
    }
}

struct BatchRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Stylise every item (the default subcommand).")

    @Option(parsing: .unconditional, help: "Content images: a folder (searched recursively) or a text file listing paths.") var contents: String
    @Option(parsing: .unconditional, help: "Style images: a folder or a text file listing paths.") var styles: String
    @Option(name: .shortAndLong, parsing: .unconditional, help: "Output folder (created).") var output: String
    @OptionGroup var common: CommonOptions
    @OptionGroup var optimization: OptimizerOptions
    @Option(parsing: .unconditional, help: "all: every content with every style.") var pairs = "all"
    @Option(parsing: .unconditional, help: "K random styles per content instead of all pairs (from --seed and the content's name).") var perContent: Int?
    @Option(parsing: .unconditional, help: "Style image size relative to the output: a value, a list to choose from, or a range A:B sampled per item.")
    var styleScale = "1"
    @Option(parsing: .unconditional, help: "Longest output side: a value or a comma list sampled per item.") var size = "512"
    @Option(parsing: .unconditional, help: "Colour mode per item: one of none, luminance, histogram, post, or a comma list sampled per item.")
    var preserveColor = "none"
    @Option(parsing: .unconditional, help: "Loss-and-gradient evaluations per item.") var iterations = 300
    @Option(parsing: .unconditional, help: "content or random.") var `init` = "content"
    @Option(parsing: .unconditional, help: "K/N: this process takes items whose index ≡ K (mod N); auto: from Kubernetes Indexed Jobs or Slurm job arrays.")
    var shard: String?
    @Option(parsing: .unconditional, help: "With --shard auto on Kubernetes: the number of shards (the Job's completions).") var shards: Int?
    @Option(parsing: .unconditional, help: "Memory budget, like 512M or 2G.") var memoryLimit: String?
    @Option(parsing: .unconditional, help: "Workers, one per device: all (every OpenCL device), or a comma list of OpenCL device indices or names and cpu for the CPU backend. Bits are reproducible per device kind, so mixing kinds is opt-in (default: one worker on --backend).")
    var devices: String?
    @Option(parsing: .unconditional, help: "Write a PNG grid of this shard's finished items: content, style and result, with the sampled options beside each row.")
    var contactSheet: String?

    /// (K, N) from --shard, the environment for auto.
    func shardSpec() throws -> (index: Int, count: Int)? {
        guard let s = shard else { return nil }
        let env = ProcessInfo.processInfo.environment
        if s == "auto" {
            if let k = env["JOB_COMPLETION_INDEX"].flatMap(Int.init) {
                guard let n = shards, n >= 1, k < n else {
                    throw EngineError.invalidArgument("--shard auto on Kubernetes (JOB_COMPLETION_INDEX=\(k)) needs --shards N with N > \(k)")
                }
                return (k, n)
            }
            if let id = env["SLURM_ARRAY_TASK_ID"].flatMap(Int.init), let n = env["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init) {
                let first = env["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
                guard id - first >= 0 && id - first < n else {
                    throw EngineError.invalidArgument("--shard auto: SLURM_ARRAY_TASK_ID \(id) is outside the array (min \(first), count \(n))")
                }
                return (id - first, n)
            }
            throw EngineError.invalidArgument("--shard auto found neither JOB_COMPLETION_INDEX (Kubernetes) nor SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (Slurm)")
        }
        let p = s.split(separator: "/").map { Int($0) }
        guard p.count == 2, let k = p[0], let n = p[1], n >= 1, k >= 0, k < n else {
            throw EngineError.invalidArgument("--shard takes K/N with 0 ≤ K < N, or auto (got \"\(s)\")")
        }
        return (k, n)
    }

    func sampling() throws -> BatchItems.Sampling {
        var s = BatchItems.Sampling()
        s.styleWeight = try BatchItems.Choice(parsing: common.styleWeight, option: "--style-weight")
        s.styleScale = try BatchItems.Choice(parsing: styleScale, option: "--style-scale")
        s.sizes = try size.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v >= 16, v <= 32768 else {
                throw EngineError.invalidArgument("--size takes whole numbers 16…32768 separated by commas (got \"\(size)\")")
            }
            return v
        }
        s.preserveColor = preserveColor.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        for c in s.preserveColor where ColorPreservation(parsing: c) == nil {
            throw EngineError.invalidArgument("--preserve-color takes none, luminance, histogram or post, or a comma list of them (got \"\(c)\")")
        }
        return s
    }

    func baseOptions() throws -> TransferOptions {
        var o = TransferOptions()
        o.iterations = iterations
        o.initialization = initialization(self.`init`)
        if case .image = o.initialization {
            throw EngineError.invalidArgument("--init for batch is content or random (got \"\(self.`init`)\")")
        }
        o.seed = try common.seedValue
        o.maxInputPixels = try common.maxInputPixels
        try optimization.apply(to: &o)
        o.pooling = try common.poolKind
        o.loss = try common.lossConfig(styleWeight: 1)
        o.memoryLimit = try memoryLimit.map(MemoryModel.parseBytes)
        return o
    }

    func run() throws {
        guarded {
            guard pairs == "all" else { throw EngineError.invalidArgument("--pairs is all (or give --per-content K)") }
            try common.checkApplicable()
            let base = try baseOptions()
            let sample = try sampling()
            let shardSpec = try shardSpec()
            let seed = try common.seedValue
            if let sheet = contactSheet {
                var plan = OutputPlan()
                plan.files.append(sheet)
                try plan.check(inputs: [])
            }
            let all = try BatchItems.items(contents: try BatchItems.inputs(contents, role: "contents"),
                                           styles: try BatchItems.inputs(styles, role: "styles"),
                                           pairs: perContent.map { .perContent($0) } ?? .all, sampling: sample, seed: seed)
            // every item's options are valid before any work
            for item in all { var o = base; o.size = item.size; o.styleScale = item.styleScale; o.loss.styleWeight = item.styleWeight; try o.validate() }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isDir), !isDir.boolValue {
                throw EngineError.invalidArgument("-o \(output) is a file; batch writes into a folder")
            }
            let created = !FileManager.default.fileExists(atPath: output)
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            // a batch that fails before its first item leaves no folder it made behind
            func removeIfUnused() {
                if created, (try? FileManager.default.contentsOfDirectory(atPath: output))?.isEmpty == true { try? FileManager.default.removeItem(atPath: output) }
            }
            var folders: Set<String> = []
            try OutputPlan.checkWritable(output + "/" + (all.first?.outputName ?? "x.png"), folders: &folders)
            let mine = all.enumerated().filter { shardSpec == nil || $0.offset % shardSpec!.count == shardSpec!.index }
            let manifest = output + "/" + BatchManifest.name(shard: shardSpec)
            var finished: [Int: BatchRecord] = [:]
            for r in BatchManifest.read(manifest) where r.status == "ok" { finished[r.index] = r }

            let backends: [Backend], weights: ModelWeights
            do {
                backends = try makeBackends()
                weights = try common.loadWeights()
            } catch {
                removeIfUnused()
                throw error
            }
            installInterruptHandler()
            let names = backends.map { "\($0.kind) (\($0.deviceName))" }.joined(separator: ", ")
            FileHandle.standardError.write("batch: \(mine.count) of \(all.count) items\(shardSpec.map { " (shard \($0.index)/\($0.count))" } ?? "") on \(names), \(iterations) iterations each → \(output)\n".data(using: .utf8)!)
            let start = Date()
            // the workers share the queue of items, the counters and the manifest, under one lock
            let lock = NSLock()
            var next = 0, done = 0, failed = 0, skipped = 0, fresh = 0, overhead = 0.0
            var stop: Error?
            func take() -> (Int, BatchItems.Item)? {
                lock.lock(); defer { lock.unlock() }
                guard stop == nil, !interruptRequested, next < mine.count else { return nil }
                next += 1
                return mine[next - 1]
            }
            func itemOptions(_ item: BatchItems.Item) -> TransferOptions {
                var o = base
                o.size = item.size
                o.styleScale = item.styleScale
                o.loss.styleWeight = item.styleWeight
                o.preserveColor = ColorPreservation(parsing: item.preserveColor)!
                return o
            }
            func hash(_ item: BatchItems.Item, on backend: Backend) throws -> String {
                try RunIdentity(inputs: [("content", item.content.path)] + item.styles.map { ("style", $0.path) },
                                weights: weights, backend: backend, options: itemOptions(item)).digest
            }
            /// Whether the manifest already holds this item, made by one of this run's devices with the same options.
            func alreadyDone(_ index: Int, _ item: BatchItems.Item) -> Bool {
                guard let r = finished[index], let sha = r.sha256,
                      let maker = backends.first(where: { "\($0.kind) \($0.deviceName)" == r.device }),
                      (try? hash(item, on: maker)) == r.optionsHash else { return false }
                return (try? SHA256.hex(ofFile: output + "/" + item.outputName)) == sha
            }
            func work(_ backend: Backend, _ transfer: StyleTransfer) throws {
                while let (index, item) = take() {
                    if alreadyDone(index, item) {
                        lock.lock(); skipped += 1; done += 1; lock.unlock()
                        continue
                    }
                    let t0 = Date()
                    let o = itemOptions(item)
                    let options = BatchRecord.Options(styleWeight: item.styleWeight, styleScale: item.styleScale, size: item.size,
                                                      preserveColor: item.preserveColor)
                    let outPath = output + "/" + item.outputName
                    var record = BatchRecord(index: index, total: all.count, id: item.id, content: item.content.name,
                                             styles: item.styles.map(\.name), options: options, optionsHash: "", status: "failed",
                                             reason: nil, output: nil, sha256: nil, loss: nil, seconds: 0, overheadSeconds: 0,
                                             device: "\(backend.kind) \(backend.deviceName)")
                    var optimizeSeconds = 0.0
                    var writing = false
                    do {
                        record.optionsHash = try hash(item, on: backend)
                        let content = try common.loadImage(item.content.path, role: "content")
                        let styleImages = try item.styles.map { try common.loadImage($0.path, role: "style") }
                        var inputs = TransferInputs(content: content)
                        for (s, input) in zip(styleImages, item.styles) {
                            var si = StyleInput(image: s)
                            si.targetKey = input.path
                            inputs.styles.append(si)
                        }
                        transfer.options = o
                        let result = try transfer.run(inputs) { _, _ in !interruptRequested }
                        if interruptRequested { return }
                        writing = true
                        try result.image.writePNG(outPath)
                        optimizeSeconds = result.optimizeSeconds
                        record.status = "ok"
                        record.output = item.outputName
                        record.sha256 = try SHA256.hex(ofFile: outPath)
                        record.loss = result.terms
                    } catch let e as EngineError {
                        if writing { throw e }   // a full disk or an unwritable folder stops the batch
                        record.reason = e.description
                    } catch {
                        record.reason = "\(error)"
                    }
                    record.seconds = Date().timeIntervalSince(t0)
                    record.overheadSeconds = record.seconds - optimizeSeconds
                    lock.lock()
                    defer { lock.unlock() }
                    try BatchManifest.append(record, to: manifest)
                    if record.status == "ok" { done += 1; fresh += 1; overhead += record.overheadSeconds } else { failed += 1 }
                    let elapsed = Date().timeIntervalSince(start)
                    let perHour = fresh > 0 ? 3600 * Double(fresh) / elapsed : 0
                    let left = mine.count - done - failed
                    let eta = fresh > 0 ? String(format: ", ETA %.0f s", elapsed / Double(fresh) * Double(left)) : ""
                    let what = record.status == "ok" ? String(format: "%.1f s (%.2f s not iterating)", record.seconds, record.overheadSeconds)
                        : "failed: " + (record.reason ?? "?")
                    let on = backends.count > 1 ? " [\(record.device)]" : ""
                    FileHandle.standardError.write((String(format: "item %d/%d ", done + failed, mine.count) + item.id + on
                        + String(format: ": %@; done %d, failed %d, %.0f items/hour%@\n", what, done, failed, perHour, eta)).data(using: .utf8)!)
                }
            }
            let transfers = try backends.map { try StyleTransfer(backend: $0, weights: weights, options: base) }
            if backends.count == 1 {
                try work(backends[0], transfers[0])
            } else {
                let group = DispatchGroup()
                for (b, t) in zip(backends, transfers) {
                    group.enter()
                    let thread = Thread {
                        defer { group.leave() }
                        do { try work(b, t) } catch { lock.lock(); if stop == nil { stop = error }; lock.unlock() }
                    }
                    thread.stackSize = 64 << 20
                    thread.start()
                }
                group.wait()
                if let e = stop { throw e }
            }
            if let sheet = contactSheet { try writeContactSheet(sheet, manifest: manifest) }
            let elapsed = Date().timeIntervalSince(start)
            let perItem = fresh > 0 ? overhead / Double(fresh) : 0
            FileHandle.standardError.write((String(format: "batch: %d done (%d from an earlier run), %d failed, %.1f s, %.2f s per item not iterating",
                done, skipped, failed, elapsed, perItem) + " → \(manifest)\n").data(using: .utf8)!)
            if interruptRequested { fail("interrupted; rerun the same command to continue", code: interruptedStatus) }
            if failed > 0 { fail("\(failed) of \(mine.count) items failed (their reasons are in \(manifest)); rerun to retry them", code: ExitStatus.dataError) }
        }
    }

    /// The workers' backends: --devices, else the one --backend names.
    func makeBackends() throws -> [Backend] {
        guard let list = devices else { return [try common.makeBackend()] }
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, Set(names).count == names.count else {
            throw EngineError.invalidArgument("--devices takes all, or distinct device indices or names and cpu, comma-separated (got \"\(list)\")")
        }
        guard common.backend == "auto", common.device == nil else {
            throw EngineError.invalidArgument("--devices names every worker's device; drop --backend and --device")
        }
        try CPUBackend.checkEnvironment()
        if list == "all" {
            let found = try DeviceInfo.all()
            guard !found.isEmpty else { throw EngineError.device("--devices all: no OpenCL device found") }
            return try found.map { try OpenCLBackend(device: $0) }
        }
        return try names.map { name -> Backend in name == "cpu" ? CPUBackend() : try OpenCLBackend(device: name) }
    }

    /// content | style | result per finished item, the sampled options left of each row.
    func writeContactSheet(_ sheet: String, manifest: String) throws {
        var latest: [Int: BatchRecord] = [:]
        for r in BatchManifest.read(manifest) { latest[r.index] = r }
        let ok = latest.values.filter { $0.status == "ok" }.sorted { $0.index < $1.index }
        var rows: [[RGBImage?]] = [], labels: [String] = []
        let contentsRoot = try BatchItems.inputs(contents, role: "contents"), stylesRoot = try BatchItems.inputs(styles, role: "styles")
        for r in ok {
            let c = contentsRoot.first { $0.name == r.content }.flatMap { try? RGBImage.load($0.path) }
            let st = r.styles.first.flatMap { n in stylesRoot.first { $0.name == n } }.flatMap { try? RGBImage.load($0.path) }
            let out = r.output.flatMap { try? RGBImage.load(output + "/" + $0) }
            rows.append([c, st, out])
            labels.append(String(format: "sw %.3g  scale %.2f  %dpx  %@", r.options.styleWeight, r.options.styleScale,
                                 r.options.size, r.options.preserveColor))
        }
        try RGBImage.grid(rows, rowLabels: labels, columnLabels: ["content", "style", "result"], cell: 128).writePNG(sheet)
        FileHandle.standardError.write("wrote the contact sheet \(sheet): \(ok.count) items\n".data(using: .utf8)!)
    }
}
