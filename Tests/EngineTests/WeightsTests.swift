import CImageIO
import Foundation
import XCTest
@testable import Engine

/// The `.nsw` weights loader (docs/weights.md), the real pretrained weights when they have
/// been fetched (`python3 tools/fetch_weights.py`; those tests skip otherwise), and a golden
/// forward pass of vgg19-normalised on both backends against an independent float64 numpy
/// computation (`tools/golden_vgg.py` → `Fixtures/vgg19_golden.json`).
///
/// Golden tolerance: every recorded quantity q of a layer with N elements and golden values
/// b (so rms = sqrt(sum_sq / N)) must satisfy
///
///     |q_swift − q_golden| ≤ tol · max(|q_golden|, scale(q)),   tol = 1e-4,
///
/// with scale = rms for each of the 16 samples, N·rms for the sum (the bound Σ|b| ≤ N·rms,
/// so a per-element error of tol·rms cannot exceed it), and 0 for the sum of squares (plain
/// relative error). The Swift side is float32 with float32 accumulation over up to 4608
/// products per output, on nine stacked convolutions; 1e-4 leaves ample room for that
/// round-off while a wrong layout, flip, padding, pooling or ReLU placement is off by O(1).
///
/// The loader-error tests need no download: they write complete random VGG files
/// themselves (magic, LE manifest length, JSON manifest, zero padding to 64, 64-byte aligned
/// tensors, CRC-32 of the payload) and then damage them.
final class WeightsTests: XCTestCase {
    static let goldenTolerance = 1e-4

    // MARK: - golden forward pass (real vgg19-normalised)

    struct Golden: Decodable {
        struct Input: Decodable {
            let shape: [Int]
            let sum: Double
            let sample_indices: [Int]
            let samples: [Double]
        }
        struct LayerRecord: Decodable {
            let name: String
            let shape: [Int]
            let sum: Double
            let sum_sq: Double
            let sample_indices: [Int]
            let samples: [Double]
        }
        let model: String
        let weights_payload_crc32: UInt32
        let input: Input
        let layers: [LayerRecord]
    }

    static var fixtureURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent("vgg19_golden.json")
    }

    /// x[c,h,w] = 100·sin(0.37·(c+1)·h + 0.21·w) + 20·cos(0.13·h·w + c) in float64 (same
    /// evaluation order as numpy in tools/golden_vgg.py), rounded to float32.
    static func goldenInput(channels: Int, height: Int, width: Int) -> [Float] {
        var x = [Float](repeating: 0, count: channels * height * width)
        for c in 0..<channels {
            for h in 0..<height {
                for w in 0..<width {
                    let (cd, hd, wd) = (Double(c), Double(h), Double(w))
                    let v = 100.0 * sin(0.37 * (cd + 1) * hd + 0.21 * wd) + 20.0 * cos(0.13 * hd * wd + cd)
                    x[(c * height + h) * width + w] = Float(v)
                }
            }
        }
        return x
    }

    func testGoldenForwardPassOnBothBackends() throws {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Self.fixtureURL))
        XCTAssertEqual(golden.model, "vgg19-normalised")
        XCTAssertEqual(golden.layers.map(\.name),
                       ["conv1_1", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"])

        // The input is independent of the weights: check it first.
        XCTAssertEqual(golden.input.shape, [3, 20, 24])
        let (C, H, W) = (golden.input.shape[0], golden.input.shape[1], golden.input.shape[2])
        let input = Self.goldenInput(channels: C, height: H, width: W)
        let inputSum = input.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(inputSum, golden.input.sum, accuracy: 1e-9 * Double(input.count) * 100, "input sum")
        for (i, b) in zip(golden.input.sample_indices, golden.input.samples) {
            XCTAssertEqual(Double(input[i]), b, accuracy: 1e-6 * max(abs(b), 1), "input[\(i)]")
        }

        let path = ModelWeights.defaultPath(model: golden.model)
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) not found; run `python3 tools/fetch_weights.py --models vgg19-normalised`")
        }
        let header = try Self.readManifest(path)
        if header["dtype"] as? String == "float16" {
            throw XCTSkip("\(path) is float16; the golden values need float32 weights "
                          + "(run `python3 tools/fetch_weights.py --models vgg19-normalised` without --float16)")
        }
        let crc = (header["payload_crc32"] as? NSNumber)?.uint32Value
        XCTAssertEqual(crc, golden.weights_payload_crc32,
                       "\(path) is not the file the fixture was computed from (payload_crc32 differs); "
                           + "refetch the weights or regenerate with `python3 tools/golden_vgg.py`")

        let weights = try ModelWeights.resolve(model: golden.model, weightsPath: nil)
        XCTAssertEqual(weights.architecture, .vgg19)

        let backends: [Backend] = [CPUBackend(), try OpenCLBackend(device: nil)]
        var report: [String] = []
        for backend in backends {
            let tag = "\(backend.kind) (\(backend.deviceName))"
            let last = try Architecture.vgg19.layerIndex("relu5_1")
            let conv11 = try Architecture.vgg19.layerIndex("conv1_1")
            let net = try VGGNetwork(weights: weights, backend: backend, pooling: .max, depth: last)
            let acts = try net.makeActivations(height: H, width: W, upTo: last, separate: [conv11])
            let x = try backend.tensor(input, Shape(C, H, W))
            try net.forward(x, into: acts, upTo: last)
            try backend.synchronize()

            var worst = 0.0
            for rec in golden.layers {
                let t = acts.outputs[try net.layerIndex(rec.name)]
                XCTAssertEqual([t.shape.channels, t.shape.height, t.shape.width], rec.shape, "\(tag) \(rec.name) shape")
                let a = try backend.download(t)
                let n = rec.shape.reduce(1, *)
                guard a.count == n else { XCTFail("\(tag) \(rec.name): \(a.count) values, want \(n)"); continue }
                let rms = (rec.sum_sq / Double(n)).squareRoot()
                XCTAssertGreaterThan(rms, 0, "\(rec.name): golden layer is all zero, the comparison would be vacuous")
                var sum = 0.0, sumSq = 0.0
                for v in a { sum += Double(v); sumSq += Double(v) * Double(v) }

                func check(_ what: String, _ got: Double, _ want: Double, scale: Double) {
                    let err = abs(got - want) / max(abs(want), scale)
                    worst = max(worst, err)
                    XCTAssertLessThanOrEqual(err, Self.goldenTolerance,
                                             "\(tag) \(rec.name) \(what): \(got) vs golden \(want)")
                }
                check("sum", sum, rec.sum, scale: Double(n) * rms)
                check("sum of squares", sumSq, rec.sum_sq, scale: 0)
                XCTAssertEqual(rec.sample_indices.count, 16)
                for (i, b) in zip(rec.sample_indices, rec.samples) {
                    check("[\(i)]", Double(a[i]), b, scale: rms)
                }
            }
            report.append("\(tag): worst normalised error \(String(format: "%.2e", worst))")
        }
        print("golden vgg19-normalised forward (tol \(Self.goldenTolerance)): " + report.joined(separator: "; "))
    }

    // MARK: - real weights: reference values (skipped when not fetched)

    static func realWeights(_ model: String) throws -> (ModelWeights, dtype: String) {
        let path = ModelWeights.defaultPath(model: model)
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) not found; run `python3 tools/fetch_weights.py --models \(model)`")
        }
        let dtype = try readManifest(path)["dtype"] as? String ?? "?"
        return (try ModelWeights.resolve(model: model, weightsPath: nil), dtype)
    }

    /// Names, channel counts and tensor sizes agree with the architecture; all values finite.
    func assertMatchesArchitecture(_ w: ModelWeights, _ arch: Architecture, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(w.architecture, arch, file: file, line: line)
        let want = arch.convolutions
        XCTAssertEqual(w.convolutions.map(\.name), want.map(\.name), file: file, line: line)
        XCTAssertEqual(w.convolutions.count, want.count, file: file, line: line)
        for (c, e) in zip(w.convolutions, want) {
            XCTAssertEqual(c.inChannels, e.inChannels, "\(c.name) in", file: file, line: line)
            XCTAssertEqual(c.outChannels, e.outChannels, "\(c.name) out", file: file, line: line)
            XCTAssertEqual(c.weight.count, e.outChannels * e.inChannels * 9, "\(c.name) weight count", file: file, line: line)
            XCTAssertEqual(c.bias.count, e.outChannels, "\(c.name) bias count", file: file, line: line)
            XCTAssertTrue(Fast.allFinite(c.weight) && Fast.allFinite(c.bias), "\(c.name) finite", file: file, line: line)
        }
    }

    static func sum(_ v: [Float]) -> Double { Fast.sum(v) }

    func testVGG19NormalisedReferenceValues() throws {
        let (w, dtype) = try Self.realWeights("vgg19-normalised")
        XCTAssertEqual(w.model, "vgg19-normalised")
        assertMatchesArchitecture(w, .vgg19)
        XCTAssertEqual(w.convolutions.count, 16)
        guard dtype == "float32" else { throw XCTSkip("reference values are for float32 files; this one is \(dtype)") }
        let first = w.convolutions[0], lastConv = w.convolutions[15]
        XCTAssertEqual(first.name, "conv1_1")
        XCTAssertEqual(lastConv.name, "conv5_4")
        XCTAssertEqual(Self.sum(first.weight), -0.140053, accuracy: 1e-4, "conv1_1 weight sum")
        XCTAssertEqual(Self.sum(first.bias), 1.579188, accuracy: 1e-4, "conv1_1 bias sum")
        XCTAssertEqual(Self.sum(lastConv.weight), -23236.79, accuracy: 1e-5 * 23236.79, "conv5_4 weight sum")
        XCTAssertEqual(Self.sum(lastConv.bias), 69.735636, accuracy: 1e-4, "conv5_4 bias sum")
    }

    func testVGG19ReferenceValues() throws {
        let (w, dtype) = try Self.realWeights("vgg19")
        XCTAssertEqual(w.model, "vgg19")
        assertMatchesArchitecture(w, .vgg19)
        guard dtype == "float32" else { throw XCTSkip("reference values are for float32 files; this one is \(dtype)") }
        let want: [Float] = [0.341195, 0.339992, -0.0448442]
        for (i, v) in want.enumerated() {
            XCTAssertEqual(w.convolutions[0].weight[i], v, accuracy: 1e-6, "vgg19 conv1_1 weight[\(i)]")
        }
    }

    func testVGG16ReferenceValues() throws {
        let (w, dtype) = try Self.realWeights("vgg16")
        XCTAssertEqual(w.model, "vgg16")
        XCTAssertEqual(w.architecture, .vgg16)
        XCTAssertEqual(w.convolutions.count, 13)
        assertMatchesArchitecture(w, .vgg16)
        guard dtype == "float32" else { throw XCTSkip("reference values are for float32 files; this one is \(dtype)") }
        let want: [Float] = [0.42947057, 0.373467, -0.06136011, 0.27476987, 0.03868078, -0.36722335,
                             -0.05746817, -0.26224968, -0.35009676]
        for (i, v) in want.enumerated() {
            XCTAssertEqual(w.convolutions[0].weight[i], v, accuracy: 1e-7, "vgg16 conv1_1 weight[0,0] #\(i)")
        }
    }

    // MARK: - writing .nsw files (docs/weights.md)

    struct NSWParts {
        var manifest: [String: Any]
        var payload: Data
    }

    /// Manifest and payload of `weights` stored as `dtype` ("float32" or "float16").
    static func nswParts(_ weights: ModelWeights, dtype: String) -> NSWParts {
        precondition(1.littleEndian == 1, "the writer assumes a little-endian host")
        var payload = Data()
        func append(_ v: [Float]) -> [String: Any] {
            payload.append(Data(count: (64 - payload.count % 64) % 64))
            let offset = payload.count
            if dtype == "float16" {
                Fast.float16Bits(v).withUnsafeBufferPointer { payload.append($0) }
            } else {
                v.withUnsafeBufferPointer { payload.append($0) }
            }
            return ["offset": offset, "bytes": payload.count - offset]
        }
        var layers: [[String: Any]] = []
        for c in weights.convolutions {
            var wt = append(c.weight), b = append(c.bias)
            wt["shape"] = [c.outChannels, c.inChannels, 3, 3]
            b["shape"] = [c.outChannels]
            layers.append(["name": c.name, "in": c.inChannels, "out": c.outChannels, "weight": wt, "bias": b])
        }
        let crc = payload.withUnsafeBytes { nsio_crc32(0, $0.baseAddress, $0.count) }
        let manifest: [String: Any] = [
            "format": "neural-style-weights", "version": 1,
            "model": weights.model, "architecture": weights.architecture.rawValue, "dtype": dtype,
            "input": ["channels": "BGR", "scale": 255, "mean": [103.939, 116.779, 123.68]] as [String: Any],
            "source": "WeightsTests (random)", "license": "test data",
            "layers": layers, "payload_bytes": payload.count, "payload_crc32": crc,
        ]
        return NSWParts(manifest: manifest, payload: payload)
    }

    /// magic, UInt64 LE manifest length, manifest, zero padding to a multiple of 64, payload.
    static func assemble(_ parts: NSWParts) throws -> Data {
        let json = try JSONSerialization.data(withJSONObject: parts.manifest, options: [.sortedKeys])
        var file = Data("NSWGHT01".utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(Data(count: (64 - file.count % 64) % 64))
        XCTAssertEqual(file.count % 64, 0)
        file.append(parts.payload)
        return file
    }

    /// Random VGG-19 (seed 11) as float32 and random VGG-16 (seed 12) as float16, made once.
    static let vgg19Random = ModelWeights.random(.vgg19, seed: 11)
    static let vgg19Parts = nswParts(vgg19Random, dtype: "float32")
    static let vgg16Random = ModelWeights.random(.vgg16, seed: 12)
    static let vgg16Parts = nswParts(vgg16Random, dtype: "float16")

    var tempDir: URL!

    override func setUpWithError() throws {
        tempDir = FileManager.default.temporaryDirectory.appendingPathComponent("ns-weights-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let d = tempDir { try? FileManager.default.removeItem(at: d) }
    }

    func write(_ data: Data, _ name: String) throws -> String {
        let url = tempDir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    /// The error message of `body`, failing the test if it does not throw.
    func message<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return String(describing: error)
        }
    }

    func assertMessage(_ msg: String, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        for p in parts {
            XCTAssertTrue(msg.contains(p), "message \"\(msg)\" should contain \"\(p)\"", file: file, line: line)
        }
    }

    static func readManifest(_ path: String) throws -> [String: Any] {
        let h = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? h.close() }
        let head = h.readData(ofLength: 16)
        guard head.count == 16, head.prefix(8) == Data("NSWGHT01".utf8) else { throw EngineError.weights("\(path): no header") }
        var m: UInt64 = 0
        for (k, b) in head.suffix(8).enumerated() { m |= UInt64(b) << (8 * UInt64(k)) }
        let json = h.readData(ofLength: Int(m))
        return try JSONSerialization.jsonObject(with: json) as? [String: Any] ?? [:]
    }

    // MARK: - loader: valid files

    /// The CRC the writer uses is standard CRC-32 (zlib / IEEE 802.3), checked against the
    /// check value and an independent bitwise implementation.
    func testCRC32IsTheStandardOne() {
        func bitwise(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                crc ^= UInt32(b)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        let check = Array("123456789".utf8)
        XCTAssertEqual(nsio_crc32(0, check, check.count), 0xCBF4_3926)
        XCTAssertEqual(bitwise(check), 0xCBF4_3926)
        var rng = SeededRandom(seed: 5)
        let bytes = (0..<5000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        XCTAssertEqual(nsio_crc32(0, bytes, bytes.count), bitwise(bytes))
    }

    func testValidFloat32FileRoundTripsExactly() throws {
        let path = try write(try Self.assemble(Self.vgg19Parts), "random19.nsw")
        for expected in [nil, Architecture.vgg19] {
            let w = try ModelWeights.load(path, expected: expected)
            XCTAssertEqual(w.model, "random")
            assertMatchesArchitecture(w, .vgg19)
            for (got, want) in zip(w.convolutions, Self.vgg19Random.convolutions) {
                XCTAssertTrue(Fast.bitwiseEqual(got.weight, want.weight), "\(got.name) weight")
                XCTAssertTrue(Fast.bitwiseEqual(got.bias, want.bias), "\(got.name) bias")
            }
        }
        // resolve with an explicit path goes through the same loader
        let r = try ModelWeights.resolve(model: "vgg19", weightsPath: path)
        XCTAssertTrue(Fast.bitwiseEqual(r.convolutions[3].weight, Self.vgg19Random.convolutions[3].weight))
    }

    func testValidFloat16FileRoundTripsToTheRoundedValues() throws {
        let path = try write(try Self.assemble(Self.vgg16Parts), "random16.nsw")
        let w = try ModelWeights.load(path, expected: .vgg16)
        XCTAssertEqual(w.convolutions.count, 13)
        assertMatchesArchitecture(w, .vgg16)
        var changed = 0
        for (got, want) in zip(w.convolutions, Self.vgg16Random.convolutions) {
            let w16 = Fast.throughFloat16(want.weight)
            XCTAssertTrue(Fast.bitwiseEqual(got.weight, w16), "\(got.name) weight")
            XCTAssertTrue(Fast.bitwiseEqual(got.bias, Fast.throughFloat16(want.bias)), "\(got.name) bias")
            changed += got.weight.count - Fast.countEqual(w16, want.weight)
        }
        XCTAssertGreaterThan(changed, 0, "float16 storage should round at least some values")
    }

    // MARK: - loader: errors

    func testTruncatedFileIsReported() throws {
        let file = try Self.assemble(Self.vgg19Parts)
        let payloadStart = file.count - Self.vgg19Parts.payload.count
        for (label, keep) in [("payload half", payloadStart + Self.vgg19Parts.payload.count / 2),
                              ("last byte", file.count - 1),
                              ("no payload", payloadStart),
                              ("inside manifest", 100)] {
            let path = try write(file.prefix(keep), "truncated.nsw")
            let msg = message { try ModelWeights.load(path, expected: .vgg19) }
            assertMessage(msg, contains: ["truncated", path, "tools/fetch_weights.py"])
            XCTAssertFalse(msg.isEmpty, label)
        }
    }

    func testFlippedPayloadByteFailsTheChecksum() throws {
        let file = try Self.assemble(Self.vgg19Parts)
        let payloadStart = file.count - Self.vgg19Parts.payload.count
        for at in [payloadStart, payloadStart + 1_234_567, file.count - 1] {
            var bad = file
            bad[at] ^= 0x10
            let path = try write(bad, "flipped.nsw")
            let msg = message { try ModelWeights.load(path, expected: .vgg19) }
            assertMessage(msg, contains: ["checksum", path, "tools/fetch_weights.py"])
        }
    }

    func testWrongArchitectureNamesBoth() throws {
        // a complete, valid VGG-16 file where VGG-19 is expected …
        let path16 = try write(try Self.assemble(Self.vgg16Parts), "random16.nsw")
        XCTAssertNoThrow(try ModelWeights.load(path16, expected: .vgg16))
        assertMessage(message { try ModelWeights.load(path16, expected: .vgg19) }, contains: ["vgg16", "vgg19", path16])
        assertMessage(message { try ModelWeights.resolve(model: "vgg19-normalised", weightsPath: path16) },
                      contains: ["vgg16", "vgg19"])
        // … and the other way round
        let path19 = try write(try Self.assemble(Self.vgg19Parts), "random19.nsw")
        assertMessage(message { try ModelWeights.load(path19, expected: .vgg16) }, contains: ["vgg16", "vgg19", path19])
        assertMessage(message { try ModelWeights.resolve(model: "vgg16", weightsPath: path19) }, contains: ["vgg16", "vgg19"])
    }

    func testNotAWeightsFile() throws {
        var rng = SeededRandom(seed: 9)
        let random = Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        // PNG signature and an IHDR chunk of a 1×1 RGB image
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A,
                        0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
                        0x90, 0x77, 0x53, 0xDE])
        for (name, data) in [("random.bin", random), ("image.png", png), ("empty.nsw", Data()),
                             ("short.nsw", Data("NSWGHT0".utf8))] {
            let path = try write(data, name)
            assertMessage(message { try ModelWeights.load(path) }, contains: ["not a neural-style weights file", path])
        }
    }

    func testMissingFileSaysHowToFetch() throws {
        let path = tempDir.appendingPathComponent("absent.nsw").path
        assertMessage(message { try ModelWeights.load(path, expected: .vgg19) },
                      contains: [path, "not found", "tools/fetch_weights.py"])
        assertMessage(message { try ModelWeights.resolve(model: "vgg16", weightsPath: path) },
                      contains: [path, "tools/fetch_weights.py"])
    }

    func testManifestProblemsAreReported() throws {
        func variant(_ change: (inout [String: Any]) -> Void) throws -> String {
            var parts = Self.vgg19Parts
            change(&parts.manifest)
            return try write(try Self.assemble(parts), "variant.nsw")
        }
        func layers(_ m: [String: Any]) -> [[String: Any]] { m["layers"] as! [[String: Any]] }
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("unknown dtype bfloat16", { $0["dtype"] = "bfloat16" }),
            ("unsupported format version", { $0["version"] = 2 }),
            ("unknown architecture \"vgg11\"", { $0["architecture"] = "vgg11" }),
            ("preprocessing", { $0["input"] = ["channels": "RGB", "scale": 255, "mean": [103.939, 116.779, 123.68]] as [String: Any] }),
            ("inconsistent with vgg19 at conv2_1", { m in
                var l = layers(m); (l[2], l[3]) = (l[3], l[2]); m["layers"] = l   // conv2_2 before conv2_1
                var l2 = layers(m); l2[2]["name"] = "conv2_1"; l2[3]["name"] = "conv2_2"; m["layers"] = l2
            }),
            ("not a complete vgg19 (15 convolutions)", { m in m["layers"] = Array(layers(m).dropLast()) }),
            ("damaged", { m in m.removeValue(forKey: "payload_crc32") }),
        ]
        for (want, change) in cases {
            let path = try variant(change)
            assertMessage(message { try ModelWeights.load(path, expected: .vgg19) }, contains: [want, path])
        }
    }

    func testUnknownModelAndLayer() {
        assertMessage(message { try ModelWeights.resolve(model: "nope", weightsPath: nil) },
                      contains: ["unknown model", "\"nope\"", "vgg19-normalised", "vgg19", "vgg16", "random"])

        let msg = message { try Architecture.vgg19.layerIndex("relu9_9") }
        assertMessage(msg, contains: ["relu9_9"] + Architecture.vgg19.layers.map(\.name))
        XCTAssertEqual(Architecture.vgg19.layers.count, 16 * 2 + 5)
        XCTAssertEqual(try Architecture.vgg19.layerIndex("conv1_1"), 0)
        XCTAssertEqual(try Architecture.vgg19.layerIndex("relu1_1"), 1)
        XCTAssertEqual(try Architecture.vgg19.layerIndex("pool5"), Architecture.vgg19.layers.count - 1)
        // conv5_4 exists only in VGG-19
        XCTAssertNoThrow(try Architecture.vgg19.layerIndex("conv5_4"))
        assertMessage(message { try Architecture.vgg16.layerIndex("conv5_4") }, contains: ["conv5_4", "vgg16", "conv5_3"])
    }

    // MARK: - --model random

    func testRandomWeightsAreDeterministicAndHeInitialised() throws {
        let a = ModelWeights.random(.vgg19, seed: 3)
        let b = ModelWeights.random(.vgg19, seed: 3)
        let c = ModelWeights.random(.vgg19, seed: 4)
        assertMatchesArchitecture(a, .vgg19)
        XCTAssertEqual(a.model, "random")
        for ((x, y), z) in zip(zip(a.convolutions, b.convolutions), c.convolutions) {
            XCTAssertTrue(Fast.bitwiseEqual(x.weight, y.weight), "\(x.name): same seed differs")
            let same = Fast.countEqual(x.weight, z.weight)
            XCTAssertLessThan(Double(same), 0.01 * Double(x.weight.count), "\(x.name): seeds 3 and 4 agree on \(same) weights")
            XCTAssertEqual(x.bias, [Float](repeating: 0, count: x.outChannels), "\(x.name): bias should be zero")
        }
        XCTAssertTrue(Fast.bitwiseEqual(try ModelWeights.resolve(model: "random", weightsPath: nil, seed: 3).convolutions[5].weight,
                                        a.convolutions[5].weight))

        // He initialisation: N(0, 2/(9·Cin)); conv3_1 has Cin = 128 and 294,912 weights.
        for conv in a.convolutions where conv.weight.count >= 10_000 || conv.name == "conv3_1" {
            let n = Double(conv.weight.count)
            let mean = Fast.sum(conv.weight) / n
            let variance = Fast.sumOfSquares(conv.weight) / n - mean * mean
            let want = (2.0 / (9.0 * Double(conv.inChannels))).squareRoot()
            XCTAssertEqual(variance.squareRoot(), want, accuracy: 0.05 * want, "\(conv.name) std")
            XCTAssertLessThan(abs(mean), 0.02 * want, "\(conv.name) mean")
        }
        let c31 = a.convolutions.first { $0.name == "conv3_1" }!
        XCTAssertEqual(c31.inChannels, 128)
    }
}

/// Loops over whole weight arrays through raw pointers: this file is compiled without
/// optimisation, where `map`/`reduce`/`allSatisfy` over 20M floats take seconds.
enum Fast {
    static func sum(_ v: [Float]) -> Double {
        v.withUnsafeBufferPointer { p in var s = 0.0; for x in p { s += Double(x) }; return s }
    }
    static func sumOfSquares(_ v: [Float]) -> Double {
        v.withUnsafeBufferPointer { p in var s = 0.0; for x in p { s += Double(x) * Double(x) }; return s }
    }
    static func allFinite(_ v: [Float]) -> Bool {
        v.withUnsafeBufferPointer { p in var ok = true; for x in p where !x.isFinite { ok = false }; return ok }
    }
    static func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
    static func countEqual(_ a: [Float], _ b: [Float]) -> Int {
        precondition(a.count == b.count)
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            var n = 0
            for i in 0..<x.count where x[i] == y[i] { n += 1 }
            return n
        } }
    }
    static func float16Bits(_ v: [Float]) -> [UInt16] {
        v.withUnsafeBufferPointer { p in
            [UInt16](unsafeUninitializedCapacity: p.count) { out, n in
                for i in 0..<p.count { out[i] = Float16(p[i]).bitPattern }
                n = p.count
            }
        }
    }
    static func throughFloat16(_ v: [Float]) -> [Float] {
        v.withUnsafeBufferPointer { p in
            [Float](unsafeUninitializedCapacity: p.count) { out, n in
                for i in 0..<p.count { out[i] = Float(Float16(p[i])) }
                n = p.count
            }
        }
    }
}
