import Foundation

extension CPUBackend {
    /// The twin of `channel_sums` in kernels/reduce.cl: each channel summed in Double, in order.
    public func accumulateChannelSums(_ f: Tensor, scale: Float, into s: Tensor) throws {
        let c = f.shape.channels, n = f.shape.plane
        precondition(s.count == c, "channel sums of \(f.shape) into \(s.shape)")
        let fp = f.cpu, sp = s.cpu
        timed("channel_sums", .bytes(4.0 * Double(f.count))) {
            DispatchQueue.concurrentPerform(iterations: c) { ch in
                sp[ch] += scale * Float(Self.channelSum(fp + ch * n, n))
            }
        }
    }

    /// Σ src[0..<n] in Double, in order: one channel's sum for the channel sums and for centring
    /// (`gramFeatures`), as `channel_sum` serves both kernels in reduce.cl.
    static func channelSum(_ src: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0
        for i in 0..<n { total += Double(src[i]) }
        return total
    }

    /// The twin of `channel_broadcast` in kernels/reduce.cl.
    public func accumulateChannelBroadcast(_ v: Tensor, scale: Float, into df: Tensor) throws {
        let plane = df.shape.plane
        precondition(v.count == df.shape.channels, "channel broadcast of \(v.shape) into \(df.shape)")
        let vp = v.cpu, dp = df.cpu
        timed("channel_broadcast", .bytes(8.0 * Double(df.count))) {
            parallel(df.count) { r in
                for i in r { dp[i] += scale * vp[i / plane] }
            }
        }
    }
}
