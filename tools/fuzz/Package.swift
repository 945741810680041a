// swift-tools-version:5.9
// libFuzzer harness for ModelWeights.load (the .nsw reader). Depends on the repository's root
// package by path, so the Engine module is built from Sources/ exactly as the CLI uses it
// (including the root package's own unsafeFlags, which SwiftPM allows for a local dependency).
// Built and run by tools/fuzz.sh; see tools/fuzz/README.md.
import PackageDescription

let package = Package(
    name: "neural-style-fuzz",
    dependencies: [.package(name: "neural-style", path: "../..")],
    targets: [
        .executableTarget(
            name: "FuzzWeights",
            dependencies: [.product(name: "Engine", package: "neural-style")],
            // libFuzzer supplies main(); the harness only defines LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
