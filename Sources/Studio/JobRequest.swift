import Foundation

/// What a page (or a script) sends to start or plan a job: image ids, a mask per style, the
/// stylize options by their command-line names, and the device.
struct JobRequest: Decodable {
    var content: String
    var styles: [String]
    /// Style number (from 1) → mask image id.
    var masks: [String: String]?
    var options: [String: OptionValue]?
    var device: String?

    /// An option's value: a string as on the command line; numbers and booleans are accepted too.
    struct OptionValue: Decodable {
        let text: String
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { text = s }
            else if let b = try? c.decode(Bool.self) { text = b ? "true" : "false" }
            else if let i = try? c.decode(Int.self) { text = String(i) }
            else { text = String(try c.decode(Double.self)) }
        }
    }
}

/// The stylize options the studio passes on, by name: every one that shapes the result and takes
/// no path. Adding a stylize option here is all it takes to offer it in the studio.
enum StudioOptions {
    /// Options with a value.
    static let valued: Set<String> = [
        "size", "style-weight", "tv-weight", "tv", "iterations", "tolerance", "optimizer", "line-search",
        "preconditioner",
        "lbfgs-history", "learning-rate", "init", "scales", "scale-sizes", "scale-iterations", "preserve-color",
        "color-match", "style-blend-weights", "style-scale", "content-layer", "style-layers", "style-layer-weights",
        "style-mean-weight",
        "pooling", "model", "seed", "tile", "memory-limit",
    ]
    /// Flags: "true" adds them, "false" leaves them out.
    static let flags: Set<String> = ["centered-gram"]

    static var names: [String] { (valued.union(flags)).sorted() }

    /// The command-line arguments for `options`, or the reason one is refused.
    static func arguments(_ options: [String: String]) throws -> [String] {
        var out: [String] = []
        for (name, value) in options.sorted(by: { $0.key < $1.key }) {
            if flags.contains(name) {
                switch value {
                case "true": out.append("--" + name)
                case "false": break
                default: throw APIError(.badRequest, "option \(name) is a flag: true or false (got \"\(value)\")")
                }
                continue
            }
            guard valued.contains(name) else {
                throw APIError(.badRequest, "unknown option \"\(name)\"; the studio takes \(names.joined(separator: ", "))")
            }
            if name == "init" && value != "content" && value != "random" {
                throw APIError(.badRequest, "init must be content or random in the studio (got \"\(value)\")")
            }
            if name == "style-weight" && value.contains(",") {
                throw APIError(.badRequest, "style-weight takes one value per job; start one job per style weight to compare them")
            }
            out += ["--" + name, value]
        }
        return out
    }
}

/// Shell quoting for the "copy as command line" text: single quotes unless the word is plain.
func shellQuoted(_ word: String) -> String {
    let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:,=+@%")
    if !word.isEmpty && word.unicodeScalars.allSatisfy({ plain.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
