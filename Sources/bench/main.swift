// Benchmarks (not tests): each prints our time next to the reference's, measured in the same run.
// Each lives in its own <Name>Benchmark.swift beside this file; register it here with one line.
import Foundation
import HostCPU

// First: a clear error, not SIGILL, if AudioDSP was built for a CPU this one is not.
HostCPU.startupCheck(program: "bench")

let benchmarks: [String: ([String]) throws -> Void] = [
    "fbank": FbankBenchmark.run,
    "resample": ResampleBenchmark.run,
]

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let benchmark = benchmarks[name] else {
    print("usage: bench <\(benchmarks.keys.sorted().joined(separator: "|"))> [options]")
    exit(2)
}
do {
    try benchmark(Array(arguments.dropFirst()))
} catch {
    print("bench \(name): \(error)")
    exit(1)
}
