// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "neural-style",
    products: [
        .executable(name: "neural-style", targets: ["CLI"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
    ],
    targets: [
        // The only code that includes <CL/cl.h> and CLBlast's C header.
        .target(
            name: "CLKernels",
            cSettings: [.define("CL_TARGET_OPENCL_VERSION", to: "120"), .unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("OpenCL"), .linkedLibrary("clblast")]
        ),
        // PNG and JPEG decoding and PNG encoding (libpng, libjpeg-turbo), with errors as values.
        .target(
            name: "CImageIO",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("z")]
        ),
        // The CPU's instruction sets (cpuid, xgetbv): the CPU backend picks its BLAS kernels from them.
        .target(name: "CCPUInfo", cSettings: [.unsafeFlags(["-O2"])]),
        // Dense optical flow (OpenCV's DIS, C++) behind a C API, with errors as values: video style transfer.
        .target(
            name: "COpticalFlow",
            cxxSettings: [.unsafeFlags(["-I/usr/include/opencv4", "-O2"])],
            linkerSettings: [
                .linkedLibrary("opencv_video"), .linkedLibrary("opencv_imgproc"), .linkedLibrary("opencv_core"),
            ]
        ),
        // OpenBLAS's CBLAS interface: the GEMM under the CPU backend's convolutions.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(
            name: "Engine",
            dependencies: ["CLKernels", "CImageIO", "CBLAS", "CCPUInfo", "COpticalFlow"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
        .executableTarget(
            name: "CLI",
            dependencies: ["Engine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine"], exclude: ["Fixtures"]),
    ]
)
