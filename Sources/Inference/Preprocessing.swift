import AudioDSP
import FeatureStore
import PrepKit
import Training

/// The preprocessing a model was trained with, applied to new recordings: resampler, the
/// recording's fades (always the reference's), length fixing, Kaldi fbank options and
/// normalisation. From the checkpoint's meta (`TrainingOptions.features`, recorded since
/// `predict` exists); checkpoints without it (the paper code's, ours from before) get the paper's.
public struct Preprocessing: Sendable, CustomStringConvertible {
    public var resampler: ResamplerKind
    public var lengthFixing: LengthFixing
    public var fbank: FbankOptions
    public var normalisation: FeatureNormalization
    /// Whether it came from the checkpoint (false: the paper's pipeline, assumed).
    public var recorded: Bool

    /// The ingest's rate, at which cycles are cut and features computed.
    public static let sampleRate = ReferenceAudio.sampleRate

    /// REFERENCE.md steps 1-7: torchaudio's resampler, 8 s repeat padding, the paper's fbank,
    /// AudioSet normalisation.
    public static let paper = Preprocessing(resampler: .reference, lengthFixing: .reference, fbank: .paper,
                                            normalisation: .audioset, recorded: false)

    public init(resampler: ResamplerKind, lengthFixing: LengthFixing, fbank: FbankOptions,
                normalisation: FeatureNormalization, recorded: Bool) {
        self.resampler = resampler
        self.lengthFixing = lengthFixing
        self.fbank = fbank
        self.normalisation = normalisation
        self.recorded = recorded
    }

    /// What a checkpoint's meta recorded; nil with the reason when something is missing or unknown.
    public init(provenance p: FeatureProvenance) throws(PredictError) {
        func fail(_ what: String) -> PredictError { PredictError(file: "checkpoint meta", reason: "recorded preprocessing unusable: \(what)") }
        let lengthFixing: LengthFixing
        do { lengthFixing = try LengthFixing(featureSetOptions: p.options) } catch { throw fail("\(error)") }
        guard let fbank = FbankOptions(featureSetOptions: p.options) else { throw fail("incomplete fbank_* options") }
        let kind = p.resampler ?? ResamplerKind.reference.rawValue
        guard let resampler = ResamplerKind(rawValue: kind) else { throw fail("unknown resampler \(kind)") }
        guard let normalisation = FeatureNormalization(p.normalisation) else { throw fail("unknown normalisation \(p.normalisation.kind)") }
        self.init(resampler: resampler, lengthFixing: lengthFixing,
                  fbank: fbank, normalisation: normalisation, recorded: true)
    }

    /// Spectrogram frames of one model input.
    public var frames: Int { fbank.frameCount(sampleCount: lengthFixing.length) }
    public var bins: Int { fbank.featureDimension }
    /// The model input's length in seconds (the default window).
    public var inputSeconds: Double { lengthFixing.seconds(sampleRate: Self.sampleRate) }

    public var description: String {
        "resampler \(resampler), recording fades \(Fade.recording.fadeInLength)/\(Fade.recording.fadeOutLength), \(lengthFixing), "
            + "fbank \(fbank.numMelBins) bins \(fbank.frameLengthMs)/\(fbank.frameShiftMs) ms, normalisation \(normalisation) -> \(frames) x \(bins)"
    }
}

/// A file `predict` could not use, and why.
public struct PredictError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}
