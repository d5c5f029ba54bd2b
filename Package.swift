// swift-tools-version:6.0
import PackageDescription

/// System C libraries, each behind a tiny system-library target found through pkg-config.
func systemLibrary(_ name: String, pkg: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkg, providers: [.apt([apt])])
}

let package = Package(
    name: "RespiratoryCache",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "prep", targets: ["prep"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        systemLibrary("CSndFile", pkg: "sndfile", apt: "libsndfile1-dev"),
        systemLibrary("CSampleRate", pkg: "samplerate", apt: "libsamplerate0-dev"),
        systemLibrary("CFFTW", pkg: "fftw3f", apt: "libfftw3-dev"),
        systemLibrary("CHDF5", pkg: "hdf5", apt: "libhdf5-dev"),

        // ICBHI dataset knowledge: stems, annotations, split, folds, demographics, labels.
        .target(name: "ICBHI"),
        // Audio DSP: decoding, resampling, fades and padding, Kaldi filterbank.
        .target(name: "AudioDSP", dependencies: ["CSndFile", "CSampleRate", "CFFTW"]),
        // Thin Swift wrapper over the HDF5 C library.
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        // On-disk formats: manifests, cycle audio store, feature shards, index, hashing, atomic files.
        .target(name: "FeatureStore", dependencies: ["HDF5", "ICBHI"]),
        // The `prep` stages (ingest, features, verify) as library code the CLI calls.
        .target(name: "PrepKit", dependencies: ["ICBHI", "AudioDSP", "FeatureStore", "HDF5"]),
        .executableTarget(name: "prep", dependencies: [
            "PrepKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks, not tests: our timings next to the reference's in one run (`make bench`).
        .executableTarget(name: "bench", dependencies: ["AudioDSP", "HDF5"]),

        .testTarget(name: "ICBHITests", dependencies: ["ICBHI"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"]),
        .testTarget(name: "AudioDSPTests", dependencies: ["AudioDSP", "HDF5"]),
        .testTarget(name: "FeatureStoreTests", dependencies: ["FeatureStore", "HDF5"]),
        .testTarget(name: "PrepTests", dependencies: ["PrepKit", "HDF5", "FeatureStore"]),
    ],
    swiftLanguageModes: [.v6]
)
