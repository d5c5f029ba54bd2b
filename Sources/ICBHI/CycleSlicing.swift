/// Which annotated cycles a recording of a given length keeps, and where each lies: REFERENCE.md
/// step 4 with `prep ingest`'s rules. One place for both `prep ingest` and `predict`, so that
/// `predict` scores exactly the cycles a feature set holds.
public enum CycleSlicing {
    public enum Outcome: Sendable, Equatable {
        /// Samples `bounds` of the recording; `clamped` when the annotation ends after the audio.
        case kept(bounds: Range<Int>, clamped: Bool)
        /// Empty after clamping to the audio: it cannot be padded, so it is rejected.
        case rejected
    }

    /// The outcome for `cycle` in a recording of `frames` samples at `sampleRate` Hz.
    public static func slice(_ cycle: AnnotatedCycle, sampleRate: Int, frames: Int) -> Outcome {
        let bounds = cycle.sliceBounds(sampleRate: sampleRate, frames: frames)
        if bounds.isEmpty { return .rejected }
        return .kept(bounds: bounds, clamped: cycle.end * Double(sampleRate) > Double(frames))
    }
}
