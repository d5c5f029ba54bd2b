import Foundation
import ICBHI

/// One recording to synthesise: its real stem, annotation and cycles, and the format of the
/// WAV that stands in for the licensed audio.
public struct RecordingPlan: Sendable {
    public let stem: RecordingStem
    /// The vendored annotation file's bytes, copied verbatim.
    public let annotation: Data
    public let cycles: [AnnotatedCycle]
    public let split: Split
    public let sampleRate: Int
    public let bitDepth: Int
    public let frames: Int

    public init(stem: RecordingStem, annotation: Data, cycles: [AnnotatedCycle], split: Split,
                sampleRateOverride: Int? = nil) {
        self.stem = stem
        self.annotation = annotation
        self.cycles = cycles
        self.split = split
        let rate = sampleRateOverride ?? RecordingFormat.sampleRate(of: stem.device)
        sampleRate = rate
        bitDepth = RecordingFormat.bitDepth(of: stem)
        frames = RecordingFormat.frames(lastCycleEnd: cycles.map(\.end).max() ?? 0, device: stem.device, sampleRate: rate)
    }

    public var duration: Double { Double(frames) / Double(sampleRate) }

    /// The rarest class among the recording's cycles (both, then wheeze, then crackle, then
    /// normal): the stratum it counts for when a subset is taken.
    public var stratumLabel: CycleLabel {
        let labels = Set(cycles.map(\.label))
        for label in [CycleLabel.both, .wheeze, .crackle] where labels.contains(label) { return label }
        return .normal
    }
}

/// The WAV format of a synthetic recording, a function of the stem alone (never of the seed).
public enum RecordingFormat {
    /// Litt3200: 4 kHz, as in ICBHI; every other device 44.1 kHz (ICBHI's most common rate).
    public static func sampleRate(of device: Device) -> Int {
        device == .litt3200 ? 4000 : 44100
    }

    /// Litt3200: 16 bits (as all its ICBHI files); other devices 16, 24 or 32 bits by a stable hash
    /// of the stem (ICBHI has all three, even for one device and patient).
    public static func bitDepth(of stem: RecordingStem) -> Int {
        stem.device == .litt3200 ? 16 : [16, 24, 32][Int(StableHash.fnv1a(stem.name) % 3)]
    }

    /// Samples of a recording whose last cycle ends at `lastCycleEnd` seconds, mimicking ICBHI:
    /// a Litt3200 file ends with its last cycle (`ceil(end * rate)` samples); the other devices
    /// record 20 s (the length of almost all their ICBHI files), or the last cycle end rounded up
    /// to a whole second for the few longer ones. Every cycle is thus inside the audio.
    public static func frames(lastCycleEnd: Double, device: Device, sampleRate: Int) -> Int {
        let rate = Double(sampleRate)
        if device == .litt3200 { return Int((lastCycleEnd * rate).rounded(.up)) }
        let seconds = max(20, lastCycleEnd.rounded(.up))
        return Int((seconds * rate).rounded(.up))
    }
}
