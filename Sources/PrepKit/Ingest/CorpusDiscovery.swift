import Foundation
import ICBHI

/// One recording found on disk: its annotation and audio files under their on-disk stem, and
/// the current ICBHI stem it stands for (different when the archive used an old name).
struct DiscoveredRecording: Sendable {
    let stem: RecordingStem
    let sourceStem: String
    let wavPath: String
    let txtPath: String
}

/// Pairs `<stem>.wav` with `<stem>.txt` in a directory, parses stems and maps old archive
/// names to current ones. Everything that cannot be used becomes a `Problem`.
enum CorpusDiscovery {
    static func scan(directory: String, metadata: DatasetMetadata) throws -> (recordings: [DiscoveredRecording], problems: [Problem]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw PrepError.input("\(directory): no such directory")
        }
        guard isDirectory.boolValue else { throw PrepError.input("\(directory): not a directory") }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw PrepError.input("\(directory): cannot list directory (\(error.localizedDescription))")
        }
        var wavs = Set<String>(), txts = Set<String>()
        for name in names where !name.hasPrefix(".") {
            if name.hasSuffix(".wav") { wavs.insert(String(name.dropLast(4))) }
            if name.hasSuffix(".txt") { txts.insert(String(name.dropLast(4))) }
        }
        var problems: [Problem] = []
        var found: [RecordingStem: DiscoveredRecording] = [:]
        for source in wavs.union(txts).sorted() {
            let wavPath = directory + "/" + source + ".wav", txtPath = directory + "/" + source + ".txt"
            let stem: RecordingStem
            do {
                stem = try RecordingStem(parsing: source)
            } catch {
                // Plain text files that are not recordings (README.txt, the metadata tables) are not errors
                // unless they come with audio.
                if wavs.contains(source) {
                    problems.append(Problem(file: wavPath, line: nil, reason: "file name does not parse as an ICBHI stem: \(error.reason)", kind: .skippedFile))
                } else if source.contains("_") {
                    problems.append(Problem(file: txtPath, line: nil, reason: "file name does not parse as an ICBHI stem: \(error.reason)", kind: .skippedFile))
                }
                continue
            }
            guard wavs.contains(source) else {
                problems.append(Problem(file: txtPath, line: nil, reason: "annotation without audio (\(source).wav missing)", kind: .skippedFile))
                continue
            }
            guard txts.contains(source) else {
                problems.append(Problem(file: wavPath, line: nil, reason: "audio without annotation (\(source).txt missing)", kind: .skippedFile))
                continue
            }
            var current = stem
            if let renamed = metadata.currentName(forOldName: source), let renamedStem = try? RecordingStem(parsing: renamed) {
                current = renamedStem
                problems.append(Problem(file: wavPath, line: nil, reason: "old archive name, ingested as \(renamed)", kind: .notice))
            }
            if let existing = found[current] {
                // Both the old and the current name are present: keep the current one.
                let loser = existing.sourceStem == current.name ? source : existing.sourceStem
                problems.append(Problem(file: directory + "/" + loser + ".wav", line: nil,
                                        reason: "duplicate of \(current.name) under another name", kind: .skippedFile))
                if loser == existing.sourceStem {
                    found[current] = DiscoveredRecording(stem: current, sourceStem: source, wavPath: wavPath, txtPath: txtPath)
                }
                continue
            }
            if metadata.split(of: current) == .unassigned {
                problems.append(Problem(file: wavPath, line: nil, reason: "not in the official split: split 'unassigned'", kind: .notice))
            }
            found[current] = DiscoveredRecording(stem: current, sourceStem: source, wavPath: wavPath, txtPath: txtPath)
        }
        return (found.values.sorted { $0.stem < $1.stem }, problems)
    }
}
