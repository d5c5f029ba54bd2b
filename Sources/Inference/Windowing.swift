/// The spans `predict` scores in a recording without annotations.
public enum Windowing {
    /// Windows of `window` seconds every `hop` seconds from 0, up to and including the first
    /// window that reaches the end of a recording of `length` samples at `sampleRate` Hz; that
    /// last window is cut at the end (and padded to the model's input as training pads). Window
    /// and hop are whole samples (rounded). Empty for an empty recording.
    public static func windows(length: Int, sampleRate: Int, window: Double, hop: Double) -> [Range<Int>] {
        let w = max(1, Int((window * Double(sampleRate)).rounded()))
        let h = max(1, Int((hop * Double(sampleRate)).rounded()))
        var spans: [Range<Int>] = []
        var start = 0
        while start < length {
            spans.append(start..<min(start + w, length))
            if start + w >= length { break }
            start += h
        }
        return spans
    }

    /// Rules on `--window` and `--hop`: finite and positive.
    public static func validate(window: Double?, hop: Double) -> String? {
        if let window, !(window.isFinite && window > 0) { return "--window must be a positive number of seconds" }
        if !(hop.isFinite && hop > 0) { return "--hop must be a positive number of seconds" }
        return nil
    }
}
