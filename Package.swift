// swift-tools-version:6.0
import Foundation
import PackageDescription

/// System C libraries, each behind a tiny system-library target found through pkg-config.
func systemLibrary(_ name: String, pkg: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkg, providers: [.apt([apt])])
}

/// libtorch for the `CTorch` bridge (the trainer). Default: Debian's `libtorch-dev` (headers in
/// /usr/include, libraries on the default linker path). To build against another libtorch,
/// for example a CUDA build, set `LIBTORCH_DIR` to an unpacked libtorch distribution or a
/// PyPI wheel's `torch/` folder (`include/`, `lib/`): `LIBTORCH_DIR=/opt/libtorch swift build`.
/// Its TorchConfig.cmake decides the C++ standard (libtorch 2.10+ asks for C++20) and the
/// libstdc++ ABI (old pre-cxx11 builds say `_GLIBCXX_USE_CXX11_ABI=0`); `LIBTORCH_CXX11_ABI=0|1`
/// overrides the ABI.
func libtorchTarget() -> Target {
    let dir = Context.environment["LIBTORCH_DIR"].flatMap { $0.isEmpty ? nil : $0 }
    let include = dir.map { "\($0)/include" } ?? "/usr/include"
    let torchConfig = dir.flatMap { try? String(contentsOfFile: "\($0)/share/cmake/Torch/TorchConfig.cmake", encoding: .utf8) } ?? ""
    let standard = torchConfig.contains("cxx_std_20") ? "-std=c++20" : "-std=c++17"
    var cxx = [standard, "-I\(include)", "-I\(include)/torch/csrc/api/include", "-Wno-deprecated-declarations"]
    guard let dir else {
        let link: [LinkerSetting] = [.linkedLibrary("torch"), .linkedLibrary("torch_cpu"), .linkedLibrary("c10")]
        return .target(name: "CTorch", cxxSettings: [.unsafeFlags(cxx)], linkerSettings: link)
    }
    let abi = Context.environment["LIBTORCH_CXX11_ABI"].flatMap { $0.isEmpty ? nil : $0 }
        ?? (torchConfig.contains("_GLIBCXX_USE_CXX11_ABI=0") ? "0" : "1")
    cxx.append("-D_GLIBCXX_USE_CXX11_ABI=\(abi)")
    // The libraries by path, not -l: other targets' pkg-config flags put -L/usr/lib/<triplet>
    // on the same link line, where Debian's libtorch would win the search.
    var flags = ["torch", "torch_cpu", "c10"].flatMap { ["-Xlinker", "\(dir)/lib/lib\($0).so"] }
    flags += ["-Xlinker", "-rpath", "-Xlinker", "\(dir)/lib"]
    if FileManager.default.fileExists(atPath: "\(dir)/lib/libtorch_cuda.so") {
        // Linked although no symbol is referenced: loading it registers the CUDA backend.
        flags += ["-Xlinker", "--no-as-needed", "-Xlinker", "\(dir)/lib/libtorch_cuda.so",
                  "-Xlinker", "\(dir)/lib/libc10_cuda.so", "-Xlinker", "--as-needed"]
    }
    return .target(name: "CTorch", cxxSettings: [.unsafeFlags(cxx)], linkerSettings: [.unsafeFlags(flags)])
}

/// The CPU the `AudioDSP` module is compiled for: "haswell" or "generic" (x86-64 baseline).
/// Why: its fbank kernels are SIMD8<Float> loops; with `-target-cpu haswell` each becomes one
/// AVX op, ~10% less CPU for all of `prep features`, and the features stay bit-identical
/// (Swift never contracts a*b+c into FMA on its own). Only AudioDSP gets it, and only when this
/// machine could run it: x86_64 Linux whose /proc/cpuinfo has every flag below (the ones haswell
/// turns on that code can use). `RESPCACHE_DSP_CPU=generic` forces the portable build (e.g. for
/// a cluster with older nodes), `RESPCACHE_DSP_CPU=haswell` forces haswell. The binaries refuse
/// to start on a CPU without these flags (`HostCPU`, which keeps the same list) instead of SIGILL.
/// Cross-compiling: this looks at the build machine, so set RESPCACHE_DSP_CPU=generic there.
func dspTargetCPU() -> String {
    switch Context.environment["RESPCACHE_DSP_CPU"] ?? "" {
    case "generic": return "generic"
    case "haswell": return "haswell"
    case "": break
    case let other: fatalError("RESPCACHE_DSP_CPU=\(other): expected generic or haswell")
    }
    #if os(Linux) && arch(x86_64)
    let haswellFlags: Set<Substring> = ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm", "popcnt", "sse4_2"]
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let flagsLine = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }
    let flags = Set(flagsLine.map { $0.split(separator: ":", maxSplits: 1).last ?? "" }.map { $0.split(separator: " ") } ?? [])
    return haswellFlags.isSubset(of: flags) ? "haswell" : "generic"
    #else
    return "generic"
    #endif
}
let dspHaswell = dspTargetCPU() == "haswell"

let package = Package(
    name: "RespiratoryCache",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "prep", targets: ["prep"]),
        .executable(name: "train", targets: ["train"]),
        .executable(name: "predict", targets: ["predict"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // SHA-256 of inputs and shards (BoringSSL's SHA-NI code: hashing must not be the bottleneck).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        systemLibrary("CSndFile", pkg: "sndfile", apt: "libsndfile1-dev"),
        systemLibrary("CSampleRate", pkg: "samplerate", apt: "libsamplerate0-dev"),
        systemLibrary("CFFTW", pkg: "fftw3f", apt: "libfftw3-dev"),
        systemLibrary("CHDF5", pkg: "hdf5", apt: "libhdf5-dev"),
        systemLibrary("CPNG", pkg: "libpng", apt: "libpng-dev"),

        // ICBHI dataset knowledge: stems, annotations, split, folds, demographics, labels.
        .target(name: "ICBHI"),
        // SPRSound knowledge: file names, the JSON annotations (three schemas), labels and the four tasks.
        .target(name: "SPRSound"),
        // Audio DSP: decoding, resampling, fades and padding, Kaldi filterbank.
        .target(name: "AudioDSP", dependencies: ["CSndFile", "CSampleRate", "CFFTW", "Durability"],
                swiftSettings: dspHaswell ? [.unsafeFlags(["-target-cpu", "haswell"])] : []),
        // Which CPU AudioDSP was built for, and whether this one can run it (checked at start).
        .target(name: "HostCPU", swiftSettings: dspHaswell ? [.define("RESPCACHE_DSP_HASWELL")] : []),
        // Thin Swift wrapper over the HDF5 C library.
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        // Crash-safe files: atomic writes, background publishing, the cache lock, SHA-256.
        .target(name: "Durability", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // ICBHI manifests (recordings.csv, cycles.csv) and the cache's ingest.json.
        .target(name: "Manifests", dependencies: ["ICBHI", "Durability"]),
        // HDF5 storage: cycle audio, feature shards, index.json, and the one shard reader (FeatureSet).
        .target(name: "FeatureStore", dependencies: ["HDF5", "Durability"]),
        // Pictures without a plotting stack: PNG (libpng), colour maps, a bitmap font, fbank images.
        .target(name: "Visualization", dependencies: ["CPNG"]),
        // The `prep` stages (ingest, features, verify) as library code the CLI calls.
        .target(name: "PrepKit", dependencies: ["ICBHI", "SPRSound", "AudioDSP", "Durability", "Manifests", "FeatureStore", "Visualization"]),
        // `prep synth`: an ICBHI-shaped corpus of synthetic, label-conditioned lung sounds.
        .target(name: "Synthesis", dependencies: ["ICBHI", "SPRSound", "AudioDSP"]),
        .executableTarget(name: "prep", dependencies: [
            "PrepKit", "Synthesis", "AudioDSP", "FeatureStore", "HostCPU",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks, not tests: our timings next to the reference's in one run (`make bench`).
        .executableTarget(name: "bench", dependencies: ["AudioDSP", "HostCPU"]),

        // PyTorch .pth files (zip and legacy) read in Swift: zip directory, pickle VM, tensor data.
        .target(name: "TorchCheckpoint", dependencies: ["Durability"]),
        // The trainer: libtorch behind a C API (CTorch); data, augmentation, schedule, metrics in Swift.
        libtorchTarget(),
        .target(name: "Training", dependencies: ["CTorch", "FeatureStore", "Durability", "TorchCheckpoint"]),
        // A sweep's children die with it (Linux parent-death signal: prctl, which Swift cannot call).
        .target(name: "CProcessControl"),
        .executableTarget(name: "train", dependencies: [
            "Training", "FeatureStore", "CProcessControl", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // `predict`: a trained model on new recordings, preprocessed as its training data was (streamed).
        .target(name: "Inference", dependencies: ["Training", "PrepKit", "AudioDSP", "ICBHI", "SPRSound", "FeatureStore", "Visualization"]),
        .executableTarget(name: "predict", dependencies: [
            "Inference", "Training", "Durability", "Visualization", "HostCPU", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "ICBHITests", dependencies: ["ICBHI", "Synthesis", "TestSupport"]),
        .testTarget(name: "SPRSoundTests", dependencies: ["SPRSound"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
        .testTarget(name: "AudioDSPTests", dependencies: ["AudioDSP", "HDF5", "TestSupport"]),
        .testTarget(name: "FeatureStoreTests", dependencies: ["FeatureStore", "Durability", "Manifests", "HDF5", "ICBHI", "TestSupport"]),
        .testTarget(name: "SynthesisTests", dependencies: ["Synthesis", "ICBHI", "AudioDSP", "TestSupport"]),
        // Stage tests: the `prep` stages (ingest, features, verify) called as library code on the real sample.
        .testTarget(name: "PrepKitTests", dependencies: ["PrepKit", "FeatureStore", "AudioDSP", "ICBHI", "SPRSound", "TestSupport"]),
        // End to end: the real `prep` and `train` binaries run as processes (`make test`, not `make test-fast`).
        .testTarget(name: "EndToEndTests", dependencies: [
            "PrepKit", "HDF5", "FeatureStore", "Durability", "Manifests", "AudioDSP", "ICBHI", "Synthesis", "TestSupport",
            "Visualization", "Training", "TrainingTestSupport", "HostCPU", "prep", "train", "predict",
        ]),
        // Windowing and the streamed 16 kHz audio of `predict` (its binary's tests are in EndToEndTests).
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "AudioDSP", "TestSupport"]),
        .testTarget(name: "VisualizationTests", dependencies: ["Visualization"]),
        .testTarget(name: "HostCPUTests", dependencies: ["HostCPU"]),
        // Seeded, time-bounded fuzzing of the untrusted-input parsers (FUZZ_SECONDS, default 60).
        .testTarget(name: "FuzzTests", dependencies: ["ICBHI", "AudioDSP", "TestSupport", "Synthesis", "TorchCheckpoint"]),
        // Fixtures shared by the test targets (paths to ../shared, running the real binaries).
        .target(name: "TestSupport", path: "Sources/TestSupport"),
        // Synthetic corpora and shards, and the checkpoint fixtures, for TrainingTests and EndToEndTests.
        .target(name: "TrainingTestSupport", dependencies: ["Training", "FeatureStore", "PrepKit", "HDF5", "Durability", "TestSupport"],
                path: "Sources/TrainingTestSupport"),
        // Unit tests of the trainer as library code (the `train` binary's tests are in EndToEndTests).
        .testTarget(name: "TrainingTests", dependencies: ["Training", "HDF5", "FeatureStore", "TorchCheckpoint",
                                                          "TestSupport", "TrainingTestSupport"]),
        .testTarget(name: "TorchCheckpointTests", dependencies: ["TorchCheckpoint", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
