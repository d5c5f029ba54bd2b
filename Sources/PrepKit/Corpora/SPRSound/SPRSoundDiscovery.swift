import Foundation
import ICBHI
import SPRSound

/// One SPRSound recording found on disk: its JSON, its WAV, and what its path says.
struct SPRSoundSource: Sendable {
    let name: SPRSoundName
    let jsonPath: String
    let wavPath: String
    let split: String
    let release: String
}

/// Finds every `<stem>.json` below a directory with its `<stem>.wav` (same folder, or the
/// sibling `*_wav` folder: `..._json` components read as `..._wav`), and its split from the path.
/// Everything that cannot be used becomes a `Problem`; nothing stops the scan.
enum SPRSoundDiscovery {
    static func scan(directory: String) throws -> (recordings: [SPRSoundSource], problems: [Problem]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw PrepError.input("\(directory): no such directory")
        }
        guard isDirectory.boolValue else { throw PrepError.input("\(directory): not a directory") }
        let (jsons, wavs) = files(below: directory)
        let wavSet = Set(wavs)
        var claimed = Set<String>()
        var problems: [Problem] = []
        var found: [String: SPRSoundSource] = [:]
        for relative in jsons {
            let jsonPath = directory + "/" + relative
            let components = relative.split(separator: "/").map(String.init)
            let stem = String(components.last!.dropLast(".json".count))
            let folders = Array(components.dropLast())
            let candidates = wavCandidates(folders: folders, stem: stem)
            let wav = candidates.first { wavSet.contains($0) }
            if let wav { claimed.insert(wav) }
            let name: SPRSoundName
            do throws(SPRSoundNameError) {
                name = try SPRSoundName(parsing: stem)
            } catch {
                problems.append(Problem(file: jsonPath, line: nil, reason: "file name is not <patient>_<age>_<gender>_<location>_<recording>: \(error.reason)", kind: .skippedFile))
                continue
            }
            guard let wav else {
                problems.append(Problem(file: jsonPath, line: nil, reason: "annotation without audio (no \(candidates.joined(separator: " or ")))", kind: .skippedFile))
                continue
            }
            if let first = found[stem] {
                // The repository holds the same record in several trees (releases/, Detection/, ...).
                problems.append(Problem(file: jsonPath, line: nil, reason: "same recording as \(first.jsonPath): this copy ignored", kind: .notice))
                continue
            }
            let (split, release) = SPRSoundSplit.of(folders: folders)
            if split == SPRSoundSplit.unassigned {
                problems.append(Problem(file: jsonPath, line: nil, reason: "no split in the path (train*, inter_test*, intra_test*, test20xx*): split 'unassigned'", kind: .notice))
            }
            found[stem] = SPRSoundSource(name: name, jsonPath: jsonPath, wavPath: directory + "/" + wav, split: split, release: release)
        }
        for wav in wavs where !claimed.contains(wav) {
            problems.append(Problem(file: directory + "/" + wav, line: nil, reason: "audio without annotation (no <stem>.json beside it or in the sibling *_json folder)", kind: .skippedFile))
        }
        return (found.values.sorted { $0.name.stem < $1.name.stem }, problems)
    }

    /// Where a JSON's WAV may be, relative to the root: the same folder; every `*_json` folder
    /// read as `*_wav`; only the deepest one so read.
    static func wavCandidates(folders: [String], stem: String) -> [String] {
        func path(_ folders: [String]) -> String { (folders + [stem + ".wav"]).joined(separator: "/") }
        func wavFolder(_ folder: String) -> String { folder.hasSuffix("_json") ? String(folder.dropLast(5)) + "_wav" : folder }
        var candidates = [path(folders), path(folders.map(wavFolder))]
        if let deepest = folders.lastIndex(where: { $0.hasSuffix("_json") }) {
            var some = folders
            some[deepest] = wavFolder(some[deepest])
            candidates.append(path(some))
        }
        var seen = Set<String>()
        return candidates.filter { seen.insert($0).inserted }
    }

    /// Relative paths of every `.json` and `.wav` below `directory` (hidden entries skipped), sorted.
    private static func files(below directory: String) -> (jsons: [String], wavs: [String]) {
        var jsons: [String] = [], wavs: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return ([], []) }
        while let relative = walker.nextObject() as? String {
            let components = relative.split(separator: "/")
            if components.contains(where: { $0.hasPrefix(".") }) { continue }
            if relative.hasSuffix(".json") { jsons.append(relative) }
            if relative.lowercased().hasSuffix(".wav") { wavs.append(relative) }
        }
        return (jsons.sorted(), wavs.sorted())
    }

    /// Whether `directory` looks like SPRSound: a `*_json` folder holding JSON files somewhere below it.
    /// Bounded: an ICBHI folder (recordings at the top) answers at once, and the walk goes at
    /// most 6 folders deep and 200,000 entries far.
    static func looksLikeSPRSound(_ directory: String) -> Bool {
        let top = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        if top.contains(where: { $0.hasSuffix(".wav") || $0.hasSuffix(".txt") }) && !top.contains(where: { $0.hasSuffix("_json") }) {
            return false
        }
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return false }
        var seen = 0
        while let relative = walker.nextObject() as? String {
            seen += 1
            if seen > 200_000 { return false }
            if walker.level > 6 { walker.skipDescendants() }
            let components = relative.split(separator: "/")
            if components.count >= 2, relative.hasSuffix(".json"), components.dropLast().contains(where: { $0.hasSuffix("_json") }) {
                return true
            }
        }
        return false
    }
}
