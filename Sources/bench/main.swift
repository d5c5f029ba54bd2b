// Benchmarks (not tests): each prints our time next to the reference's, measured in the same run.
// Subcommands are registered in BenchmarkCommand.swift files beside this one.
print("usage: bench <fbank|resample|...>")
