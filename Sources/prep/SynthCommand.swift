import ArgumentParser
import Foundation
import PrepKit
import Synthesis

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write an ICBHI-shaped corpus of SYNTHETIC lung sounds (real stems and annotations, generated audio).",
        discussion: """
        For every annotation file vendored in <metadata>/annotations, writes <stem>.txt (copied verbatim) and \
        <stem>.wav: label-conditioned synthetic audio (normal: band-limited breath noise under a breathing \
        envelope; crackles: short damped transients; wheezes: tonal partials of 100-1000 Hz; both: both) at \
        the device's rate (Litt3200 4 kHz, others 44.1 kHz) and a 16/24/32-bit depth fixed by the stem. \
        The audio is NOT the licensed ICBHI recordings; a README.txt in OUT says so. The same seed gives \
        byte-identical files for any --jobs. Feed OUT to `prep ingest`.
        """)

    @Option(help: "Output directory (created; an existing one must be empty or an earlier prep synth output).")
    var out: String

    @Option(help: "Only the first N recordings of a stratified order (both splits, all classes from N = 8 on).")
    var recordings: Int?

    /// The defaults shown in `--help` are the library's.
    private static let defaults = SynthesisOptions(outputDirectory: "", metadataDirectory: "")

    @Option(help: "Seed of the corpus.")
    var seed = Self.defaults.seed

    @Option(help: "Worker threads (default: all cores). Output is identical for any value.")
    var jobs = Self.defaults.jobs

    @Option(help: "Directory with the ICBHI metadata tables and annotations/ (default: the vendored manifests/icbhi).")
    var metadata: String?

    @Option(help: "The corpus: icbhi (default) or sprsound (docs/sprsound.md).")
    var corpus: Corpus = .icbhi

    @Option(help: "SPRSound (required): a tree of SPRSound's JSON annotation files to synthesise audio for: a checkout of SPRSound, or ../shared/sprsound/annotations here (they are not redistributed in this repository).")
    var annotations: String?

    @Flag(help: "SPRSound: a full-scale corpus (1,949 train + 355 inter + 379 intra test recordings) with the samples' event statistics.")
    var fullScale = false

    @Option(help: ArgumentHelp("Write every recording at this rate instead of its device's (cheap corpora for tests).",
                               visibility: .hidden))
    var sampleRateOverride: Int?

    /// The library's rules, checked before anything runs: a bad value is a usage error.
    func validate() throws {
        if corpus == .sprsound {
            guard recordings == nil, metadata == nil else { throw ValidationError("--recordings and --metadata are ICBHI options") }
            guard annotations != nil else {
                throw ValidationError("--corpus sprsound needs --annotations DIR: SPRSound's JSON annotation files (a checkout of its repository, or ../shared/sprsound/annotations); this repository does not redistribute them")
            }
            return
        }
        guard annotations == nil, !fullScale else { throw ValidationError("--annotations and --full-scale need --corpus sprsound") }
        do {
            _ = try options()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The command line as `SynthesisOptions`, validated.
    private func options() throws(SynthesisError) -> SynthesisOptions {
        var options = SynthesisOptions(outputDirectory: out, metadataDirectory: metadata ?? MetadataLocation.default())
        options.recordings = recordings
        options.seed = seed
        options.jobs = jobs
        options.sampleRateOverride = sampleRateOverride
        try options.validate()
        return options
    }

    func run() throws {
        if corpus == .sprsound {
            try runReportingErrors {
                var options = SPRSoundSynthesizer.Options(outputDirectory: out, annotationsDirectory: annotations ?? "")
                options.fullScale = fullScale
                options.seed = seed
                options.jobs = jobs
                if let sampleRateOverride { options.sampleRate = sampleRateOverride }
                let console = Console()
                let report = try SPRSoundSynthesizer(options: options).run { done, total in console.progress("synth", done: done, total: total) }
                console.finishProgress()
                console.say(report.summary())
            }
            return
        }
        try runReportingErrors {
            let console = Console()
            let report = try CorpusSynthesizer(options: try options()).run { done, total in
                console.progress("synth", done: done, total: total)
            }
            console.finishProgress()
            console.say(report.summary())
        }
    }
}
