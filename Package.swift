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
        // The web studio (`neural-style serve`): HTTP and WebSocket server, and SQLite for its jobs.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
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
        // The web studio: routes, job queue, SQLite store and the page (web/, embedded by tools/embed_web.py).
        .target(
            name: "Studio",
            dependencies: [
                "Engine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "CLI",
            dependencies: ["Engine", "Studio", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine"], exclude: ["Fixtures"]),
        .testTarget(
            name: "StudioTests",
            dependencies: [
                "Studio", "Engine", "CLI",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ]
)
