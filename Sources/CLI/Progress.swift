import Engine
import Foundation

/// SIGINT (Ctrl-C) or SIGTERM (a scheduler's preemption): the first one asks the run to stop
/// after the current evaluation and write the current image; a second one exits at once.
nonisolated(unsafe) var stopSignal: Int32 = 0
var interruptRequested: Bool { stopSignal != 0 }

func installInterruptHandler() {
    for sig in [SIGINT, SIGTERM] {
        signal(sig) { s in
            if stopSignal != 0 { _exit(128 + s) }
            stopSignal = s
        }
    }
}

/// The exit status after a stop signal: 130 for SIGINT, 143 for SIGTERM.
var interruptedStatus: Int32 { stopSignal == SIGTERM ? ExitStatus.terminated : ExitStatus.interrupted }

/// A live bar on a terminal; a plain line every `printEvery` evaluations otherwise. Goes to stderr.
final class ProgressDisplay {
    let total: Int
    let printEvery: Int
    let live: Bool
    let start = Date()
    var lastDraw = Date.distantPast
    /// The evaluation before the first one seen (a resumed run starts past 0).
    var before: Int?

    init(total: Int, printEvery: Int, quiet: Bool) {
        self.total = total
        self.printEvery = quiet ? 0 : printEvery
        live = !quiet && isatty(STDERR_FILENO) != 0
    }

    /// The total and the weighted terms: content, style (all style terms) and tv always, then
    /// any other active term by name (temporal, …).
    static func format(_ t: LossTerms) -> String {
        let others = t.terms.filter { !["content", "tv"].contains($0.name) && $0.name != "style" && !$0.name.hasPrefix("style:") }
            .map { String(format: ", %@ %.3e", $0.name, $0.weighted) }.joined()
        return String(format: "loss %.4e (content %.3e, style %.3e, tv %.3e%@)", t.total, t.content, t.style, t.tv, others)
    }

    func update(_ step: OptimizerStep) {
        let elapsed = Date().timeIntervalSince(start)
        if before == nil { before = step.evaluation - 1 }
        let perIt = elapsed / Double(max(step.evaluation - before!, 1))
        let eta = perIt * Double(total - step.evaluation)
        if live {
            let now = Date()
            guard step.evaluation == total || now.timeIntervalSince(lastDraw) > 0.2 else { return }
            lastDraw = now
            let width = 24
            let filled = min(width, width * step.evaluation / max(total, 1))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            // \u{1B}[K clears what a longer previous line left behind
            let line = String(format: "\r%@ %d/%d  %@  %.2f s/it  ETA %@\u{1B}[K", bar, step.evaluation, total,
                              Self.format(step.terms), perIt, Self.duration(eta))
            FileHandle.standardError.write(line.data(using: .utf8)!)
            if step.evaluation == total { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        } else if printEvery > 0 && (step.evaluation % printEvery == 0 || step.evaluation == 1 || step.evaluation == total) {
            let line = String(format: "iteration %d/%d  %@  %.2f s/it\n", step.evaluation, total, Self.format(step.terms), perIt)
            FileHandle.standardError.write(line.data(using: .utf8)!)
        }
    }

    func finish() {
        if live && lastDraw != .distantPast { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
