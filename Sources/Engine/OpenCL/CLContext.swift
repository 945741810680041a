import CLKernels
import Foundation

/// Bytes allocated on a device through one context, now and at the most.
public final class DeviceMemoryCounter {
    public private(set) var current = 0
    public private(set) var peak = 0
    func add(_ n: Int) { current += n; peak = max(peak, current) }
    func remove(_ n: Int) { current -= n }
    public func resetPeak() { peak = current }
}

/// A device buffer. Freed when the last reference goes.
public final class CLBuffer {
    let handle: OpaquePointer
    public let bytes: Int
    let counter: DeviceMemoryCounter
    init(handle: OpaquePointer, bytes: Int, counter: DeviceMemoryCounter) {
        self.handle = handle
        self.bytes = bytes
        self.counter = counter
        counter.add(bytes)
    }
    deinit {
        ns_buffer_release(handle)
        counter.remove(bytes)
    }
}

/// A compiled kernel, with its name kept for profiling.
public final class CLKernel {
    let handle: OpaquePointer
    public let name: String
    init(handle: OpaquePointer, name: String) { self.handle = handle; self.name = name }
    deinit { ns_kernel_release(handle) }
}

/// One argument of a kernel launch.
public enum KernelArg {
    case buffer(CLBuffer)
    case int(Int32)
    case float(Float)
    case local(Int)   // bytes of local memory
}

/// Context + device + in-order queue. Programs are built once per source and cached.
public final class CLContext {
    let handle: OpaquePointer
    public let device: DeviceInfo
    public let profiler: Profiler?
    public let memory = DeviceMemoryCounter()
    private var programs: [String: OpaquePointer] = [:]
    private var kernels: [String: CLKernel] = [:]

    /// Opens `device`. With `profile`, every launch is timed with events.
    public init(device: DeviceInfo, profile: Bool = false) throws {
        var ctx: OpaquePointer?
        try clCall { ns_context_create(UInt32(device.index), profile ? 1 : 0, &ctx, $0) }
        handle = ctx!
        self.device = device
        profiler = profile ? Profiler() : nil
    }

    deinit {
        kernels.removeAll()
        for p in programs.values { ns_program_release(p) }
        ns_context_release(handle)
    }

    // MARK: buffers

    public func allocate(bytes: Int) throws -> CLBuffer {
        var buf: OpaquePointer?
        do {
            try clCall { ns_buffer_create(handle, UInt64(bytes), &buf, $0) }
        } catch let e as OpenCLError where e.isOutOfMemory {
            throw EngineError.outOfMemory(e.message)
        }
        return CLBuffer(handle: buf!, bytes: bytes, counter: memory)
    }

    public func write(_ buffer: CLBuffer, from pointer: UnsafeRawPointer, bytes: Int, offset: Int = 0) throws {
        try clCall { ns_buffer_write(handle, buffer.handle, UInt64(offset), UInt64(bytes), pointer, $0) }
    }

    public func read(_ buffer: CLBuffer, into pointer: UnsafeMutableRawPointer, bytes: Int, offset: Int = 0) throws {
        try clCall { ns_buffer_read(handle, buffer.handle, UInt64(offset), UInt64(bytes), pointer, $0) }
    }

    public func copy(from src: CLBuffer, to dst: CLBuffer, bytes: Int, srcOffset: Int = 0, dstOffset: Int = 0) throws {
        try clCall {
            ns_buffer_copy(handle, src.handle, dst.handle, UInt64(srcOffset), UInt64(dstOffset), UInt64(bytes), $0)
        }
    }

    public func fill(_ buffer: CLBuffer, value: Float, bytes: Int, offset: Int = 0) throws {
        try clCall { ns_buffer_fill_f32(handle, buffer.handle, value, UInt64(offset), UInt64(bytes), $0) }
    }

    public func finish() throws { try clCall { ns_finish(handle, $0) } }

    // MARK: programs and kernels

    /// Builds (once per context) the program for a kernel source file and returns the named kernel.
    public func kernel(_ name: String, in file: KernelFile, options: String = "") throws -> CLKernel {
        let key = file.name + "|" + options + "|" + name
        if let k = kernels[key] { return k }
        let program = try program(file, options: options)
        var k: OpaquePointer?
        try clCall { ns_kernel_create(program, name, &k, $0) }
        let kernel = CLKernel(handle: k!, name: name)
        kernels[key] = kernel
        return kernel
    }

    func program(_ file: KernelFile, options: String) throws -> OpaquePointer {
        let key = file.name + "|" + options
        if let p = programs[key] { return p }
        var prog: OpaquePointer?
        var log: UnsafeMutablePointer<CChar>?
        var err = ns_error()
        let rc = ns_program_build(handle, file.source, "-cl-std=CL1.2 " + options, &prog, &log, &err)
        if rc != 0 {
            let text = log.map { String(cString: $0) } ?? ""
            ns_free(log)
            throw OpenCLError(code: rc, message: "kernels/\(file.name): \(errorMessage(&err))", buildLog: text)
        }
        programs[key] = prog!
        return prog!
    }

    /// Launches `kernel` over `global` work-items (1–3 dimensions).
    public func launch(_ kernel: CLKernel, global: [Int], local: [Int]? = nil, _ args: [KernelArg],
                       work: Profiler.Work = .none) throws {
        for (i, arg) in args.enumerated() {
            let idx = UInt32(i)
            switch arg {
            case .buffer(let b): try clCall { ns_kernel_set_buffer(kernel.handle, idx, b.handle, $0) }
            case .int(var v): try clCall { ns_kernel_set_arg(kernel.handle, idx, 4, &v, $0) }
            case .float(var v): try clCall { ns_kernel_set_arg(kernel.handle, idx, 4, &v, $0) }
            case .local(let n): try clCall { ns_kernel_set_arg(kernel.handle, idx, n, nil, $0) }
            }
        }
        let g = global.map { max($0, 1) }
        var event: OpaquePointer?
        do {
            try withEventSlot(&event) { ev in
                try g.withUnsafeBufferPointer { gp in
                    if let local = local {
                        try local.withUnsafeBufferPointer { lp in
                            try clCall { ns_kernel_enqueue(handle, kernel.handle, UInt32(g.count), gp.baseAddress, lp.baseAddress, ev, $0) }
                        }
                    } else {
                        try clCall { ns_kernel_enqueue(handle, kernel.handle, UInt32(g.count), gp.baseAddress, nil, ev, $0) }
                    }
                }
            }
        } catch let e as OpenCLError where e.isOutOfMemory {
            throw EngineError.outOfMemory(e.message)
        }
        if let event = event { profiler?.record(kernel.name, event: event, work: work) }
    }

    /// Passes a slot for the launch's event only when profiling (events cost time otherwise).
    private func withEventSlot(_ event: inout OpaquePointer?,
                               _ body: (UnsafeMutablePointer<OpaquePointer?>?) throws -> Void) rethrows {
        let wanted = profiler != nil
        try withUnsafeMutablePointer(to: &event) { try body(wanted ? $0 : nil) }
    }

    /// Runs a CLBlast call, turning out-of-memory into the engine's error and profiling its event.
    private func clblast(_ name: String, flops: Double,
                         _ call: (UnsafeMutablePointer<OpaquePointer?>?, UnsafeMutablePointer<ns_error>) -> Int32) throws {
        var event: OpaquePointer?
        do {
            try withEventSlot(&event) { ev in try clCall { call(ev, $0) } }
        } catch let e as OpenCLError where e.isOutOfMemory {
            throw EngineError.outOfMemory(e.message)
        }
        if let event = event { profiler?.record(name, event: event, work: .flops(flops)) }
    }

    /// Row-major SGEMM through CLBlast: C = alpha·op(A)·op(B) + beta·C.
    public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: CLBuffer, aOffset: Int = 0, lda: Int, b: CLBuffer, bOffset: Int = 0, ldb: Int,
                      beta: Float, c: CLBuffer, cOffset: Int = 0, ldc: Int) throws {
        try clblast("clblast_sgemm", flops: 2.0 * Double(m) * Double(n) * Double(k)) { ev, err in
            ns_sgemm(handle, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.handle, aOffset, lda,
                     b.handle, bOffset, ldb, beta, c.handle, cOffset, ldc, ev, err)
        }
    }

    /// `batch` row-major SGEMMs in one CLBlast launch; operand i starts at offset + i·stride floats.
    public func sgemmStridedBatched(m: Int, n: Int, k: Int, alpha: Float,
                                    a: CLBuffer, aOffset: Int = 0, lda: Int, aStride: Int,
                                    b: CLBuffer, bOffset: Int = 0, ldb: Int, bStride: Int,
                                    beta: Float, c: CLBuffer, cOffset: Int = 0, ldc: Int, cStride: Int,
                                    batch: Int) throws {
        try clblast("clblast_sgemm_batched", flops: 2.0 * Double(m) * Double(n) * Double(k) * Double(batch)) { ev, err in
            ns_sgemm_strided_batched(handle, m, n, k, alpha, a.handle, aOffset, lda, aStride, b.handle, bOffset, ldb,
                                     bStride, beta, c.handle, cOffset, ldc, cStride, batch, ev, err)
        }
    }
}
