import CBLAS
import Foundation

/// How the CPU backend runs OpenBLAS: single-threaded, with the parallelism its own
/// (DispatchQueue.concurrentPerform over independent products or column blocks).
///
/// OpenBLAS's worker threads spin for a while after each call before they sleep; on a 2-core
/// machine they then compete with the Winograd transforms and the element-wise kernels that run
/// between the products. With OpenBLAS threaded, 512² iterations took 0.98–1.40 s (median 1.33 s
/// over five interleaved runs); with the 36 Winograd products spread over single-threaded calls,
/// 1.00–1.08 s (median 1.06 s). Every output element is still one call's full K-sum, so results
/// do not depend on the number of threads.
enum CPUGEMM {
    /// Makes OpenBLAS single-threaded, once per process.
    static let singleThreaded: Void = { openblas_set_num_threads(1) }()

    /// C = alpha·op(A)·B + beta·C (row-major), split into column blocks of C and B run in parallel.
    static func columns(transA: Bool = false, m: Int, n: Int, k: Int, alpha: Float,
                        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        let parts = max(1, min(n / 256, 4 * ProcessInfo.processInfo.activeProcessorCount))
        let block = ((n + parts - 1) / parts + 15) / 16 * 16
        let blocks = (n + block - 1) / block
        DispatchQueue.concurrentPerform(iterations: blocks) { i in
            let j0 = i * block, cols = min(block, n - j0)
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(cols), Int32(k),
                        alpha, a, Int32(lda), b + j0, Int32(ldb), beta, c + j0, Int32(ldc))
        }
    }
}
