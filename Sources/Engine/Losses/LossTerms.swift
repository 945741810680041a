/// An evaluation's breakdown: each active term's unweighted value and weight. The fields of the
/// three original terms keep their names (`content`, `style`, `stylePerLayer`, `tv`, `tvRaw`) so
/// scripts reading `--json` go on working; `terms` lists every term.
public struct LossTerms: Sendable {
    public var terms: [TermValue] = []

    public init(terms: [TermValue] = []) { self.terms = terms }

    public var total: Double { terms.reduce(0) { $0 + $1.weighted } }

    func sum(_ prefix: String, _ f: (TermValue) -> Double) -> Double {
        terms.filter { $0.name == prefix || $0.name.hasPrefix(prefix + ":") }.reduce(0) { $0 + f($1) }
    }
    /// L_content (weight 1).
    public var content: Double { sum("content") { $0.weighted } }
    /// α·Σ_l w_l·L_style^l, over every style term.
    public var style: Double { sum("style") { $0.weighted } }
    /// Unweighted L_style^l per style layer, in order, summed over the style terms.
    public var stylePerLayer: [Double] {
        var order: [String] = [], sums: [String: Double] = [:]
        for t in terms where t.name == "style" || t.name.hasPrefix("style:") {
            for name in t.layerOrder ?? [] {
                if sums[name] == nil { order.append(name) }
                sums[name, default: 0] += t.layers?[name] ?? 0
            }
        }
        return order.map { sums[$0]! }
    }
    /// Unweighted L_tv.
    public var tvRaw: Double { sum("tv") { $0.value } }
    /// β·L_tv
    public var tv: Double { sum("tv") { $0.weighted } }
}

extension LossTerms: Codable {
    enum Keys: String, CodingKey { case terms, content, style, stylePerLayer, tv, tvRaw, total }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        terms = try c.decode([TermValue].self, forKey: .terms)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(content, forKey: .content)
        try c.encode(style, forKey: .style)
        try c.encode(stylePerLayer, forKey: .stylePerLayer)
        try c.encode(tv, forKey: .tv)
        try c.encode(tvRaw, forKey: .tvRaw)
        try c.encode(total, forKey: .total)
        try c.encode(terms, forKey: .terms)
    }
}
