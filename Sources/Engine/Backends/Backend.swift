/// One interface, two implementations: `CPUBackend` (Swift, the reference) and
/// `OpenCLBackend` (kernels in `kernels/*.cl`). Weights are fixed, so every backward
/// pass is the gradient with respect to the input only.
///
/// Conventions: feature maps are C×H×W; convolution weights are OIHW; a Gram matrix is a
/// tensor of shape 1×C×C. Functions named `…Into` overwrite their output; `accumulate…`
/// adds to it. Scalars (losses, dot products) come back to the host as Double, summed in
/// a fixed order so the same input gives the same bits every run.
public protocol Backend: AnyObject, BackendMemoryModel {
    /// "cpu" or "opencl".
    var kind: String { get }
    /// The device in words, for summaries.
    var deviceName: String { get }
    var profiler: Profiler? { get }

    // memory
    func makeTensor(_ shape: Shape) throws -> Tensor
    func upload(_ values: [Float], to t: Tensor) throws
    func download(_ t: Tensor) throws -> [Float]
    func fill(_ t: Tensor, _ value: Float) throws
    func copy(_ src: Tensor, into dst: Tensor) throws
    /// Waits for queued work (no-op on the CPU).
    func synchronize() throws

    // layers
    /// y = conv3×3(x, w) + b, stride 1, zero padding 1. w is Cout×Cin×3×3; bias may be nil.
    func conv3x3(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) throws
    /// y = max(x, 0); y may be x.
    func relu(_ x: Tensor, into y: Tensor) throws
    /// dx = dy where y > 0 else 0; dx may be dy.
    func reluBackward(_ dy: Tensor, output y: Tensor, into dx: Tensor) throws
    /// 2×2 stride-2 pooling, floor mode: an odd last row or column is dropped.
    func pool(_ kind: PoolKind, _ x: Tensor, into y: Tensor) throws
    /// Max: the gradient goes to the first maximum of each window in row-major order.
    /// Dropped rows and columns get zero.
    func poolBackward(_ kind: PoolKind, _ dy: Tensor, input x: Tensor, into dx: Tensor) throws
    /// G = F Fᵀ / (H·W) (centred: channel means subtracted first). g has shape 1×C×C.
    func gram(_ f: Tensor, centered: Bool, into g: Tensor) throws
    /// dF += (dG + dGᵀ)/(H·W) · F (F centred when `centered`).
    func accumulateGramBackward(_ dg: Tensor, features f: Tensor, centered: Bool, into df: Tensor) throws
    /// s[c] += scale·Σ_{i,j} f[c, i, j]; s holds C values (scale 1/(H·W): the channel means).
    func accumulateChannelSums(_ f: Tensor, scale: Float, into s: Tensor) throws
    /// df[c, i, j] += scale·v[c], the backward of `accumulateChannelSums`; v holds C values.
    func accumulateChannelBroadcast(_ v: Tensor, scale: Float, into df: Tensor) throws

    // tiles: offsets place the tile's (0, 0) in the image; they may be negative or overhang.
    /// dst[c, i, j] = src[c, top + i, left + j] over all of dst; positions outside src read 0
    /// (a tile's halo at the image border is zero-padded like the convolution's padding).
    /// Same channel count.
    func crop(_ src: Tensor, top: Int, left: Int, into dst: Tensor) throws
    /// dst[c, top + i, left + j] += src[c, i, j] for each src position inside dst; the rest is
    /// ignored. Same channel count.
    func accumulateCrop(_ src: Tensor, top: Int, left: Int, into dst: Tensor) throws

    /// y[c, i, j] = (accumulate ? y[c, i, j] : 0) + x[c, i, j]·m[0, i, j]: a 1×H×W weight map
    /// (a spatial mask) applied to every channel of x (C×H×W). y may be x when not accumulating.
    func multiplyPlane(_ x: Tensor, by m: Tensor, into y: Tensor, accumulate: Bool) throws

    // losses: each returns its value; with a gradient tensor, adds weight·∂L/∂input to it.
    /// L = ‖F − P‖² / (C·H·W).
    func contentLoss(_ f: Tensor, target p: Tensor, weight: Float, accumulateGradient df: Tensor?) throws -> Double
    /// L = ‖G − A‖² / C²; with dg, writes dG = weight·∂L/∂G (overwrites).
    func styleLoss(_ g: Tensor, target a: Tensor, weight: Float, gradient dg: Tensor?) throws -> Double
    func tvLoss(_ x: Tensor, kind: TVKind, weight: Float, accumulateGradient dx: Tensor?) throws -> Double

    // vectors (the optimisers')
    /// y += a·x
    func axpy(_ a: Float, _ x: Tensor, _ y: Tensor) throws
    /// x *= a
    func scale(_ x: Tensor, by a: Float) throws
    func dot(_ x: Tensor, _ y: Tensor) throws -> Double
    func sumOfSquares(_ x: Tensor) throws -> Double
    /// Clamps channel c of x to [lower[c], upper[c]].
    func clamp(_ x: Tensor, lower: [Float], upper: [Float]) throws
    /// Sets g to 0 wherever channel c of x lies outside [lower[c], upper[c]]: given the gradient
    /// of f at clamp(x), the gradient of f(clamp(x)) at x (projected L-BFGS, `LBFGS.bounds`).
    func zeroOutside(_ g: Tensor, of x: Tensor, lower: [Float], upper: [Float]) throws
    /// One Adam update of x from gradient g with moments m, v (bias-corrected with step t ≥ 1).
    func adamStep(_ x: Tensor, gradient g: Tensor, m: Tensor, v: Tensor, learningRate: Float,
                  beta1: Float, beta2: Float, epsilon: Float, step t: Int) throws
}

extension Backend {
    public func makeTensor(_ c: Int, _ h: Int, _ w: Int) throws -> Tensor { try makeTensor(Shape(c, h, w)) }

    public func tensor(_ values: [Float], _ shape: Shape) throws -> Tensor {
        let t = try makeTensor(shape)
        try upload(values, to: t)
        return t
    }

    /// The output shape of 2×2 stride-2 pooling (floor mode).
    public static func pooledShape(_ s: Shape) -> Shape { Shape(s.channels, s.height / 2, s.width / 2) }
}

/// Backward of a 3×3 same-padding convolution to its input is a convolution of dy with the
/// weights transposed (in↔out) and rotated 180°. The network prepares them once per layer.
public func flippedConvWeights(_ w: [Float], outChannels: Int, inChannels: Int) -> [Float] {
    var r = [Float](repeating: 0, count: w.count)
    for o in 0..<outChannels {
        for i in 0..<inChannels {
            for k in 0..<9 {
                r[(i * outChannels + o) * 9 + (8 - k)] = w[(o * inChannels + i) * 9 + k]
            }
        }
    }
    return r
}
