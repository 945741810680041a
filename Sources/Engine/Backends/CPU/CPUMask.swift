extension CPUBackend {
    /// The twin of `multiply_plane` in kernels/mask.cl.
    public func multiplyPlane(_ x: Tensor, by m: Tensor, into y: Tensor, accumulate: Bool) throws {
        let plane = x.shape.plane, n = x.count
        precondition(m.count == plane && y.count == n, "multiplyPlane of \(x.shape) by \(m.shape) into \(y.shape)")
        let xp = x.cpu, mp = m.cpu, yp = y.cpu
        timed("multiply_plane", .bytes(12.0 * Double(n))) {
            parallel(n) { r in
                for i in r {
                    let v = xp[i] * mp[i % plane]
                    yp[i] = accumulate ? yp[i] + v : v
                }
            }
        }
    }
}
