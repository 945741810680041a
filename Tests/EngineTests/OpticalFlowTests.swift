import Foundation
import XCTest
@testable import Engine

/// Optical flow for video style transfer (Ruder et al., GCPR 2016): DIS flow on a synthetic clip
/// whose true motion is known, backward warping, the reliability weights of §3.2, determinism
/// and errors as values.
///
/// The clip: 96×80 frames of a static textured background (white noise box-blurred twice) with a
/// 24×24 textured square (a sum of sinusoids, so it can be drawn at any sub-pixel position)
/// moving by a constant motion per frame, and fresh camera-like Gaussian noise σ = 3 (0…255
/// scale) added to every frame.
final class OpticalFlowTests: XCTestCase {

    // MARK: the synthetic clip

    static let width = 96, height = 80
    static let side: Float = 24
    static let noiseSigma: Float = 3
    /// The square's top-left corner in frame 0.
    static let start: (x: Float, y: Float) = (30, 26)

    /// The static background, interleaved RGB: uniform noise box-blurred twice (5 taps, both
    /// directions), then moved to mean 128 and standard deviation 35 per channel.
    static let background: [Float] = {
        var rng = SeededRandom(seed: 2016)
        let (w, h) = (width, height)
        var out = [Float](repeating: 0, count: w * h * 3)
        for c in 0..<3 {
            var v = (0..<(w * h)).map { _ in rng.uniform() }
            for _ in 0..<2 { v = boxBlur(v, width: w, height: h, radius: 2) }
            let mean = v.reduce(0, +) / Float(v.count)
            let sd = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(v.count)).squareRoot()
            for p in 0..<(w * h) { out[3 * p + c] = 128 + 35 * (v[p] - mean) / sd }
        }
        return out
    }()

    /// Mean over a (2r + 1)² box, clamped at the border.
    static func boxBlur(_ v: [Float], width w: Int, height h: Int, radius r: Int) -> [Float] {
        var rows = v, out = v
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0
                for k in -r...r { s += v[y * w + min(w - 1, max(0, x + k))] }
                rows[y * w + x] = s / Float(2 * r + 1)
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0
                for k in -r...r { s += rows[min(h - 1, max(0, y + k)) * w + x] }
                out[y * w + x] = s / Float(2 * r + 1)
            }
        }
        return out
    }

    /// The square's texture, defined at every real position (u, v) in the square: per channel,
    /// 128 + Σₖ Aₖ sin(2π (u cos θₖ + v sin θₖ) / λₖ + φₖ), six waves with λ in 6…14 px.
    struct SineTexture {
        struct Wave { let kx: Float, ky: Float, phase: Float }
        let waves: [[Wave]]  // per channel
        static let amplitude: Float = 20  // six waves: σ = 20 · √3 ≈ 35

        init(seed: UInt64) {
            var rng = SeededRandom(seed: seed)
            waves = (0..<3).map { _ in
                (0..<6).map { _ in
                    let theta = rng.uniform(0, Float.pi), lambda = rng.uniform(6, 14)
                    let k = 2 * Float.pi / lambda
                    return Wave(kx: k * cosf(theta), ky: k * sinf(theta), phase: rng.uniform(0, 2 * Float.pi))
                }
            }
        }

        func value(u: Float, v: Float, channel c: Int) -> Float {
            128 + waves[c].reduce(0) { $0 + Self.amplitude * sinf($1.kx * u + $1.ky * v + $1.phase) }
        }
    }

    static let squareTexture = SineTexture(seed: 1612)

    /// Where the square's top-left corner is in frame k.
    static func origin(frame k: Int, motion: (Float, Float)) -> (x: Float, y: Float) {
        (start.x + Float(k) * motion.0, start.y + Float(k) * motion.1)
    }

    /// Whether pixel (x, y) is drawn from the square at `o`: o ≤ (x, y) < o + side.
    static func inSquare(_ x: Int, _ y: Int, at o: (x: Float, y: Float)) -> Bool {
        let u = Float(x) - o.x, v = Float(y) - o.y
        return u >= 0 && u < side && v >= 0 && v < side
    }

    /// Whether pixel (x, y) is within `band` px of the square's edges at `o` (inside or outside).
    static func nearEdge(_ x: Int, _ y: Int, at o: (x: Float, y: Float), band: Float) -> Bool {
        let u = Float(x) - o.x, v = Float(y) - o.y
        let inOuter = u >= -band && u < side + band && v >= -band && v < side + band
        let inInner = u >= band && u < side - band && v >= band && v < side - band
        return inOuter && !inInner
    }

    /// Frame k of the clip; noise from `noiseSeed` (fresh per frame) unless `noisy` is false.
    /// Clamped to 0…255 like a camera's output.
    static func frame(_ k: Int, motion: (Float, Float), noisy: Bool = true, noiseSeed: UInt64 = 7) -> RGBImage {
        let o = origin(frame: k, motion: motion)
        var rng = SeededRandom(seed: noiseSeed &* 1000 &+ UInt64(k))
        var px = background
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                for c in 0..<3 {
                    if inSquare(x, y, at: o) {
                        px[3 * p + c] = squareTexture.value(u: Float(x) - o.x, v: Float(y) - o.y, channel: c)
                    }
                    if noisy { px[3 * p + c] += noiseSigma * rng.normal() }
                    px[3 * p + c] = min(255, max(0, px[3 * p + c]))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: px)
    }

    /// The true flow over frame `from` toward frame `to`: the square's displacement on the
    /// square's pixels in frame `from`, 0 on the background.
    static func trueFlow(from: Int, to: Int, motion: (Float, Float)) -> FlowField {
        let o = origin(frame: from, motion: motion), steps = Float(to - from)
        return FlowField(width: width, height: height) { x, y in
            inSquare(x, y, at: o) ? (steps * motion.0, steps * motion.1) : (0, 0)
        }
    }

    /// Endpoint errors |flow − truth| over pixels at least 4 px from the square's edges in both
    /// frames, split into the moving square's interior and the static background (the square is
    /// under 5% of the frame: pooled, its errors would hardly move a 95th percentile).
    struct FlowError {
        var square: [Float] = [], background: [Float] = []

        /// (mean, 95th percentile) of sorted errors.
        static func summary(_ errors: [Float]) -> (mean: Float, p95: Float) {
            let sorted = errors.sorted()
            return (sorted.reduce(0, +) / Float(sorted.count), sorted[Int(0.95 * Float(sorted.count - 1))])
        }

        var squareSummary: (mean: Float, p95: Float) { Self.summary(square) }
        var backgroundSummary: (mean: Float, p95: Float) { Self.summary(background) }
    }

    static func flowError(_ flow: FlowField, from: Int, to: Int, motion: (Float, Float)) -> FlowError {
        let truth = trueFlow(from: from, to: to, motion: motion)
        let oa = origin(frame: from, motion: motion), ob = origin(frame: to, motion: motion)
        var e = FlowError()
        for y in 0..<height {
            for x in 0..<width where !nearEdge(x, y, at: oa, band: 4) && !nearEdge(x, y, at: ob, band: 4) {
                let p = y * width + x
                let ex = flow.dx[p] - truth.dx[p], ey = flow.dy[p] - truth.dy[p]
                let error = (ex * ex + ey * ey).squareRoot()
                if inSquare(x, y, at: oa) { e.square.append(error) } else { e.background.append(error) }
            }
        }
        return e
    }

    static let motions: [(Float, Float)] = [(2, 1), (1.5, -0.5)]

    // MARK: flow accuracy

    /// DIS flow between consecutive frames, both directions, against the true motion away from
    /// the square's edges: mean endpoint error ≤ 0.5 px and 95th percentile ≤ 1 px on the
    /// square's interior, on the background, and on both together.
    func testFlowMatchesTrueMotionAwayFromEdges() throws {
        for motion in Self.motions {
            let frames = (0..<3).map { Self.frame($0, motion: motion) }
            for (a, b) in [(0, 1), (1, 0), (1, 2), (2, 1)] {
                let flow = try OpticalFlow.compute(from: frames[a], to: frames[b])
                let e = Self.flowError(flow, from: a, to: b, motion: motion)
                for (region, errors) in [("square", e.square), ("background", e.background), ("all", e.square + e.background)] {
                    let (mean, p95) = FlowError.summary(errors)
                    print("optical flow, motion \(motion) px/frame, frames \(a)→\(b), \(region): endpoint error mean \(String(format: "%.3f", mean)) px, 95th percentile \(String(format: "%.3f", p95)) px over \(errors.count) pixels")
                    XCTAssertLessThanOrEqual(mean, 0.5, "motion \(motion), frames \(a)→\(b), \(region)")
                    XCTAssertLessThanOrEqual(p95, 1.0, "motion \(motion), frames \(a)→\(b), \(region)")
                }
            }
        }
    }

    /// The error measure itself can fail: a zero flow is far off on the moving square (and
    /// right on the background).
    func testFlowErrorDetectsAWrongFlow() {
        let zero = FlowField(width: Self.width, height: Self.height, constant: 0, 0)
        let e = Self.flowError(zero, from: 0, to: 1, motion: (2, 1))
        XCTAssertGreaterThan(e.squareSummary.p95, 2)
        XCTAssertEqual(e.backgroundSummary.p95, 0)
    }

    // MARK: determinism and errors

    func testComputeIsBitIdenticalRunToRun() throws {
        let a = Self.frame(0, motion: (1.5, -0.5)), b = Self.frame(1, motion: (1.5, -0.5))
        let first = try OpticalFlow.compute(from: a, to: b)
        _ = try OpticalFlow.compute(from: b, to: a)  // another computation in between changes nothing
        let second = try OpticalFlow.compute(from: a, to: b)
        XCTAssertEqual(first.dx.map(\.bitPattern), second.dx.map(\.bitPattern))
        XCTAssertEqual(first.dy.map(\.bitPattern), second.dy.map(\.bitPattern))
        XCTAssertTrue(first.dx.contains { $0 != 0 }, "the flow is not trivially zero")
    }

    func testMismatchedSizesAreAnError() {
        let a = RGBImage(width: 32, height: 24, pixels: [Float](repeating: 100, count: 32 * 24 * 3))
        let b = RGBImage(width: 24, height: 32, pixels: [Float](repeating: 100, count: 32 * 24 * 3))
        XCTAssertThrowsError(try OpticalFlow.compute(from: a, to: b)) { error in
            guard case EngineError.invalidArgument(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("32×24") && m.contains("24×32"), m)
        }
    }

    func testEmptyFramesAreAnErrorFromTheCSide() {
        let empty = RGBImage(width: 0, height: 0, pixels: [])
        XCTAssertThrowsError(try OpticalFlow.compute(from: empty, to: empty)) { error in
            guard case EngineError.invalidArgument(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.hasPrefix("optical flow: "), m)
        }
    }

    /// Frames smaller than DIS's patches give a flow of the right size or an error, never a crash.
    func testTinyFramesGiveAFlowOrAnError() {
        for (w, h) in [(1, 1), (2, 3), (7, 5), (12, 1), (1, 12), (11, 40), (40, 11), (12, 12), (13, 12), (16, 2), (30, 4)] {
            var rng = SeededRandom(seed: UInt64(w * 100 + h))
            let a = RGBImage(width: w, height: h, pixels: rng.uniformArray(w * h * 3, 0, 255))
            let b = RGBImage(width: w, height: h, pixels: rng.uniformArray(w * h * 3, 0, 255))
            do {
                let flow = try OpticalFlow.compute(from: a, to: b)
                XCTAssertEqual(flow.dx.count, w * h)
                XCTAssertTrue(flow.dx.allSatisfy(\.isFinite) && flow.dy.allSatisfy(\.isFinite), "\(w)×\(h)")
                print("optical flow of \(w)×\(h) frames: a flow")
            } catch EngineError.image(let m) {
                print("optical flow of \(w)×\(h) frames: \(m)")
                XCTAssertTrue(m.hasPrefix("optical flow: "), m)
            } catch {
                XCTFail("\(w)×\(h): \(error)")
            }
        }
    }

    // MARK: reliability (Ruder et al. §3.2)

    /// With the true flows, the formulas mark exactly the disoccluded strip and the square's
    /// edges: 0 on every strip pixel, 1 on the background and inside the square.
    func testReliabilityOfTrueFlows() {
        for motion in Self.motions {
            let f = Self.trueFlow(from: 0, to: 1, motion: motion), b = Self.trueFlow(from: 1, to: 0, motion: motion)
            let c = OpticalFlow.reliability(forward: f, backward: b)
            let op = Self.origin(frame: 0, motion: motion), on = Self.origin(frame: 1, motion: motion)
            for y in 0..<Self.height {
                for x in 0..<Self.width {
                    let v = c.values[y * Self.width + x]
                    if Self.inSquare(x, y, at: op) && !Self.inSquare(x, y, at: on) {
                        XCTAssertEqual(v, 0, "disoccluded (\(x), \(y)), motion \(motion)")
                    } else if !Self.nearEdge(x, y, at: on, band: 2) {
                        XCTAssertEqual(v, 1, "visible (\(x), \(y)), motion \(motion)")
                    }
                }
            }
        }
    }

    /// With DIS flows on the noisy clip: 0 on most of the strip the square uncovers, 1 on most of
    /// the static background away from the square.
    func testReliabilityOfComputedFlows() throws {
        for motion in Self.motions {
            let p = Self.frame(0, motion: motion), n = Self.frame(1, motion: motion)
            let c = OpticalFlow.reliability(forward: try OpticalFlow.compute(from: p, to: n),
                                            backward: try OpticalFlow.compute(from: n, to: p))
            let op = Self.origin(frame: 0, motion: motion), on = Self.origin(frame: 1, motion: motion)
            var strip: [Float] = [], far: [Float] = []
            for y in 0..<Self.height {
                for x in 0..<Self.width {
                    let v = c.values[y * Self.width + x]
                    if Self.inSquare(x, y, at: op) && !Self.inSquare(x, y, at: on) { strip.append(v) }
                    if !Self.nearEdge(x, y, at: op, band: 8) && !Self.nearEdge(x, y, at: on, band: 8)
                        && !Self.inSquare(x, y, at: op) && !Self.inSquare(x, y, at: on) { far.append(v) }
                }
            }
            let stripZero = Float(strip.filter { $0 == 0 }.count) / Float(strip.count)
            let farOne = Float(far.filter { $0 == 1 }.count) / Float(far.count)
            print("reliability, motion \(motion): 0 on \(String(format: "%.1f", 100 * stripZero))% of the \(strip.count)-pixel disoccluded strip, 1 on \(String(format: "%.1f", 100 * farOne))% of \(far.count) background pixels")
            XCTAssertGreaterThanOrEqual(stripZero, 0.8, "motion \(motion)")
            XCTAssertGreaterThanOrEqual(farOne, 0.95, "motion \(motion)")
        }
    }

    // MARK: warping

    /// Frame p warped by the true backward flow (over n, toward p) is frame n wherever n's pixels
    /// are visible in p: exactly for an integer motion without noise, and to the noise level
    /// (RMS ≤ 1.2 · σ√2 of two independent noises) with noise. Pixels within 1 px of the square's
    /// edges in n are left out for the sub-pixel motion, where bilinear sampling mixes the
    /// square with the background.
    func testWarpingByTrueBackwardFlowReproducesTheNextFrame() {
        for motion in Self.motions {
            let integer = motion.0.rounded() == motion.0 && motion.1.rounded() == motion.1
            let b = Self.trueFlow(from: 1, to: 0, motion: motion)
            let op = Self.origin(frame: 0, motion: motion), on = Self.origin(frame: 1, motion: motion)
            for noisy in [false, true] {
                let p = Self.frame(0, motion: motion, noisy: noisy), n = Self.frame(1, motion: motion, noisy: noisy)
                let warped = p.warped(by: b)
                var sum: Double = 0, count = 0
                var largest: Float = 0
                for y in 0..<Self.height {
                    for x in 0..<Self.width {
                        if Self.inSquare(x, y, at: op) && !Self.inSquare(x, y, at: on) { continue }  // disoccluded
                        if !integer && Self.nearEdge(x, y, at: on, band: 1) { continue }
                        for ch in 0..<3 {
                            let i = 3 * (y * Self.width + x) + ch
                            let d = warped.pixels[i] - n.pixels[i]
                            sum += Double(d * d)
                            count += 1
                            largest = max(largest, abs(d))
                        }
                    }
                }
                let rms = Float((sum / Double(count)).squareRoot())
                print("warp, motion \(motion), \(noisy ? "noisy" : "noise-free"): RMS \(String(format: "%.3f", rms)), largest \(String(format: "%.2f", largest)) over \(count) samples")
                if noisy {
                    XCTAssertLessThanOrEqual(rms, 1.2 * Self.noiseSigma * Float(2).squareRoot(), "motion \(motion)")
                } else if integer {
                    XCTAssertEqual(largest, 0, "motion \(motion)")
                } else {
                    XCTAssertLessThanOrEqual(rms, 2, "motion \(motion): bilinear interpolation of the texture")
                }
            }
        }
    }

    /// The planar (C×H×W) warp and the interleaved one agree sample for sample.
    func testPlanarAndInterleavedWarpsAgree() {
        let image = Self.frame(0, motion: (2, 1))
        let flow = FlowField(width: Self.width, height: Self.height) { x, y in
            (1.25 * sinf(Float(y) / 9) - 0.5, 0.75 * cosf(Float(x) / 7))
        }
        let plane = Self.width * Self.height
        var planes = [Float](repeating: 0, count: 3 * plane)
        for p in 0..<plane { for c in 0..<3 { planes[c * plane + p] = image.pixels[3 * p + c] } }
        let warpedPlanes = OpticalFlow.warp(planes, channels: 3, width: Self.width, height: Self.height, by: flow)
        let warpedImage = image.warped(by: flow)
        for p in 0..<plane {
            for c in 0..<3 { XCTAssertEqual(warpedPlanes[c * plane + p], warpedImage.pixels[3 * p + c]) }
        }
    }

    /// Bilinear sampling of a flow, and clamping outside the frame.
    func testSampleIsBilinearAndClamped() {
        let flow = FlowField(width: 5, height: 4) { x, y in (Float(x), Float(10 * y)) }
        let (dx, dy) = flow.sample(x: 2.25, y: 1.5)
        XCTAssertEqual(dx, 2.25, accuracy: 1e-6)
        XCTAssertEqual(dy, 15, accuracy: 1e-5)
        XCTAssertEqual(flow.sample(x: -3, y: -2).0, 0)
        XCTAssertEqual(flow.sample(x: 100, y: 100).0, 4)
        XCTAssertEqual(flow.sample(x: 100, y: 100).1, 30)
        XCTAssertEqual(flow.sample(x: .nan, y: 2).0, 0)
    }
}
