import CBLAS
import Foundation

/// Host memory for the CPU backend, 64-byte aligned.
final class CPUStorage: Storage {
    let pointer: UnsafeMutablePointer<Float>
    override init(count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        super.init(count: count)
    }
    deinit { pointer.deallocate() }
}

extension Tensor {
    /// The host pointer of a CPU tensor.
    @inline(__always) var cpu: UnsafeMutablePointer<Float> {
        unsafeDowncast(storage, to: CPUStorage.self).pointer
    }
}

/// The reference implementation of every operation, in Swift (OpenBLAS for GEMM-shaped work).
/// Every reduction is split into fixed chunks summed in order, so results do not depend on
/// the number of threads.
public final class CPUBackend: Backend {
    public let kind = "cpu"
    public let deviceName: String
    public let profiler: Profiler?

    /// Named tuning parameters.
    public struct Parameters: TuningParameters {
        /// Largest im2col scratch, in floats; convolutions run in row bands that fit.
        public var im2colBudget = 16 << 20
        /// Elements per chunk of element-wise work and reductions.
        public var chunk = 1 << 16
        /// Winograd convolutions (see `winogradTile`) for at least this many input and output
        /// channels (nil: always im2col + GEMM, the plainest form, which `check` uses as reference).
        public var winogradMinChannels: Int? = 64
        /// Winograd output tile m: F(m×m, 3×3) with m = 2 or 4. With m = 4, layers that would
        /// have fewer than `winogradF4MinTiles` tiles (smaller than 32×32) use m = 2, whose
        /// products are wider GEMMs there (measured: conv5_1 at 16×16, 4.3 ms with F(4×4) and
        /// 3.4 ms with F(2×2); at 32×32 F(4×4) wins).
        public var winogradTile = 4
        public var winogradF4MinTiles = 64

        /// The Winograd output tile for a layer of this size.
        public func winogradTile(height h: Int, width w: Int) -> Int {
            guard winogradTile == 4 else { return winogradTile }
            return ((h + 3) / 4) * ((w + 3) / 4) >= winogradF4MinTiles ? 4 : 2
        }
        /// Winograd works in bands of tile rows whose transformed inputs and products fit this
        /// many floats (small enough to stay in cache), but with at least `winogradMinTiles`
        /// tiles per band (wide enough for efficient GEMMs).
        public var winogradBandBudget = 2 << 20
        public var winogradMinTiles = 256
        /// GEMM + col2im for convolutions with cout · 9 ≤ cin (conv1_1's backward pass);
        /// false: im2col + GEMM.
        public var col2imForFewOutputs = true
        public init() {}

        public static let kind = "CPU"
        public static let names = ["winogradMinChannels", "winogradTile", "winogradF4MinTiles", "winogradBandBudget",
                                   "winogradMinTiles", "col2imForFewOutputs", "im2colBudget", "chunk"]

        /// e.g. "winogradTile=2,winogradMinChannels=off,im2colBudget=8388608" (see TuningParameters).
        public mutating func set(_ name: String, _ value: String) throws -> Bool {
            switch name {
            case "winogradMinChannels": winogradMinChannels = value == "off" ? nil : try tuningInt(value)
            case "winogradTile": winogradTile = try tuningInt(value, 2...4) { $0 != 3 }
            case "winogradF4MinTiles": winogradF4MinTiles = try tuningInt(value)
            case "winogradBandBudget": winogradBandBudget = try tuningInt(value)
            case "winogradMinTiles": winogradMinTiles = try tuningInt(value)
            case "col2imForFewOutputs": col2imForFewOutputs = try tuningBool(value)
            case "im2colBudget": im2colBudget = try tuningInt(value)
            case "chunk": chunk = try tuningInt(value)
            default: return false
            }
            return true
        }
    }
    public var parameters = Parameters()

    var scratch: UnsafeMutablePointer<Float>?
    var scratchCount = 0
    /// Transformed Winograd weights by weight storage.
    var winogradCache = WinogradCache()

    /// Overrides from text like "winogradMinChannels=off,im2colBudget=8388608"
    /// (the environment variable NEURAL_STYLE_CPU_PARAMETERS).
    public static let parametersVariable = "NEURAL_STYLE_CPU_PARAMETERS"

    /// Reads NEURAL_STYLE_CPU_PARAMETERS; a malformed value is ignored here (the CLI checks it
    /// first with `checkEnvironment`, so users get an error instead).
    public init(profile: Bool = false) {
        profiler = profile ? Profiler() : nil
        CPUGEMM.singleThreaded
        if let text = ProcessInfo.processInfo.environment[Self.parametersVariable] {
            var p = parameters
            if (try? p.apply(text)) != nil { parameters = p }
        }
        deviceName = "host CPU (\(ProcessInfo.processInfo.activeProcessorCount) threads, OpenBLAS \(BLASKernels.current))"
    }

    /// Throws a message naming the bad item when NEURAL_STYLE_CPU_PARAMETERS cannot be read.
    public static func checkEnvironment() throws {
        guard let text = ProcessInfo.processInfo.environment[parametersVariable] else { return }
        var p = Parameters()
        do { try p.apply(text) } catch let e as EngineError { throw EngineError.invalidArgument("\(parametersVariable): \(e)") }
    }

    deinit { scratch?.deallocate() }

    /// Scratch space reused between calls; grows, never shrinks.
    func scratchBuffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > scratchCount {
            scratch?.deallocate()
            scratch = UnsafeMutablePointer<Float>.allocate(capacity: count)
            scratchCount = count
        }
        return scratch!
    }

    @inline(__always)
    func timed<T>(_ name: String, _ work: Profiler.Work = .none, _ body: () throws -> T) rethrows -> T {
        if let p = profiler { return try p.measure(name, work: work, body) }
        return try body()
    }

    // MARK: memory

    public func makeTensor(_ shape: Shape) throws -> Tensor {
        guard shape.count >= 0, shape.count < Int(Int32.max) * 4 else {
            throw EngineError.outOfMemory("tensor \(shape) is too large for the CPU backend")
        }
        return Tensor(storage: CPUStorage(count: shape.count), shape: shape)
    }

    public func upload(_ values: [Float], to t: Tensor) throws {
        precondition(values.count == t.count, "upload of \(values.count) values into \(t.shape)")
        winogradCache.invalidate(t)
        values.withUnsafeBufferPointer { t.cpu.update(from: $0.baseAddress!, count: t.count) }
    }

    public func download(_ t: Tensor) throws -> [Float] {
        Array(UnsafeBufferPointer(start: t.cpu, count: t.count))
    }

    public func fill(_ t: Tensor, _ value: Float) throws {
        winogradCache.invalidate(t)
        t.cpu.update(repeating: value, count: t.count)
    }

    public func copy(_ src: Tensor, into dst: Tensor) throws {
        precondition(src.count == dst.count)
        winogradCache.invalidate(dst)
        dst.cpu.update(from: src.cpu, count: src.count)
    }

    public func synchronize() throws {}

    /// Runs body over [0, n) in fixed chunks, in parallel; chunk boundaries do not depend on threads.
    func parallel(_ n: Int, chunk: Int? = nil, _ body: (Range<Int>) -> Void) {
        let size = chunk ?? parameters.chunk
        let chunks = (n + size - 1) / size
        if chunks <= 1 { if n > 0 { body(0..<n) }; return }
        DispatchQueue.concurrentPerform(iterations: chunks) { k in
            body(k * size..<min(n, (k + 1) * size))
        }
    }

    /// Σ over fixed chunks of `term(range)` (each a Double partial), summed in chunk order.
    func reduce(_ n: Int, _ term: (Range<Int>) -> Double) -> Double {
        let size = parameters.chunk
        let chunks = max(1, (n + size - 1) / size)
        var partials = [Double](repeating: 0, count: chunks)
        partials.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            DispatchQueue.concurrentPerform(iterations: chunks) { k in
                base[k] = term(k * size..<min(n, (k + 1) * size))
            }
        }
        return partials.reduce(0, +)
    }
}
