import Durability
import Foundation

/// Finds the feature set a user means: a feature set directory, a name under the cache, or a
/// cache directory (`train --shards cache/`) that holds exactly one. One home for that rule, so
/// `train`, `prep verify` and `prep show` accept the same spellings and list the same choices.
public enum FeatureSetLocation {
    /// A feature set found, and a line to print when it was chosen rather than named.
    public struct Found: Sendable, Equatable {
        public let directory: String
        /// Set when `directory` was picked as the only feature set of a cache directory.
        public let note: String?
    }

    /// Every feature set directory (one holding `index.json`) directly below `directory`, by name.
    public static func featureSets(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().map { (directory as NSString).appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0 + "/" + FeatureSetIndex.fileName) }
    }

    /// `given` if it is a feature set; else `<cacheDirectory>/<given>` if that is one; else, if
    /// `given` is a directory holding exactly one feature set, that one (with a note saying so).
    /// Several, or none, is an error listing what is there, newest first.
    /// `option` is the command-line option that names a feature set, for the error's advice.
    public static func resolve(_ given: String, cacheDirectory: String? = nil, option: String) throws -> Found {
        let candidates = [given] + (cacheDirectory.map { [($0 as NSString).appendingPathComponent(given)] } ?? [])
        for candidate in candidates where isFeatureSet(candidate) {
            return Found(directory: candidate, note: nil)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: given, isDirectory: &isDirectory), isDirectory.boolValue else {
            let inCache = cacheDirectory.map { " nor a name in \($0)" } ?? ""
            throw StoreError.io(path: given, reason: "no such directory\(inCache): no index.json, not a feature set written by `prep features`")
        }
        return try only(in: given, option: option)
    }

    /// The only feature set in `directory`: the one there is, or an error listing them.
    public static func only(in directory: String, option: String) throws -> Found {
        let sets = featureSets(in: directory)
        switch sets.count {
        case 0:
            throw StoreError.io(path: directory, reason: "no feature set in this directory (no index.json in it or in a directory below it): run `prep features` first")
        case 1:
            return Found(directory: sets[0], note: "using feature set \(sets[0]) (the only one in \(directory))")
        default:
            throw StoreError.io(path: directory, reason: "holds \(sets.count) feature sets; choose one with \(option) (newest first):\n" + listing(sets))
        }
    }

    static func isFeatureSet(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(FeatureSetIndex.fileName))
    }

    /// One line per feature set, newest first: directory, creation time, rows by split, and the
    /// options in which the sets differ (what tells them apart).
    static func listing(_ directories: [String]) -> String {
        let entries = directories.map { directory in (directory, try? FeatureSetIndex.read(directory: directory)) }
        let indexes = entries.compactMap(\.1)
        let keys = Set(indexes.flatMap(\.options.keys)).sorted()
        let differing = keys.filter { key in Set(indexes.map { $0.options[key]?.description ?? "-" }).count > 1 }
        let newestFirst = entries.sorted { ($0.1?.createdAt ?? "") > ($1.1?.createdAt ?? "") }
        return newestFirst.map { directory, index in
            guard let index else { return "  \(directory)  (unreadable index.json)" }
            let rows = index.rowsBySplit.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let options = differing.map { "\($0)=\(index.options[$0]?.description ?? "-")" }.joined(separator: " ")
            return "  \(directory)  \(index.createdAt)  rows: \(rows)" + (options.isEmpty ? "" : "  \(options)")
        }.joined(separator: "\n")
    }
}
