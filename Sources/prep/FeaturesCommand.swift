import ArgumentParser
import AudioDSP
import FeatureStore
import Foundation
import PrepKit

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "16 kHz cycles -> fixed length -> Kaldi fbank -> normalised HDF5 shards in <cache>/<feature-set>/.",
        discussion: """
        Defaults are the paper's: 8 s repeat padding, 128-bin Kaldi fbank (htk_compat, hanning, 25/10 ms), \
        AudioSet normalisation. The feature set's name ends in a hash of its options and of the ingest it \
        reads: other options never overwrite it. Rerunning with nothing changed does nothing.
        """)

    @OptionGroup var common: CacheOptions

    @Option(help: "Cycle length in seconds after padding/cutting.")
    var length: Double = 8

    @Option(help: "Padding of short cycles: repeat (the paper's: tile, cut, fade out) or zero (centred).")
    var pad: LengthFixing.Mode = .repeat

    @Option(help: "Normalisation: audioset (the paper's), none, train (training split mean/std).")
    var norm: FeatureOptions.Normalisation = .audioset

    @Option(help: "Cycles per shard.")
    var shardSize = 1024

    @Flag(help: "Compress shards (HDF5 shuffle + deflate level 4): smaller, slower to write and read.")
    var compress = false

    @Option(help: "Stored value type: float32 (exact, the paper's) or float16 (IEEE half: half the size, rounding error <= 2^-11 relative).")
    var dtype: FeatureDType = .float32

    @Option(help: "Feature set directory name under the cache (default: derived from the options).")
    var name: String?

    @Option(help: "Mel bins.") var numMelBins = 128
    @Option(help: "Frame length, ms.") var frameLength: Double = 25
    @Option(help: "Frame shift, ms.") var frameShift: Double = 10
    @Option(help: "Window: hanning, hamming, povey, rectangular, blackman.") var window: FbankOptions.WindowType = .hanning
    @Option(help: "Lowest mel frequency, Hz.") var lowFreq: Double = 20
    @Option(help: "Highest mel frequency, Hz (<= 0: offset from Nyquist).") var highFreq: Double = 0
    @Option(help: "Pre-emphasis coefficient.") var preemphasis: Double = 0.97
    @Flag(inversion: .prefixedNo, help: "Remove each frame's DC offset.") var removeDcOffset = true
    @Flag(inversion: .prefixedNo, help: "Kaldi snip_edges (frames only where they fit).") var snipEdges = true
    @Flag(inversion: .prefixedNo, help: "Round the FFT size up to a power of two.") var roundToPowerOfTwo = true
    @Flag(help: "Add a log-energy column.") var useEnergy = false
    @Flag(inversion: .prefixedNo, help: "HTK compatibility (energy column last).") var htkCompat = true
    @Flag(inversion: .prefixedNo, help: "Power spectrum (else magnitude).") var usePower = true
    @Flag(inversion: .prefixedNo, help: "Log of the mel energies.") var useLogFbank = true

    func validate() throws {
        guard length > 0 else { throw ValidationError("--length must be positive") }
        guard shardSize >= 1 else { throw ValidationError("--shard-size must be at least 1") }
        guard numMelBins >= 1 else { throw ValidationError("--num-mel-bins must be at least 1") }
    }

    func run() throws {
        try runReportingErrors {
            var options = FeatureOptions()
            options.cacheDirectory = common.cache
            options.jobs = common.jobs
            options.lockTimeout = common.wait
            options.lengthFixing = LengthFixing(length: Int((length * 16000).rounded()), mode: pad, fadeOutLength: 1000)
            options.normalisation = norm
            options.shardSize = shardSize
            options.deflateLevel = compress ? 4 : 0
            options.dtype = dtype
            options.name = name
            var fbank = FbankOptions.paper
            fbank.numMelBins = numMelBins
            fbank.frameLengthMs = frameLength
            fbank.frameShiftMs = frameShift
            fbank.windowType = window
            fbank.lowFreq = lowFreq
            fbank.highFreq = highFreq
            fbank.preemphasisCoefficient = preemphasis
            fbank.removeDCOffset = removeDcOffset
            fbank.snipEdges = snipEdges
            fbank.roundToPowerOfTwo = roundToPowerOfTwo
            fbank.useEnergy = useEnergy
            fbank.htkCompat = htkCompat
            fbank.usePower = usePower
            fbank.useLogFbank = useLogFbank
            options.fbank = fbank
            let console = Console()
            let outcome = try FeaturePipeline(options: options, console: console).run()
            console.say(outcome.summary())
        }
    }
}

extension LengthFixing.Mode: ExpressibleByArgument {}
extension FeatureOptions.Normalisation: ExpressibleByArgument {}
extension FbankOptions.WindowType: ExpressibleByArgument {}
extension FeatureDType: ExpressibleByArgument {}
