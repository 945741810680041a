/// Element-wise loops written once, run 4 lanes at a time (one SSE register on the baseline
/// x86-64 target; 16 per trip) with a scalar tail.
///
/// LLVM leaves Swift loops over several `UnsafeMutablePointer`s scalar: it cannot prove the
/// pointers do not overlap (the network runs the ReLU backward in place). The ReLU backward then
/// compiled to a branch per sample that mispredicts on every other one, 4.7 GB/s in `bench ops`
/// on a 2-core Xeon; as a select it runs at 45–75 GB/s, and the forward at 60–85 instead of
/// 30–40. The Winograd transforms ran one float per instruction (`movss`/`addss` in
/// `perf annotate`); with these steps, and the phase splits and interleaves as 4×4 transposes,
/// the 64- to 512-channel convolutions take 3–10 % less time. (16-lane steps were slower for the
/// transforms: six 16-lane inputs do not fit in 16 SSE registers, and they spilled.)
///
/// A kernel here is a generic step over `FloatLanes`, instantiated for `SIMD4<Float>` on the bulk
/// and for `Float` on the tail. Each lane computes the same IEEE operations in the same order as
/// the scalar step (no fused multiply-add: Swift does not contract), so results are bit for bit
/// those of the scalar loops (LanesTests; `cmp` of stylised images before and after).
protocol FloatLanes {
    static func load(_ p: UnsafePointer<Float>) -> Self
    static func splat(_ v: Float) -> Self
    func store(_ p: UnsafeMutablePointer<Float>)
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Float, b: Self) -> Self
    /// The lanes of `self` where `mask` is positive, 0 elsewhere (`mask > 0 ? self : 0`).
    func wherePositive(_ mask: Self) -> Self
    /// `max(self, 0)` as Swift's `max` defines it (`0 >= x ? 0 : x`: −0 gives +0, NaN stays NaN).
    func relu() -> Self
}

extension Float: FloatLanes {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Float { p.pointee }
    @inline(__always) static func splat(_ v: Float) -> Float { v }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { p.pointee = self }
    @inline(__always) func wherePositive(_ mask: Float) -> Float { mask > 0 ? self : 0 }
    @inline(__always) func relu() -> Float { max(self, 0) }
}

extension SIMD4: FloatLanes where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }
    @inline(__always) static func splat(_ v: Float) -> Self { Self(repeating: v) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
    @inline(__always) func wherePositive(_ mask: Self) -> Self {
        var r = self
        r.replace(with: 0, where: .!(mask .> 0))
        return r
    }
    @inline(__always) func relu() -> Self {
        var r = self
        r.replace(with: 0, where: self .<= 0)
        return r
    }
}

/// Runs `wide(i)` for i = lower, lower + 4, … while 4 indices of `range` remain, then `narrow(i)`
/// for the rest: pass the same generic step instantiated for `SIMD4<Float>` and for `Float`.
@inline(__always)
func forEachLane(_ range: Range<Int>, wide: (Int) -> Void, narrow: (Int) -> Void) {
    var i = range.lowerBound
    let end = range.upperBound
    while i + 16 <= end { wide(i); wide(i + 4); wide(i + 8); wide(i + 12); i += 16 }
    while i + 4 <= end { wide(i); i += 4 }
    while i < end { narrow(i); i += 1 }
}

/// The 4×4 transpose of rows a, b, c, d: row k of the result is (a[k], b[k], c[k], d[k]). It
/// splits 16 consecutive floats into their 4 phases, and interleaves 4 phases back.
@inline(__always)
func transpose4(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>)
    -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
    (SIMD4(a[0], b[0], c[0], d[0]), SIMD4(a[1], b[1], c[1], d[1]),
     SIMD4(a[2], b[2], c[2], d[2]), SIMD4(a[3], b[3], c[3], d[3]))
}

/// 8 consecutive floats (a, b) split into their even and odd elements.
@inline(__always)
func deinterleave2(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> (SIMD4<Float>, SIMD4<Float>) {
    (SIMD4(a[0], a[2], b[0], b[2]), SIMD4(a[1], a[3], b[1], b[3]))
}

/// Even elements e and odd elements o interleaved into 8 consecutive floats.
@inline(__always)
func interleave2(_ e: SIMD4<Float>, _ o: SIMD4<Float>) -> (SIMD4<Float>, SIMD4<Float>) {
    (SIMD4(e[0], o[0], e[1], o[1]), SIMD4(e[2], o[2], e[3], o[3]))
}
