import Foundation

extension OpenCLBackend {
    /// U = G g Gᵀ for a weight tensor (36 × Cout × Cin), transformed on the host once and cached
    /// by the tensor's storage; dropped whenever the backend writes the tensor.
    func winogradWeights(_ weight: Tensor, cout: Int, cin: Int) throws -> CLBuffer {
        if let u = winogradCache.lookup(weight, tile: 4) { return unsafeDowncast(u, to: CLStorage.self).buffer }
        let f = WinogradTransform.f4
        let g = try download(weight)
        var u = [Float](repeating: 0, count: 36 * cout * cin)
        g.withUnsafeBufferPointer { gp in
            u.withUnsafeMutableBufferPointer { f.transformWeights(gp.baseAddress!, cout: cout, cin: cin, into: $0.baseAddress!) }
        }
        let t = try makeTensor(Shape(36, cout, cin))
        try upload(u, to: t)
        winogradCache.insert(t.storage, for: weight, tile: 4)
        return t.cl
    }

    /// winograd.cl: pad the input once, then band by band of tile rows: input transform, 36
    /// products (winograd_gemm, or one strided-batched CLBlast SGEMM), output transform. The
    /// kernels are built for the layer's vector width and GEMM rows (fewer on small layers, see
    /// winogradLayout).
    func conv3x3Winograd(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) throws {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        let u = try winogradWeights(weight, cout: cout, cin: cin)
        let l = parameters.winogradLayout(cin: cin, cout: cout, height: h, width: w)
        let floats = l.scratchFloats(cin: cin, cout: cout)
        let v = try scratchBuffer(floats.v, slot: 0), m = try scratchBuffer(floats.m, slot: 1)
        let xp = try scratchBuffer(floats.padded, slot: 2)
        let vec = l.vector, group = l.gemmRows * vec, ocb = parameters.winogradOutputBlock
        let stride = l.ntStride
        try context.launch(try kernel("winograd_pad", .winograd, vector: vec, rows: l.gemmRows), global: [l.paddedWidth, l.paddedHeight, cin],
                           [.buffer(x.cl), .buffer(xp), .int(Int32(cin)), .int(Int32(h)), .int(Int32(w)),
                            .int(Int32(l.paddedHeight)), .int(Int32(l.paddedWidth))],
                           work: .bytes(4.0 * Double(x.count + floats.padded)))
        var ty0 = 0
        while ty0 < l.tilesH {
            let rows = min(l.bandRows, l.tilesH - ty0)
            let nt = rows * l.tilesWPad
            try launchConv(try kernel("winograd_input_f4", .winograd, vector: vec, rows: l.gemmRows), global: [l.tilesWPad / vec, rows, cin],
                               [.buffer(xp), .buffer(v), .int(Int32(cin)), .int(Int32(l.paddedHeight)),
                                .int(Int32(l.paddedWidth)), .int(Int32(ty0)), .int(Int32(rows)),
                                .int(Int32(l.tilesWPad)), .int(Int32(stride))],
                               work: .bytes(4.0 * Double(cin) * Double(nt) * (24 + 36)))
            let gemmFlops = 2.0 * 36 * Double(cout) * Double(cin) * Double(nt)
            if parameters.winogradGemm == .clblast {
                try context.sgemmStridedBatched(m: cout, n: nt, k: cin, alpha: 1, a: u, lda: cin, aStride: cout * cin,
                                                b: v, ldb: stride, bStride: cin * stride, beta: 0,
                                                c: m, ldc: stride, cStride: cout * stride, batch: 36)
            } else {
                try launchConv(try kernel("winograd_gemm", .winograd, vector: vec, rows: l.gemmRows),
                               global: [(nt + group - 1) / group, (cout + ocb - 1) / ocb, 36],
                               [.buffer(u), .buffer(v), .buffer(m), .int(Int32(cin)), .int(Int32(cout)), .int(Int32(stride))],
                               work: .flops(gemmFlops))
            }
            try launchConv(try kernel("winograd_output_f4", .winograd, vector: vec, rows: l.gemmRows), global: [l.tilesWPad / vec, rows, cout],
                               [.buffer(m), .buffer((bias ?? weight).cl), .buffer(y.cl), .int(Int32(cout)), .int(Int32(h)),
                                .int(Int32(w)), .int(Int32(ty0)), .int(Int32(rows)), .int(Int32(l.tilesWPad)),
                                .int(Int32(stride)), .int(bias == nil ? 0 : 1)],
                               work: .bytes(4.0 * Double(cout) * Double(nt) * (36 + 16)))
            ty0 += rows
        }
    }
}
