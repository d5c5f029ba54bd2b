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

    /// The defaults shown in `--help` are the library's.
    private static let defaults = FeatureOptions()

    @Option(help: "Cycle length in seconds after padding/cutting.")
    var length = Self.defaults.lengthSeconds

    @Option(help: "Padding of short cycles: repeat (the paper's: tile, cut, fade out) or zero (centred).")
    var pad = Self.defaults.lengthFixing.mode

    @Option(help: "Normalisation: audioset (the paper's), none, train (training split mean/std).")
    var norm = Self.defaults.normalisation

    @Option(help: "Cycles per shard.")
    var shardSize = Self.defaults.shardSize

    @Flag(help: "Compress shards (HDF5 shuffle + deflate level \(FeatureOptions.compressedDeflateLevel)): smaller, slower to write and read.")
    var compress = Self.defaults.isCompressed

    @Option(help: "Stored value type: float32 (exact, the paper's) or float16 (IEEE half: half the size, rounding error <= 2^-11 relative).")
    var dtype = Self.defaults.dtype

    @Option(help: "Feature set directory name under the cache (default: derived from the options).")
    var name: String?

    @Option(help: "Mel bins.") var numMelBins = Self.defaults.fbank.numMelBins
    @Option(help: "Frame length, ms.") var frameLength = Self.defaults.fbank.frameLengthMs
    @Option(help: "Frame shift, ms.") var frameShift = Self.defaults.fbank.frameShiftMs
    @Option(help: "Window: hanning, hamming, povey, rectangular, blackman.") var window = Self.defaults.fbank.windowType
    @Option(help: "Lowest mel frequency, Hz.") var lowFreq = Self.defaults.fbank.lowFreq
    @Option(help: "Highest mel frequency, Hz (<= 0: offset from Nyquist).") var highFreq = Self.defaults.fbank.highFreq
    @Option(help: "Pre-emphasis coefficient.") var preemphasis = Self.defaults.fbank.preemphasisCoefficient
    @Flag(inversion: .prefixedNo, help: "Remove each frame's DC offset.") var removeDcOffset = Self.defaults.fbank.removeDCOffset
    @Flag(inversion: .prefixedNo, help: "Kaldi snip_edges (frames only where they fit).") var snipEdges = Self.defaults.fbank.snipEdges
    @Flag(inversion: .prefixedNo, help: "Round the FFT size up to a power of two.") var roundToPowerOfTwo = Self.defaults.fbank.roundToPowerOfTwo
    @Flag(help: "Add a log-energy column.") var useEnergy = Self.defaults.fbank.useEnergy
    @Flag(inversion: .prefixedNo, help: "HTK compatibility (energy column last).") var htkCompat = Self.defaults.fbank.htkCompat
    @Flag(inversion: .prefixedNo, help: "Power spectrum (else magnitude).") var usePower = Self.defaults.fbank.usePower
    @Flag(inversion: .prefixedNo, help: "Log of the mel energies.") var useLogFbank = Self.defaults.fbank.useLogFbank

    /// The library's rules, checked before anything runs: a bad value is a usage error.
    func validate() throws {
        do {
            _ = try options()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The command line as `FeatureOptions`, validated.
    private func options() throws(PrepError) -> FeatureOptions {
        var options = FeatureOptions()
        options.cacheDirectory = common.cache
        options.jobs = common.jobs
        options.lockTimeout = common.wait
        try options.setLength(seconds: length, padding: pad)
        options.normalisation = norm
        options.shardSize = shardSize
        options.isCompressed = compress
        options.dtype = dtype
        options.name = name
        options.fbank.numMelBins = numMelBins
        options.fbank.frameLengthMs = frameLength
        options.fbank.frameShiftMs = frameShift
        options.fbank.windowType = window
        options.fbank.lowFreq = lowFreq
        options.fbank.highFreq = highFreq
        options.fbank.preemphasisCoefficient = preemphasis
        options.fbank.removeDCOffset = removeDcOffset
        options.fbank.snipEdges = snipEdges
        options.fbank.roundToPowerOfTwo = roundToPowerOfTwo
        options.fbank.useEnergy = useEnergy
        options.fbank.htkCompat = htkCompat
        options.fbank.usePower = usePower
        options.fbank.useLogFbank = useLogFbank
        try options.validate()
        return options
    }

    func run() throws {
        try runReportingErrors {
            let console = Console()
            let outcome = try FeaturePipeline(options: try options(), console: console).run()
            console.say(outcome.summary())
        }
    }
}

extension LengthFixing.Mode: ExpressibleByArgument {}
extension FeatureOptions.Normalisation: ExpressibleByArgument {}
extension FbankOptions.WindowType: ExpressibleByArgument {}
extension FeatureDType: ExpressibleByArgument {}
