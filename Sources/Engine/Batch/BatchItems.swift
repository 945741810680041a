import Foundation

/// The items of a batch: which content meets which style(s), each named by its inputs' paths
/// relative to the folders given (not by its position in a listing), and the options sampled for
/// it — a pure function of (seed, identity), so adding a file changes no other item and results
/// never depend on order, timing or sharding.
public enum BatchItems {
    /// One input file: its path and its name relative to the folder or list it came from.
    public struct Input: Sendable, Equatable {
        public let path: String
        public let name: String
    }

    public enum Pairs: Sendable, Equatable {
        /// Every content with every style.
        case all
        /// K styles per content, drawn without replacement from (seed, content name).
        case perContent(Int)
    }

    /// A range or a list to sample from.
    public enum Choice: Sendable, Equatable {
        case values([Float])
        /// Log-uniform (style weight) or uniform (scale) between the bounds.
        case range(Float, Float)

        /// "5", "1,5,25" or "1:20".
        public init(parsing text: String, option: String) throws {
            if text.contains(":") {
                let p = text.split(separator: ":", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard p.count == 2, let a = p[0], let b = p[1], a.isFinite, b.isFinite, a > 0, b >= a else {
                    throw EngineError.invalidArgument("\(option) takes a value, a comma list or a range A:B with 0 < A ≤ B (got \"\(text)\")")
                }
                self = .range(a, b)
            } else {
                let v = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                    throw EngineError.invalidArgument("\(option) takes a value, a comma list or a range A:B (got \"\(text)\")")
                }
                self = .values(v.map { $0! })
            }
        }

        func sample(_ rng: inout SeededRandom, logUniform: Bool) -> Float {
            switch self {
            case .values(let v): return v.count == 1 ? v[0] : v[Int(rng.next() % UInt64(v.count))]
            case .range(let a, let b):
                let u = rng.uniform()
                return logUniform ? a * powf(b / a, u) : a + (b - a) * u
            }
        }
    }

    /// What is sampled per item.
    public struct Sampling: Sendable {
        public var styleWeight = Choice.values([5])
        public var styleScale = Choice.values([1])
        public var sizes: [Int] = [512]
        public var preserveColor: [String] = ["none"]
        public init() {}
    }

    /// One item and its sampled options.
    public struct Item: Sendable {
        /// "content-name → style-name[ + style-name…]": the item's identity.
        public let id: String
        public let content: Input
        public let styles: [Input]
        public let styleWeight: Float
        public let styleScale: Float
        public let size: Int
        public let preserveColor: String
        /// The output's file name, from the identity (sub-folders flattened, a hash against collisions).
        public let outputName: String
    }

    /// The PNG and JPEG files of a folder (recursively, names relative to it) or the paths listed
    /// in a text file (one per line, names as written), sorted by name.
    public static func inputs(_ source: String, role: String) throws -> [Input] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDir) else {
            throw EngineError.image("the \(role) \(source): no such file or folder")
        }
        var out: [Input] = []
        if isDir.boolValue {
            guard let walk = FileManager.default.enumerator(atPath: source) else {
                throw EngineError.image("the \(role) folder \(source) cannot be listed")
            }
            for case let name as String in walk {
                let ext = (name as NSString).pathExtension.lowercased()
                guard ["png", "jpg", "jpeg"].contains(ext), !(name as NSString).lastPathComponent.hasPrefix(".") else { continue }
                out.append(Input(path: source + "/" + name, name: name))
            }
        } else {
            let text: String
            do { text = try String(contentsOfFile: source, encoding: .utf8) } catch {
                throw EngineError.image("cannot read the \(role) list \(source): \(error.localizedDescription)")
            }
            let base = (source as NSString).deletingLastPathComponent
            for raw in text.split(separator: "\n") {
                let line = raw.trimmingCharacters(in: .whitespaces)
                guard !line.isEmpty, !line.hasPrefix("#") else { continue }
                out.append(Input(path: line.hasPrefix("/") ? line : (base.isEmpty ? line : base + "/" + line), name: line))
            }
        }
        guard !out.isEmpty else { throw EngineError.image("the \(role) \(source) holds no PNG or JPEG files") }
        return out.sorted { $0.name < $1.name }
    }

    /// A generator seeded by SHA-256 of (seed, text).
    static func generator(_ seed: UInt64, _ text: String) -> SeededRandom {
        let hex = SHA256.hex("\(seed)\n\(text)")
        return SeededRandom(seed: UInt64(hex.prefix(16), radix: 16)!)
    }

    /// Every item, in the order of their identities.
    public static func items(contents: [Input], styles: [Input], pairs: Pairs, sampling: Sampling, seed: UInt64) throws -> [Item] {
        var out: [Item] = []
        for c in contents {
            var chosen: [[Input]]
            switch pairs {
            case .all: chosen = styles.map { [$0] }
            case .perContent(let k):
                guard k >= 1 && k <= styles.count else {
                    throw EngineError.invalidArgument("--per-content \(k): there are \(styles.count) styles")
                }
                // a seeded shuffle of the style names, the first k
                var rng = generator(seed, "styles for " + c.name)
                let order = styles.map { ($0, rng.next()) }.sorted { $0.1 < $1.1 }.map(\.0)
                chosen = order.prefix(k).map { [$0] }
            }
            for s in chosen {
                let id = c.name + " → " + s.map(\.name).joined(separator: " + ")
                var rng = generator(seed, id)
                let weight = sampling.styleWeight.sample(&rng, logUniform: true)
                let scale = sampling.styleScale.sample(&rng, logUniform: false)
                let size = sampling.sizes[Int(rng.next() % UInt64(sampling.sizes.count))]
                let color = sampling.preserveColor[Int(rng.next() % UInt64(sampling.preserveColor.count))]
                func stem(_ n: String) -> String {
                    (n as NSString).deletingPathExtension.replacingOccurrences(of: "/", with: "_")
                }
                let name = stem(c.name) + "__" + s.map { stem(($0.name as NSString).lastPathComponent) }.joined(separator: "+")
                    + "__" + SHA256.hex(id).prefix(8) + ".png"
                out.append(Item(id: id, content: c, styles: s, styleWeight: weight, styleScale: scale, size: size,
                                preserveColor: color, outputName: name))
            }
        }
        return out.sorted { $0.id < $1.id }
    }
}
