import CImageIO
import Foundation

/// A run's state at an accepted optimiser step, on disk, so that a killed or preempted run goes
/// on where it was (`--checkpoint-every`, `--resume`). The video and batch commands use the same
/// file and the same `RunIdentity`.
///
/// Format (little-endian), like the `.nsw` weights:
///   "NSCKPT01", UInt64 header length, JSON header, zero padding to a multiple of 64, payload.
/// The header holds the run identity, the scale, the evaluations before this scale, the
/// optimiser's evaluations, loss terms and scalars, and each vector's name, offset and count;
/// the payload is the vectors as float32 with its CRC-32 in the header. A checkpoint is written to
/// a temporary file, fsynced and renamed, so a kill while writing leaves the previous one intact.
public struct Checkpoint {
    public let run: String
    /// Scale index (0 = coarsest) and the evaluations of the scales before it.
    public let scale: Int
    public let evaluationsBefore: Int
    public let width: Int
    public let height: Int
    public let optimizer: String
    public let state: OptimizerState

    public init(run: String, scale: Int, evaluationsBefore: Int, width: Int, height: Int, optimizer: String,
                state: OptimizerState) {
        self.run = run
        self.scale = scale
        self.evaluationsBefore = evaluationsBefore
        self.width = width
        self.height = height
        self.optimizer = optimizer
        self.state = state
    }

    /// Whether the L-BFGS history is in the file (else a resume rebuilds it and is not bit-exact).
    public var hasHistory: Bool { state.vector("s0") != nil }

    static let magic = Array("NSCKPT01".utf8)

    struct Header: Codable {
        struct Vector: Codable { let name: String; let offset: Int; let count: Int }
        let format: String
        let version: Int
        let run: String
        let scale: Int
        let evaluationsBefore: Int
        let width: Int
        let height: Int
        let optimizer: String
        let evaluations: Int
        let terms: LossTerms
        let scalars: [String: Double]
        let vectors: [Vector]
        let payloadBytes: Int
        let payloadCRC32: UInt32
    }

    /// The checkpoint beside an output: out.png → out.ckpt.
    public static func path(forOutput output: String) -> String {
        (output.lowercased().hasSuffix(".png") ? String(output.dropLast(4)) : output) + ".ckpt"
    }

    public func write(to path: String) throws {
        var payload = Data()
        var entries: [Header.Vector] = []
        for (name, values) in state.vectors {
            payload.append(Data(count: (64 - payload.count % 64) % 64))
            entries.append(.init(name: name, offset: payload.count, count: values.count))
            values.withUnsafeBufferPointer { payload.append($0) }
        }
        let crc = payload.withUnsafeBytes { nsio_crc32(0, $0.baseAddress, $0.count) }
        let header = Header(format: "neural-style-checkpoint", version: 1, run: run, scale: scale,
                            evaluationsBefore: evaluationsBefore, width: width, height: height, optimizer: optimizer,
                            evaluations: state.evaluations, terms: state.terms, scalars: state.scalars, vectors: entries,
                            payloadBytes: payload.count, payloadCRC32: crc)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let json = try enc.encode(header)
        var file = Data(Self.magic)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(Data(count: (64 - file.count % 64) % 64))
        file.append(payload)
        try AtomicFile.write(file, to: path)
    }

    /// Reads and verifies a checkpoint; any damage is an `.image`-class (bad data) error naming the file.
    public static func read(_ path: String) throws -> Checkpoint {
        func bad(_ why: String) -> EngineError {
            .image("checkpoint \(path) is \(why); delete it to start again")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EngineError.io("cannot read checkpoint \(path): \(error.localizedDescription)")
        }
        guard data.count >= 16, Array(data.prefix(8)) == magic else { throw bad("not a neural-style checkpoint") }
        let hlen = data.subdata(in: 8..<16).withUnsafeBytes { Int(clamping: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard hlen > 0, hlen <= data.count - 16 else { throw bad("truncated") }
        guard let header = try? JSONDecoder().decode(Header.self, from: data.subdata(in: 16..<(16 + hlen))),
              header.format == "neural-style-checkpoint", header.version == 1 else { throw bad("damaged (header)") }
        let start = (16 + hlen + 63) / 64 * 64
        guard start + header.payloadBytes == data.count else { throw bad("truncated") }
        let crc = data.withUnsafeBytes { nsio_crc32(0, $0.baseAddress! + start, header.payloadBytes) }
        guard crc == header.payloadCRC32 else { throw bad("corrupt (checksum mismatch)") }
        var state = OptimizerState(evaluations: header.evaluations, terms: header.terms)
        state.scalars = header.scalars
        for v in header.vectors {
            guard v.offset >= 0, v.count >= 0, v.offset % 4 == 0, v.offset + 4 * v.count <= header.payloadBytes else {
                throw bad("damaged (vector \(v.name))")
            }
            let values = data.withUnsafeBytes { raw in
                (0..<v.count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: start + v.offset + 4 * $0, as: UInt32.self).littleEndian) }
            }
            state.vectors.append((v.name, values))
        }
        guard let x = state.vector("x"), x.count == 3 * header.width * header.height else { throw bad("damaged (image)") }
        return Checkpoint(run: header.run, scale: header.scale, evaluationsBefore: header.evaluationsBefore,
                          width: header.width, height: header.height, optimizer: header.optimizer, state: state)
    }
}

/// Whole-file writes that never leave a torn file: a temporary file beside the target, fsync,
/// rename, fsync of the folder.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".\(getpid()).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw EngineError.io("cannot write \(path): \(reason(errno))") }
        var written = 0
        let ok = data.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let err = errno
        close(fd)
        guard ok else {
            unlink(tmp)
            throw EngineError.io("cannot write \(path): \(reason(err))")
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw EngineError.io("cannot write \(path): \(reason(e))")
        }
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    static func reason(_ e: Int32) -> String {
        let s = String(cString: strerror(e))
        return s.prefix(1).lowercased() + s.dropFirst()
    }
}
