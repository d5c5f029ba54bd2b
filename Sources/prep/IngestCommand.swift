import ArgumentParser
import AudioDSP
import Foundation
import PrepKit

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Annotations + recordings -> labelled 16 kHz breathing cycles, manifests and cycle audio.",
        discussion: """
        Finds every <stem>.wav/<stem>.txt pair in ICBHI-DIR, decodes (libsndfile), resamples to 16 kHz, \
        fades the whole recording and slices every annotated cycle (REFERENCE.md steps 1-4). Writes \
        <manifests>/recordings.csv, <manifests>/cycles.csv and <cache>/audio16k/<resampler>/<stem>.h5. \
        Bad items are skipped and listed; the exit status is 0 only if something valid remains.
        SPRSound (--corpus sprsound, or detected: a tree of *_json folders with JSON annotations): \
        every <stem>.json below DIR with its <stem>.wav (same folder or the sibling *_wav folder), \
        the split from the path; writes recordings.csv and events.csv (docs/sprsound.md).
        """)

    @Argument(help: "Directory with the ICBHI .wav/.txt files (e.g. ICBHI_final_database), or an SPRSound tree.")
    var icbhiDirectory: String

    @Option(help: "The corpus: icbhi or sprsound (default: detected; a tree of *_json folders with JSON files is SPRSound).")
    var corpus: Corpus?

    @OptionGroup var common: CacheOptions

    @Option(help: "16 kHz resampler: reference (torchaudio's: exact, the paper's numbers, fastest), sinc-best, sinc-medium, sinc-fastest (libsamplerate).")
    var resampler: ResamplerKind = .default

    @Option(help: "Directory with the ICBHI metadata tables (split, folds, demographics, diagnoses).")
    var metadata: String?

    @Flag(help: "Fail on any problem (skipped item or clamped cycle) and write nothing.")
    var strict = false

    /// The library's rules, checked before anything runs: a bad value is a usage error.
    func validate() throws {
        do {
            _ = try options()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The command line as `IngestOptions`, validated.
    private func options() throws(PrepError) -> IngestOptions {
        var options = IngestOptions(datasetDirectory: icbhiDirectory)
        options.cacheDirectory = common.cache
        options.manifestDirectory = common.manifests
        options.metadataDirectory = metadata ?? MetadataLocation.default()
        options.resampler = resampler
        options.jobs = common.jobs
        options.strict = strict
        options.lockTimeout = common.wait
        try options.validate()
        return options
    }

    func run() throws {
        try runReportingErrors {
            let console = Console()
            switch corpus ?? Corpus.detect(directory: icbhiDirectory) {
            case .icbhi:
                let report = try IngestPipeline(options: try options(), console: console).run()
                console.say(report.summary())
            case .sprsound:
                var sprsound = try options()
                if common.manifests == Corpus.icbhi.defaultManifestDirectory {
                    sprsound.manifestDirectory = Corpus.sprsound.defaultManifestDirectory
                }
                let report = try SPRSoundIngest(options: sprsound, console: console).run()
                console.say(report.summary())
            }
        }
    }
}

extension Corpus: ExpressibleByArgument {}
