/// One respiratory cycle from an annotation file: a time span and two flags.
public struct AnnotatedCycle: Sendable, Equatable {
    /// 0-based position among the file's valid cycles, in file order; skipped lines do
    /// not consume an index, so indices are dense and match the reference's `k`.
    public let index: Int
    /// Start and end in seconds from the beginning of the recording.
    public let start: Double
    public let end: Double
    public let crackle: Bool
    public let wheeze: Bool
    /// 1-based line in the annotation file, for error messages.
    public let line: Int

    public init(index: Int, start: Double, end: Double, crackle: Bool, wheeze: Bool, line: Int) {
        self.index = index
        self.start = start
        self.end = end
        self.crackle = crackle
        self.wheeze = wheeze
        self.line = line
    }

    /// The 4-class label of the cycle.
    public var label: CycleLabel { CycleLabel(crackle: crackle, wheeze: wheeze) }

    /// Length in seconds.
    public var duration: Double { end - start }

    /// The samples of the cycle in a recording of `frames` samples at `sampleRate` Hz.
    ///
    /// REFERENCE.md, preprocessing step 4: `a = min(int(start * rate), frames)`,
    /// `b = min(int(end * rate), frames)`, samples `a..<b`. `int()` truncates toward zero,
    /// and the product is formed in `Double` exactly as Python does, so 0.5999 s at 16 kHz
    /// (9598.4) gives 9598. Beyond the reference, the bounds are also clamped at 0 and
    /// non-finite values are tolerated, so the result is always a valid range within
    /// `0..<frames` (possibly empty); a parsed cycle never needs that.
    public func sliceBounds(sampleRate: Int, frames: Int) -> Range<Int> {
        let frames = max(0, frames)
        func bound(_ seconds: Double) -> Int {
            let position = seconds * Double(sampleRate)
            guard !position.isNaN else { return 0 }
            // Clamp in Double first: Int(_:) traps on values it cannot represent.
            let clamped = min(max(position, 0), Double(frames))
            return min(Int(clamped), frames)
        }
        let lower = bound(start)
        return lower..<max(lower, bound(end))
    }
}
