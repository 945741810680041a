import Foundation

/// Device memory for the OpenCL backend.
final class CLStorage: Storage {
    let buffer: CLBuffer
    init(buffer: CLBuffer, count: Int) {
        self.buffer = buffer
        super.init(count: count)
    }
}

extension Tensor {
    @inline(__always) var cl: CLBuffer { unsafeDowncast(storage, to: CLStorage.self).buffer }
}

/// Every operation as OpenCL kernels from `kernels/*.cl` (CLBlast for the matrix products).
/// Work stays on the device; only reduction partials (a few hundred floats) come back.
public final class OpenCLBackend: Backend {
    public let kind = "opencl"
    public let context: CLContext
    public var deviceName: String { context.device.name }
    public var profiler: Profiler? { context.profiler }

    /// Named tuning parameters (a benchmark or tuner may set them before first use).
    public struct Parameters: TuningParameters {
        /// Work-items per reduction work-group (power of two, ≤ the device's max work-group size).
        public var reduceWorkGroup = 128
        /// Work-groups per reduction launch.
        public var reduceGroups = 256
        /// Largest im2col scratch, in floats; convolutions run in row bands that fit.
        public var im2colBudget = 16 << 20
        /// How convolutions and Gram matrices run: im2col + CLBlast SGEMM (`clblast`), or the
        /// vectorised kernels of conv_direct.cl and gram.cl (`direct`).
        public enum Path: String, CaseIterable, Sendable { case clblast, direct }
        /// nil: direct on CPU devices, clblast elsewhere.
        public var path: Path?
        /// Output channels per work-item of the direct convolution.
        public var convOutputBlock = 6
        /// Rows of the output, and vectors of columns, per work-item of the direct Gram backward.
        public var gramOutputBlock = 16
        public var gramRows = 1
        /// Pixels per work-item (vector width: 4, 8 or 16) of the direct convolution and Gram kernels.
        public var convVectorWidth = 16
        /// Rows per work-item of the direct convolution (each weight load serves them all).
        public var convRows = 4
        /// Work-items per work-group (along x) of the direct convolution; nil: the implementation's
        /// choice. 1 on CPU devices: PoCL then runs each work-item as its own task, which measured
        /// 1.7× faster than its own choice and keeps large register blocks off its worker stacks.
        public var convWorkGroup: Int?
        /// Winograd F(4×4, 3×3) (winograd.cl) for convolutions with at least this many input and
        /// output channels; nil: 64 on CPU devices, off elsewhere (not yet measured on a GPU).
        /// "off" is Int.max.
        public var winogradMinChannels: Int?
        /// Winograd bands of tile rows hold at most this many floats of transformed inputs and products.
        public var winogradBandBudget = 16 << 20
        /// Output channels and vectors of tiles per work-item of winograd_gemm (its vector width
        /// is convVectorWidth); the same register limit as the direct convolution applies.
        public var winogradOutputBlock = 3
        public var winogradRows = 8
        /// Winograd products by winograd_gemm (`direct`) or by CLBlast SGEMMs (`clblast`); nil: as `path`.
        public var winogradGemm: Path?
        /// Winograd kernels fitted to layers with few tiles: vectors the smallest of 4, 8 and 16
        /// (at most convVectorWidth) that holds a tile row, so an 8×8 layer (2 tile columns) pads
        /// its rows to 4 tiles, not 16; and winograd_gemm work-items of no more vectors than a
        /// band holds, so that layer's 8 tiles are one work-item of 2 vectors, not 8 (32 tiles, 24
        /// of them zeros). off: every layer uses convVectorWidth and winogradRows.
        public var winogradFitVector = true
        /// The register-blocked kernels (conv_direct.cl, gram.cl, winograd.cl) multiply-add with
        /// fma() (on) or mad() (off); nil: on where the device reports CL_FP_FMA. PoCL compiles
        /// mad() to a separate multiply and add; fma() measured 20–30 % faster on winograd_gemm
        /// there, and 15–18 % less time per iteration on a Xeon (README, Performance). The two
        /// round differently, so outputs differ in the last bits.
        public var fma: Bool?
        public init() {}

        /// The convolution method for a shape, once `winogradMinChannels` is resolved.
        public func usesWinograd(cin: Int, cout: Int) -> Bool {
            guard let minC = winogradMinChannels else { return false }
            return cin >= minC && cout >= minC
        }

        /// The Winograd layout of a convolution: tile rows per band, tile columns rounded up to the
        /// vector width, the row length of V and M, and the padded input's rows and row length.
        public struct WinogradLayout {
            public let tilesH, tilesW, tilesWPad, bandRows, ntStride, paddedHeight, paddedWidth: Int
            /// The vector width (tiles per vector) of this layer's kernels.
            public let vector: Int
            /// Vectors per winograd_gemm work-item (its WG_ROWS); ntStride is a multiple of
            /// gemmRows · vector.
            public let gemmRows: Int
            /// Floats of V, M and the padded input.
            public func scratchFloats(cin: Int, cout: Int) -> (v: Int, m: Int, padded: Int) {
                (36 * cin * ntStride, 36 * cout * ntStride, cin * paddedHeight * paddedWidth)
            }
        }

        /// The Winograd vector width for a layer of `tilesW` tile columns.
        public func winogradVector(tilesW: Int) -> Int {
            guard winogradFitVector else { return convVectorWidth }
            return min(convVectorWidth, [4, 8, 16].first { $0 >= tilesW } ?? 16)
        }

        public func winogradLayout(cin: Int, cout: Int, height h: Int, width w: Int) -> WinogradLayout {
            let tilesW = (w + 3) / 4, tilesH = (h + 3) / 4
            let vec = winogradVector(tilesW: tilesW)
            let tilesWPad = (tilesW + vec - 1) / vec * vec
            let rows = max(1, min(tilesH, winogradBandBudget / max(36 * (cin + cout) * tilesWPad, 1)))
            let bandVectors = rows * tilesWPad / vec
            let gemmRows = winogradFitVector ? min(winogradRows, bandVectors) : winogradRows
            let group = gemmRows * vec
            return WinogradLayout(tilesH: tilesH, tilesW: tilesW, tilesWPad: tilesWPad, bandRows: rows,
                                  ntStride: (rows * tilesWPad + group - 1) / group * group,
                                  paddedHeight: 4 * tilesH + 2, paddedWidth: 4 * tilesWPad + 4, vector: vec,
                                  gemmRows: gemmRows)
        }

        /// Floats of the direct convolution's padded input: C×(H+2)×(W+2) plus slack, since the last
        /// vector of a row may read past it and a row group may run past the last row.
        public func directScratchFloats(cin: Int, height h: Int, width w: Int) -> Int {
            cin * (h + 2) * (w + 2) + convVectorWidth + 2 + (convRows - 1) * (w + 2)
        }

        /// Image rows per band of the im2col + CLBlast convolution, and the band's im2col floats.
        public func im2colBand(cin: Int, height h: Int, width w: Int) -> (rows: Int, floats: Int) {
            let rows = max(1, min(h, im2colBudget / max(cin * 9 * w, 1)))
            return (rows, cin * 9 * rows * w)
        }

        /// The compiler options of a kernel file: its register blocking and multiply-add form.
        public func buildOptions(_ file: KernelFile, vector: Int? = nil, rows: Int? = nil) -> String {
            let muladd = fma == true ? " -DMULADD=fma" : ""
            switch file.name {
            case KernelFile.reduce.name:
                return "-DREDUCE_WG=\(reduceWorkGroup)"
            case KernelFile.convDirect.name:
                return "-DCONV_OCB=\(convOutputBlock) -DCONV_VEC=\(convVectorWidth) -DCONV_ROWS=\(convRows)" + muladd
            case KernelFile.gram.name:
                return "-DGRAM_OCB=\(gramOutputBlock) -DGRAM_VEC=\(convVectorWidth) -DGRAM_ROWS=\(gramRows)" + muladd
            case KernelFile.winograd.name:
                return "-DWG_OCB=\(winogradOutputBlock) -DWG_VEC=\(vector ?? convVectorWidth) -DWG_ROWS=\(rows ?? winogradRows)" + muladd
            default:
                return ""
            }
        }

        public static let kind = "OpenCL"
        public static let names = ["reduceWorkGroup", "reduceGroups", "im2colBudget", "path", "convOutputBlock",
                                   "convVectorWidth", "convRows", "convWorkGroup", "gramOutputBlock", "gramRows",
                                   "winogradMinChannels", "winogradBandBudget", "winogradOutputBlock", "winogradRows",
                                   "winogradGemm", "winogradFitVector", "fma"]

        /// e.g. "convVectorWidth=8,convOutputBlock=12,convRows=2,path=direct" (see TuningParameters).
        public mutating func set(_ name: String, _ value: String) throws -> Bool {
            func path(_ v: String) throws -> Path { guard let p = Path(rawValue: v) else { throw TuningValueError() }; return p }
            switch name {
            case "reduceWorkGroup": reduceWorkGroup = try tuningInt(value) { $0 & ($0 - 1) == 0 }
            case "reduceGroups": reduceGroups = try tuningInt(value)
            case "im2colBudget": im2colBudget = try tuningInt(value)
            case "path": self.path = try path(value)
            case "convOutputBlock": convOutputBlock = try tuningInt(value, 1...64)
            case "convVectorWidth": convVectorWidth = try tuningInt(value, 4...16) { [4, 8, 16].contains($0) }
            case "convRows": convRows = try tuningInt(value, 1...8)
            case "convWorkGroup": convWorkGroup = try tuningInt(value)
            case "gramOutputBlock": gramOutputBlock = try tuningInt(value, 1...32)
            case "gramRows": gramRows = try tuningInt(value, 1...8)
            case "winogradMinChannels": winogradMinChannels = value == "off" ? Int.max : try tuningInt(value)
            case "winogradBandBudget": winogradBandBudget = try tuningInt(value)
            case "winogradOutputBlock": winogradOutputBlock = try tuningInt(value, 1...64)
            case "winogradRows": winogradRows = try tuningInt(value, 1...8)
            case "winogradGemm": winogradGemm = try path(value)
            case "winogradFitVector": winogradFitVector = try tuningBool(value)
            case "fma": fma = try tuningBool(value)
            default: return false
            }
            return true
        }

        /// The accumulators of a work-item must fit in registers: 32 vectors crashed PoCL's worker threads.
        public func validate() throws {
            for (name, blocks, rows) in [("conv", convOutputBlock, convRows), ("gram", gramOutputBlock, gramRows),
                                         ("winograd", winogradOutputBlock, winogradRows)] where blocks * rows > 24 {
                throw EngineError.invalidArgument("\(name)OutputBlock × \(name)Rows must be at most 24 (got \(blocks) × \(rows))")
            }
        }
    }
    public static let parametersVariable = "NEURAL_STYLE_CL_PARAMETERS"
    /// The path in use for convolutions and Gram matrices.
    public let path: Parameters.Path
    public private(set) var parameters: Parameters

    /// Scratch buffers by slot (0: im2col or padded input; Winograd: 0 V, 1 M, 2 padded input);
    /// each grows, never shrinks.
    var scratch: [Int: CLBuffer] = [:]
    /// Transformed Winograd weights by weight storage.
    var winogradCache = WinogradCache()
    var partials: CLBuffer?
    /// CLBlast tunings applied from NEURAL_STYLE_CLBLAST_TUNING for this device.
    public private(set) var clblastTunings: [CLBlastTuning] = []
    /// dG + dGᵀ of the Gram backward, one C×C buffer per channel count, reused every iteration.
    var symmetric: [Int: Tensor] = [:]

    func symmetricScratch(_ c: Int) throws -> Tensor {
        if let t = symmetric[c] { return t }
        let t = try makeTensor(Shape(1, c, c))
        symmetric[c] = t
        return t
    }

    /// The set of defaults a device gets: a CPU device's (direct kernels, one work-item per
    /// work-group, Winograd from 64 channels) or a GPU's (CLBlast, no Winograd by default).
    public enum ParameterProfile: String, CaseIterable, Sendable { case cpu, gpu }
    /// `NEURAL_STYLE_CL_PROFILE=gpu|cpu` forces a profile whatever the device says it is, so the
    /// GPU configuration runs on PoCL and Oclgrind too.
    public static let profileVariable = "NEURAL_STYLE_CL_PROFILE"

    /// The profile for `device`: `forced`, else the environment's, else the device's type.
    public static func parameterProfile(for device: DeviceInfo, forced: ParameterProfile? = nil) throws -> ParameterProfile {
        if let f = forced { return f }
        if let text = ProcessInfo.processInfo.environment[profileVariable], !text.isEmpty {
            guard let p = ParameterProfile(rawValue: text.lowercased()) else {
                throw EngineError.invalidArgument("\(profileVariable) must be cpu or gpu (got \"\(text)\")")
            }
            return p
        }
        return device.kind == .cpu ? .cpu : .gpu
    }

    /// The profile this backend's defaults came from.
    public let parameterProfile: ParameterProfile

    /// The tuned parameters in use (`neural-style tune`), nil: the profile's defaults.
    public let tuning: TunedParameters?

    /// `tuned`: read the device's tuning file (the tuner itself measures without it).
    public init(device: DeviceInfo, profile: Bool = false, parameters: Parameters = Parameters(),
                parameterProfile forced: ParameterProfile? = nil, tuned: Bool = true) throws {
        let kind = try Self.parameterProfile(for: device, forced: forced)
        parameterProfile = kind
        var p = parameters
        // precedence: the environment's settings over the tuned file over the profile's defaults;
        // the file was measured with the device's own profile, so a forced other one skips it
        let natural: ParameterProfile = device.kind == .cpu ? .cpu : .gpu
        tuning = tuned && kind == natural ? try TunedParameters.load(for: device) : nil
        if let t = tuning { try p.apply(t.parameters) }
        context = try CLContext(device: device, profile: profile)
        if let text = ProcessInfo.processInfo.environment[Self.parametersVariable], !text.isEmpty { try p.apply(text) }
        while p.reduceWorkGroup > device.maxWorkGroupSize && p.reduceWorkGroup > 1 { p.reduceWorkGroup /= 2 }
        if let w = p.convWorkGroup { p.convWorkGroup = min(w, max(device.maxWorkGroupSize, 1)) }
        path = p.path ?? (kind == .cpu ? .direct : .clblast)
        if p.convWorkGroup == nil && kind == .cpu { p.convWorkGroup = 1 }
        if p.winogradMinChannels == nil { p.winogradMinChannels = kind == .cpu ? 64 : Int.max }
        if p.winogradGemm == nil { p.winogradGemm = path }
        if p.fma == nil { p.fma = device.fma }
        self.parameters = p
        partials = try context.allocate(bytes: 4 * p.reduceGroups)
        if let folder = ProcessInfo.processInfo.environment[CLBlastTuning.folderVariable], !folder.isEmpty {
            clblastTunings = try CLBlastTuning.load(folder: folder, device: device.name)
        } else if tuned, let folder = TunedParameters.clblastFolder(for: device), FileManager.default.fileExists(atPath: folder) {
            clblastTunings = try CLBlastTuning.load(folder: folder, device: device.name)
        }
        for t in clblastTunings { try context.apply(t) }
    }

    /// Opens the device `--device` names (nil: first GPU, else accelerator, else CPU).
    public convenience init(device request: String?, profile: Bool = false) throws {
        try self.init(device: try DeviceInfo.select(request), profile: profile)
    }

    /// `vector`, `rows`: the Winograd kernels' vector width and GEMM rows when they are not
    /// convVectorWidth and winogradRows (fitted to a small layer, see winogradLayout).
    func kernel(_ name: String, _ file: KernelFile, vector: Int? = nil, rows: Int? = nil) throws -> CLKernel {
        try context.kernel(name, in: file, options: parameters.buildOptions(file, vector: vector, rows: rows))
    }

    func scratchBuffer(_ count: Int, slot: Int = 0) throws -> CLBuffer {
        if let s = scratch[slot], s.bytes >= count * 4 { return s }
        scratch[slot] = nil
        let s = try context.allocate(bytes: count * 4)
        scratch[slot] = s
        return s
    }

    /// Launches a one-dimensional element-wise kernel over n items.
    func launch1D(_ name: String, _ file: KernelFile, _ n: Int, _ args: [KernelArg],
                  work: Profiler.Work = .none) throws {
        guard n > 0 else { return }
        try context.launch(try kernel(name, file), global: [n], args, work: work)
    }

    /// Runs a reduction kernel (its last argument slots are filled here) and sums its partials.
    func reduce(_ name: String, _ args: [KernelArg], trailing: [KernelArg], work: Profiler.Work) throws -> Double {
        let groups = parameters.reduceGroups, wg = parameters.reduceWorkGroup
        try context.launch(try kernel(name, .reduce), global: [groups * wg], local: [wg],
                           args + [.buffer(partials!)] + trailing, work: work)
        var host = [Float](repeating: 0, count: groups)
        try host.withUnsafeMutableBytes { try context.read(partials!, into: $0.baseAddress!, bytes: groups * 4) }
        var s = 0.0
        for v in host { s += Double(v) }
        return s
    }

    // MARK: memory

    public func makeTensor(_ shape: Shape) throws -> Tensor {
        let buf = try context.allocate(bytes: max(shape.count, 1) * 4)
        return Tensor(storage: CLStorage(buffer: buf, count: shape.count), shape: shape)
    }

    public func upload(_ values: [Float], to t: Tensor) throws {
        precondition(values.count == t.count, "upload of \(values.count) values into \(t.shape)")
        winogradCache.invalidate(t)
        try values.withUnsafeBytes { try context.write(t.cl, from: $0.baseAddress!, bytes: t.count * 4) }
    }

    public func download(_ t: Tensor) throws -> [Float] {
        var out = [Float](repeating: 0, count: t.count)
        try out.withUnsafeMutableBytes { try context.read(t.cl, into: $0.baseAddress!, bytes: t.count * 4) }
        return out
    }

    public func fill(_ t: Tensor, _ value: Float) throws {
        winogradCache.invalidate(t)
        try context.fill(t.cl, value: value, bytes: t.count * 4)
    }

    public func copy(_ src: Tensor, into dst: Tensor) throws {
        precondition(src.count == dst.count)
        winogradCache.invalidate(dst)
        try context.copy(from: src.cl, to: dst.cl, bytes: src.count * 4)
    }

    public func synchronize() throws { try context.finish() }

    // MARK: layers

    public func conv3x3(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) throws {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        precondition(y.shape == Shape(cout, h, w) && weight.count == cout * cin * 9)
        if parameters.usesWinograd(cin: cin, cout: cout) { return try conv3x3Winograd(x, weight: weight, bias: bias, into: y) }
        if path == .direct { return try conv3x3Direct(x, weight: weight, bias: bias, into: y) }
        let k = cin * 9
        let band = parameters.im2colBand(cin: cin, height: h, width: w), bandRows = band.rows
        let col = try scratchBuffer(band.floats)
        var r0 = 0
        while r0 < h {
            let rows = min(bandRows, h - r0)
            let n = rows * w
            try context.launch(try kernel("im2col3x3", .conv), global: [n, k],
                               [.buffer(x.cl), .buffer(col), .int(Int32(cin)), .int(Int32(h)), .int(Int32(w)),
                                .int(Int32(r0)), .int(Int32(rows))], work: .bytes(8.0 * Double(n * k)))
            if let b = bias {
                try context.launch(try kernel("bias_fill", .conv), global: [n, cout],
                                   [.buffer(y.cl), .buffer(b.cl), .int(Int32(h * w)), .int(Int32(r0 * w)),
                                    .int(Int32(n))], work: .bytes(4.0 * Double(n * cout)))
            }
            try context.sgemm(transA: false, transB: false, m: cout, n: n, k: k, alpha: 1,
                              a: weight.cl, lda: k, b: col, ldb: n, beta: bias == nil ? 0 : 1,
                              c: y.cl, cOffset: r0 * w, ldc: h * w)
            r0 += rows
        }
    }

    /// Launches a convolution kernel (direct or Winograd) with convWorkGroup work-items per group
    /// along x where that divides the launch's width, else its largest divisor that does. OpenCL
    /// 1.2 rejects a global size that is not a multiple of the local one
    /// (CL_INVALID_WORK_GROUP_SIZE): convWorkGroup=4 failed on every layer of odd width in vectors.
    func launchConv(_ kernel: CLKernel, global: [Int], _ args: [KernelArg], work: Profiler.Work) throws {
        let local = parameters.convWorkGroup.map { [greatestCommonDivisor($0, max(global[0], 1)), 1, 1] }
        try context.launch(kernel, global: global, local: local, args, work: work)
    }

    /// conv_direct.cl: pad the input, then one work-item per pixel and block of output channels.
    func conv3x3Direct(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) throws {
        let cin = x.shape.channels, h = x.shape.height, w = x.shape.width
        let cout = y.shape.channels
        let vec = parameters.convVectorWidth, ocb = parameters.convOutputBlock
        let padded = cin * (h + 2) * (w + 2)
        let rowsPer = parameters.convRows
        let floats = parameters.directScratchFloats(cin: cin, height: h, width: w)
        let xp = try scratchBuffer(floats)
        // the slack the last vectors and row groups read past the padded image is zeroed too, not
        // left as whatever the scratch held: those lanes are never stored, but Oclgrind rightly
        // reports reading them
        try context.launch(try kernel("pad_input", .convDirect), global: [w + 2, h + 2, cin],
                           [.buffer(x.cl), .buffer(xp), .int(Int32(cin)), .int(Int32(h)), .int(Int32(w)),
                            .int(Int32(floats - padded))],
                           work: .bytes(8.0 * Double(padded)))
        try launchConv(try kernel("conv3x3_direct", .convDirect), global: [(w + vec - 1) / vec, (h + rowsPer - 1) / rowsPer, (cout + ocb - 1) / ocb],
                           [.buffer(xp), .buffer(weight.cl), .buffer((bias ?? weight).cl), .buffer(y.cl),
                            .int(Int32(cin)), .int(Int32(cout)), .int(Int32(h)), .int(Int32(w)), .int(bias == nil ? 0 : 1)],
                           work: .flops(2.0 * Double(cout * cin * 9) * Double(h * w)))
    }

    public func relu(_ x: Tensor, into y: Tensor) throws {
        try launch1D("relu", .activation, x.count, [.buffer(x.cl), .buffer(y.cl), .int(Int32(x.count))],
                     work: .bytes(8.0 * Double(x.count)))
    }

    public func reluBackward(_ dy: Tensor, output y: Tensor, into dx: Tensor) throws {
        try launch1D("relu_backward", .activation, y.count,
                     [.buffer(dy.cl), .buffer(y.cl), .buffer(dx.cl), .int(Int32(y.count))],
                     work: .bytes(12.0 * Double(y.count)))
    }

    public func pool(_ kind: PoolKind, _ x: Tensor, into y: Tensor) throws {
        let s = x.shape
        precondition(y.shape == Shape(s.channels, s.height / 2, s.width / 2))
        guard y.count > 0 else { return }
        try context.launch(try kernel(kind == .max ? "maxpool2x2" : "avgpool2x2", .pool),
                           global: [s.width / 2, s.height / 2, s.channels],
                           [.buffer(x.cl), .buffer(y.cl), .int(Int32(s.channels)), .int(Int32(s.height)),
                            .int(Int32(s.width))], work: .bytes(4.0 * Double(x.count + y.count)))
    }

    public func poolBackward(_ kind: PoolKind, _ dy: Tensor, input x: Tensor, into dx: Tensor) throws {
        let s = x.shape
        precondition(dx.shape == s && dy.shape == Shape(s.channels, s.height / 2, s.width / 2))
        guard x.count > 0 else { return }
        let dims: [KernelArg] = [.int(Int32(s.channels)), .int(Int32(s.height)), .int(Int32(s.width))]
        let windows = [(s.width + 1) / 2, (s.height + 1) / 2, s.channels]
        if kind == .max {
            try context.launch(try kernel("maxpool2x2_backward", .pool), global: windows,
                               [.buffer(dy.cl), .buffer(x.cl), .buffer(dx.cl)] + dims,
                               work: .bytes(4.0 * Double(2 * x.count + dy.count)))
        } else {
            try context.launch(try kernel("avgpool2x2_backward", .pool), global: windows,
                               [.buffer(dy.cl), .buffer(dx.cl)] + dims, work: .bytes(4.0 * Double(x.count + dy.count)))
        }
    }

    /// F, or a centred copy of it in scratch.
    func gramFeatures(_ f: Tensor, centered: Bool) throws -> CLBuffer {
        guard centered else { return f.cl }
        let c = f.shape.channels, n = f.shape.plane
        let fc = try scratchBuffer(f.count)
        let wg = parameters.reduceWorkGroup
        try context.launch(try kernel("channel_center", .reduce), global: [c * wg], local: [wg],
                           [.buffer(f.cl), .buffer(fc), .int(Int32(n))], work: .bytes(12.0 * Double(f.count)))
        return fc
    }

    public func accumulateChannelSums(_ f: Tensor, scale: Float, into s: Tensor) throws {
        let c = f.shape.channels, n = f.shape.plane
        precondition(s.count == c, "channel sums of \(f.shape) into \(s.shape)")
        let wg = parameters.reduceWorkGroup
        try context.launch(try kernel("channel_sums", .reduce), global: [c * wg], local: [wg],
                           [.buffer(f.cl), .buffer(s.cl), .int(Int32(n)), .float(scale)], work: .bytes(4.0 * Double(f.count)))
    }

    public func accumulateChannelBroadcast(_ v: Tensor, scale: Float, into df: Tensor) throws {
        precondition(v.count == df.shape.channels, "channel broadcast of \(v.shape) into \(df.shape)")
        try launch1D("channel_broadcast", .reduce, df.count,
                     [.buffer(v.cl), .buffer(df.cl), .float(scale), .int(Int32(df.shape.plane)), .int(Int32(df.count))],
                     work: .bytes(8.0 * Double(df.count)))
    }

    public func gram(_ f: Tensor, centered: Bool, into g: Tensor) throws {
        let c = f.shape.channels, n = f.shape.plane
        let fp = try gramFeatures(f, centered: centered)
        if path == .direct {
            let blocks = (c + 3) / 4
            return try context.launch(try kernel("gram_direct", .gram), global: [blocks, blocks],
                                      [.buffer(fp), .buffer(g.cl), .int(Int32(c)), .int(Int32(n)), .float(1 / Float(n))],
                                      work: .flops(2.0 * Double(c * c) * Double(n)))
        }
        try context.sgemm(transA: false, transB: true, m: c, n: c, k: n, alpha: 1 / Float(n),
                          a: fp, lda: n, b: fp, ldb: n, beta: 0, c: g.cl, ldc: c)
    }

    public func accumulateGramBackward(_ dg: Tensor, features f: Tensor, centered: Bool, into df: Tensor) throws {
        let c = f.shape.channels, n = f.shape.plane
        let fp = try gramFeatures(f, centered: centered)
        let s = try symmetricScratch(c)
        try launch1D("symmetrize_sum", .gram, c * c, [.buffer(dg.cl), .buffer(s.cl), .int(Int32(c))])
        if path == .direct {
            let cols = parameters.convVectorWidth * parameters.gramRows, ocb = parameters.gramOutputBlock
            return try context.launch(try kernel("gram_backward_direct", .gram),
                                      global: [(n + cols - 1) / cols, (c + ocb - 1) / ocb],
                                      [.buffer(s.cl), .buffer(fp), .buffer(df.cl), .int(Int32(c)), .int(Int32(n)),
                                       .float(1 / Float(n))], work: .flops(2.0 * Double(c * c) * Double(n)))
        }
        try context.sgemm(transA: false, transB: false, m: c, n: n, k: c, alpha: 1 / Float(n),
                          a: s.cl, lda: c, b: fp, ldb: n, beta: 1, c: df.cl, ldc: n)
    }

    // MARK: tiles

    /// tile.cl: one work-item per dst element.
    public func crop(_ src: Tensor, top: Int, left: Int, into dst: Tensor) throws {
        let s = src.shape, d = dst.shape
        precondition(d.channels == s.channels, "crop of \(s) into \(d)")
        try launch1D("crop2d", .tile, dst.count,
                     [.buffer(src.cl), .buffer(dst.cl), .int(Int32(s.channels)), .int(Int32(s.height)),
                      .int(Int32(s.width)), .int(Int32(d.height)), .int(Int32(d.width)), .int(Int32(top)),
                      .int(Int32(left))], work: .bytes(8.0 * Double(dst.count)))
    }

    /// tile.cl: one work-item per src element; within a launch no two write the same dst element.
    public func accumulateCrop(_ src: Tensor, top: Int, left: Int, into dst: Tensor) throws {
        let s = src.shape, d = dst.shape
        precondition(d.channels == s.channels, "accumulateCrop of \(s) into \(d)")
        try launch1D("accumulate_crop2d", .tile, src.count,
                     [.buffer(src.cl), .buffer(dst.cl), .int(Int32(s.channels)), .int(Int32(s.height)),
                      .int(Int32(s.width)), .int(Int32(d.height)), .int(Int32(d.width)), .int(Int32(top)),
                      .int(Int32(left))], work: .bytes(12.0 * Double(src.count)))
    }

    /// mask.cl: one work-item per element of x.
    public func multiplyPlane(_ x: Tensor, by m: Tensor, into y: Tensor, accumulate: Bool) throws {
        precondition(m.count == x.shape.plane && y.count == x.count, "multiplyPlane of \(x.shape) by \(m.shape) into \(y.shape)")
        try launch1D("multiply_plane", .mask, x.count,
                     [.buffer(x.cl), .buffer(m.cl), .buffer(y.cl), .int(Int32(x.shape.plane)), .int(Int32(x.count)),
                      .int(accumulate ? 1 : 0)], work: .bytes((accumulate ? 12.0 : 8.0) * Double(x.count)))
    }

    // MARK: losses

    public func contentLoss(_ f: Tensor, target p: Tensor, weight: Float, accumulateGradient df: Tensor?) throws -> Double {
        precondition(f.shape == p.shape)
        let n = f.count
        let sum = try reduce("squared_difference_partials", [.buffer(f.cl), .buffer(p.cl)], trailing: [.int(Int32(n))],
                             work: .bytes(8.0 * Double(n)))
        if let df = df {
            try launch1D("scaled_difference", .loss, n,
                         [.buffer(f.cl), .buffer(p.cl), .buffer(df.cl), .float(weight * 2 / Float(n)), .int(1),
                          .int(Int32(n))], work: .bytes(16.0 * Double(n)))
        }
        return sum / Double(n)
    }

    public func styleLoss(_ g: Tensor, target a: Tensor, weight: Float, gradient dg: Tensor?) throws -> Double {
        let n = g.count
        let sum = try reduce("squared_difference_partials", [.buffer(g.cl), .buffer(a.cl)], trailing: [.int(Int32(n))],
                             work: .bytes(8.0 * Double(n)))
        if let dg = dg {
            try launch1D("scaled_difference", .loss, n,
                         [.buffer(g.cl), .buffer(a.cl), .buffer(dg.cl), .float(weight * 2 / Float(n)), .int(0),
                          .int(Int32(n))], work: .bytes(12.0 * Double(n)))
        }
        return sum / Double(n)
    }

    static func tvArgs(_ kind: TVKind) -> [KernelArg] {
        switch kind {
        case .l2: return [.int(0), .float(1), .float(0)]
        case .l1: return [.int(1), .float(1), .float(0)]
        case .power(let g): return [.int(2), .float(g), .float(g < 1 ? TVKind.epsilon : 0)]
        }
    }

    public func tvLoss(_ x: Tensor, kind: TVKind, weight: Float, accumulateGradient dx: Tensor?) throws -> Double {
        let s = x.shape
        let dims: [KernelArg] = [.int(Int32(s.channels)), .int(Int32(s.height)), .int(Int32(s.width))]
        let value = try reduce("tv_partials", [.buffer(x.cl)], trailing: dims + Self.tvArgs(kind),
                               work: .bytes(4.0 * Double(x.count)))
        if let dx = dx {
            try launch1D("tv_gradient", .loss, x.count,
                         [.buffer(x.cl), .buffer(dx.cl)] + dims + Self.tvArgs(kind) + [.float(weight)],
                         work: .bytes(8.0 * Double(x.count)))
        }
        return value
    }

    // MARK: vectors

    public func axpy(_ a: Float, _ x: Tensor, _ y: Tensor) throws {
        try launch1D("axpy", .vector, x.count, [.float(a), .buffer(x.cl), .buffer(y.cl), .int(Int32(x.count))],
                     work: .bytes(12.0 * Double(x.count)))
    }

    public func scale(_ x: Tensor, by a: Float) throws {
        try launch1D("scale", .vector, x.count, [.buffer(x.cl), .float(a), .int(Int32(x.count))],
                     work: .bytes(8.0 * Double(x.count)))
    }

    public func dot(_ x: Tensor, _ y: Tensor) throws -> Double {
        try reduce("dot_partials", [.buffer(x.cl), .buffer(y.cl)], trailing: [.int(Int32(x.count))],
                   work: .bytes(8.0 * Double(x.count)))
    }

    public func sumOfSquares(_ x: Tensor) throws -> Double {
        try reduce("sum_of_squares_partials", [.buffer(x.cl)], trailing: [.int(Int32(x.count))],
                   work: .bytes(4.0 * Double(x.count)))
    }

    /// Per-channel bounds as the kernels read them: lower[c], upper[c] at 2c, 2c + 1.
    func channelBounds(_ channels: Int, _ lower: [Float], _ upper: [Float]) throws -> Tensor {
        let bounds = (0..<channels).flatMap { [lower[$0], upper[$0]] }
        return try tensor(bounds, Shape(vector: bounds.count))
    }

    public func clamp(_ x: Tensor, lower: [Float], upper: [Float]) throws {
        let b = try channelBounds(x.shape.channels, lower, upper)
        try launch1D("clamp_channels", .vector, x.count,
                     [.buffer(x.cl), .buffer(b.cl), .int(Int32(x.shape.plane)), .int(Int32(x.count))],
                     work: .bytes(8.0 * Double(x.count)))
    }

    public func zeroOutside(_ g: Tensor, of x: Tensor, lower: [Float], upper: [Float]) throws {
        precondition(g.count == x.count)
        let b = try channelBounds(x.shape.channels, lower, upper)
        try launch1D("zero_outside_channels", .vector, x.count,
                     [.buffer(g.cl), .buffer(x.cl), .buffer(b.cl), .int(Int32(x.shape.plane)), .int(Int32(x.count))],
                     work: .bytes(8.0 * Double(x.count)))
    }

    public func adamStep(_ x: Tensor, gradient g: Tensor, m: Tensor, v: Tensor, learningRate: Float,
                         beta1: Float, beta2: Float, epsilon: Float, step t: Int) throws {
        let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
        try launch1D("adam", .vector, x.count,
                     [.buffer(x.cl), .buffer(g.cl), .buffer(m.cl), .buffer(v.cl), .float(learningRate),
                      .float(beta1), .float(beta2), .float(epsilon), .float(c1), .float(c2), .int(Int32(x.count))],
                     work: .bytes(28.0 * Double(x.count)))
    }
}

/// The largest integer that divides both `a` and `b` (both positive).
private func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}
