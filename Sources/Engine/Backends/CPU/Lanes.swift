/// Element-wise loops written once, run 16 lanes at a time with a scalar tail.
///
/// LLVM did not vectorise the ReLU's loops over `UnsafeMutablePointer`s (their pointers may
/// overlap, and the network runs the backward in place): the backward compiled to a branch per
/// sample that mispredicts on every other one, 4.7 GB/s in `bench ops` on a 2-core Xeon, and the
/// forward ran at 30–40 GB/s. As a select over `SIMD16<Float>` (four SSE registers on the
/// baseline x86-64 target) they run at 50–78 and 60–90 GB/s. A kernel here is a generic step
/// over `FloatLanes`, instantiated for `SIMD16<Float>` on the bulk and for `Float` on the tail;
/// each lane computes what the scalar step computes, bit for bit (LanesTests).
///
/// The Winograd transforms, written the same way, were vectorised too but took the same time
/// (`bench ops`, conv1_2 to conv4_2 at 512²): they are bound by memory, so they stay scalar.
protocol FloatLanes {
    static func load(_ p: UnsafePointer<Float>) -> Self
    func store(_ p: UnsafeMutablePointer<Float>)
    /// The lanes of `self` where `mask` is positive, 0 elsewhere (`mask > 0 ? self : 0`).
    func wherePositive(_ mask: Self) -> Self
    /// `max(self, 0)` as Swift's `max` defines it (`0 >= x ? 0 : x`: −0 gives +0, NaN stays NaN).
    func relu() -> Self
}

extension Float: FloatLanes {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Float { p.pointee }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { p.pointee = self }
    @inline(__always) func wherePositive(_ mask: Float) -> Float { mask > 0 ? self : 0 }
    @inline(__always) func relu() -> Float { max(self, 0) }
}

extension SIMD16: FloatLanes where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }
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

/// Runs `wide(i)` for i = 0, 16, 32, … while 16 elements remain, then `narrow(i)` for the rest:
/// pass the same generic step instantiated for `SIMD16<Float>` and for `Float`.
@inline(__always)
func forEachLane(_ n: Int, wide: (Int) -> Void, narrow: (Int) -> Void) {
    var i = 0
    while i + 16 <= n { wide(i); i += 16 }
    while i < n { narrow(i); i += 1 }
}
