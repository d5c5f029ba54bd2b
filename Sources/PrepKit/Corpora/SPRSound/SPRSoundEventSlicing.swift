import AudioDSP
import Foundation
import SPRSound

/// Which of a recording's annotated events `prep ingest` keeps, and their samples: one rule for
/// ingest and `predict`, so that both score the same events. An event is the samples
/// `[int(start * 16000), int(end * 16000))` clamped to the audio (ICBHI's rule, REFERENCE.md
/// step 4); one empty after clamping (it starts after the audio's end) is skipped; one ending
/// after the audio is kept, clamped. Zero-length and reversed events never get here: the parser
/// skips them, and sorts the rest by start.
public enum SPRSoundEventSlicing {
    public enum Outcome: Sendable, Equatable {
        /// Samples `bounds` of the 16 kHz recording; `clamped` when the event ends after the audio.
        case kept(bounds: Range<Int>, clamped: Bool)
        /// Empty after clamping: the event lies after the audio's end.
        case skipped
    }

    /// The outcome for `event` in a recording of `frames` samples at 16 kHz.
    public static func slice(_ event: SPRSoundAnnotation.Event, frames: Int) -> Outcome {
        let bounds = bounds(start: event.start, end: event.end, frames: frames)
        if bounds.isEmpty { return .skipped }
        return .kept(bounds: bounds, clamped: event.end * Double(ReferenceAudio.sampleRate) > Double(frames))
    }

    /// Samples `[int(start * 16000), int(end * 16000))` clamped to `0...frames`.
    public static func bounds(start: Double, end: Double, frames: Int) -> Range<Int> {
        func bound(_ seconds: Double) -> Int {
            let position = seconds * Double(ReferenceAudio.sampleRate)
            guard !position.isNaN else { return 0 }
            return min(Int(min(max(position, 0), Double(frames))), frames)
        }
        let lower = bound(start)
        return lower..<max(lower, bound(end))
    }

    /// The largest annotation file read (the real ones are under 2 kB): a huge one is refused unread.
    public static let maximumAnnotationBytes = 16 << 20

    /// Where the annotation of `wav` may be, in the order tried: `<stem>.json` beside it; every
    /// `*_wav` folder of its path read as `*_json`; only the deepest one so read (the inverse of
    /// ingest's pairing of a JSON with its WAV).
    public static func annotationCandidates(forWAV wav: String) -> [String] {
        let url = URL(fileURLWithPath: wav)
        let stem = url.deletingPathExtension().lastPathComponent
        let folders = url.deletingLastPathComponent().path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        func path(_ folders: [String]) -> String { (folders + [stem + ".json"]).joined(separator: "/") }
        func jsonFolder(_ folder: String) -> String { folder.hasSuffix("_wav") ? String(folder.dropLast(4)) + "_json" : folder }
        var candidates = [path(folders), path(folders.map(jsonFolder))]
        if let deepest = folders.lastIndex(where: { $0.hasSuffix("_wav") }) {
            var some = folders
            some[deepest] = jsonFolder(some[deepest])
            candidates.append(path(some))
        }
        var seen = Set<String>()
        return candidates.filter { seen.insert($0).inserted }
    }
}
