import Foundation

/// Winograd convolution F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
/// Networks"): each m×m block of outputs comes from an α×α block of inputs (α = m + 2) with α²
/// multiplies per input channel instead of 9m², so the GEMM work falls 2.25× for m = 2 and 4×
/// for m = 4 (the default; its transforms have larger coefficients, so it rounds a little more).
///
///   U = G g Gᵀ (weights, once per weight tensor, cached)   V = Bᵀ d B (input tiles)
///   M_ξ = U_ξ · V_ξ for each of the α² positions ξ (α² SGEMMs: Cout×Cin by Cin×tiles)
///   Y = Aᵀ M A (outputs)
///
/// CPUWinograd.swift and kernels/winograd.cl (with OpenCLWinograd.swift) implement it.
///
/// The weight transform G is data (below); Bᵀ and Aᵀ are written out in the transform functions:
///   F(2×2): Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  Aᵀ = [1 1 1 0; 0 1 −1 −1]
///   F(4×4): Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
///           Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
struct WinogradTransform {
    let m: Int
    var alpha: Int { m + 2 }
    let g: [[Float]]    // α × 3

    /// Interpolation points 0, 1, −1.
    static let f2 = WinogradTransform(m: 2, g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])

    /// Interpolation points 0, 1, −1, 2, −2.
    static let f4 = WinogradTransform(
        m: 4,
        g: [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
            [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]])

    /// U[ξ][o][c] = (G g_{o,c} Gᵀ)[ξ] for OIHW weights g (shared by both backends).
    func transformWeights(_ wp: UnsafePointer<Float>, cout: Int, cin: Int, into up: UnsafeMutablePointer<Float>) {
        let alpha = self.alpha, g = self.g
        DispatchQueue.concurrentPerform(iterations: cout) { o in
            var t = [Float](repeating: 0, count: alpha * 3)
            for c in 0..<cin {
                let k = wp + (o * cin + c) * 9
                // t = G·k (α×3), then U = t·Gᵀ (α×α)
                for i in 0..<alpha {
                    for j in 0..<3 { t[i * 3 + j] = g[i][0] * k[j] + g[i][1] * k[3 + j] + g[i][2] * k[6 + j] }
                }
                for i in 0..<alpha {
                    for j in 0..<alpha {
                        let value = t[i * 3] * g[j][0] + t[i * 3 + 1] * g[j][1] + t[i * 3 + 2] * g[j][2]
                        up[((i * alpha + j) * cout + o) * cin + c] = value
                    }
                }
            }
        }
    }

    static func forTile(_ m: Int) -> WinogradTransform {
        precondition(m == 2 || m == 4, "Winograd output tile must be 2 or 4, not \(m)")
        return m == 2 ? f2 : f4
    }
}

/// Transformed Winograd weights by (weight tensor, output tile), kept while the weights live. The
/// backends drop a tensor's entries whenever they write it (upload, fill, copy).
struct WinogradCache {
    private struct Key: Hashable { let storage: ObjectIdentifier; let tile: Int }
    private struct Entry { weak var source: Storage?; let transformed: Storage }
    private var entries: [Key: Entry] = [:]

    func lookup(_ weight: Tensor, tile: Int) -> Storage? {
        guard let e = entries[Key(storage: ObjectIdentifier(weight.storage), tile: tile)],
              e.source === weight.storage else { return nil }
        return e.transformed
    }

    mutating func insert(_ transformed: Storage, for weight: Tensor, tile: Int) {
        // entries whose weights are gone (their identifier may be reused) are dropped
        entries = entries.filter { $0.value.source != nil }
        entries[Key(storage: ObjectIdentifier(weight.storage), tile: tile)] = Entry(source: weight.storage, transformed: transformed)
    }

    mutating func invalidate(_ t: Tensor) {
        let id = ObjectIdentifier(t.storage)
        entries = entries.filter { $0.key.storage != id }
    }
}
