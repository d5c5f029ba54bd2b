import ArgumentParser
import AudioDSP
import Foundation
import HostCPU
import PrepKit

@main
struct Prep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prep",
        abstract: "ICBHI 2017 -> 16 kHz breathing cycles -> Kaldi fbank HDF5 feature shards (Patch-Mix CL preprocessing).",
        version: "prep \(ToolVersion.current) (\(HostCPU.dspTargetDescription))",
        subcommands: [IngestCommand.self, FeaturesCommand.self, VerifyCommand.self, SynthCommand.self, ShowCommand.self, StatsCommand.self])

    /// A write past the file-size limit (`ulimit -f`) must fail with EFBIG and take the error
    /// path (one clear message, temp files removed), not kill the process with SIGXFSZ.
    static func main() {
        // First: a clear error, not SIGILL, if AudioDSP was built for a CPU this one is not.
        HostCPU.startupCheck(program: "prep")
        signal(SIGXFSZ, SIG_IGN)
        main(nil)
    }
}

/// Options every stage shares: where the cache and the manifests live, and how many threads.
struct CacheOptions: ParsableArguments {
    /// The defaults are the library's.
    private static let defaults = IngestOptions(datasetDirectory: "")

    @Option(name: .long, help: "Cache directory (cycle audio, feature sets).")
    var cache = Self.defaults.cacheDirectory

    @Option(name: .long, help: "Directory for recordings.csv and cycles.csv.")
    var manifests = Self.defaults.manifestDirectory

    @Option(name: .long, help: "Worker threads (default: all cores). Output is identical for any value.")
    var jobs = Self.defaults.jobs

    @Option(name: .long, help: "Seconds to wait for another run holding the cache lock (default: refuse at once).")
    var wait = Self.defaults.lockTimeout
    // No rules here: each command checks these values with its library options' `validate()`.
}

extension ResamplerKind: ExpressibleByArgument {}

/// Runs a stage; known failures print one clear line and exit non-zero, never a stack trace.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as PrepError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    } catch let error as CleanExit {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
