import Durability
import Foundation

/// `<cache>/ingest.json`: which ingest the cache holds now, so `prep features` knows where the
/// cycle audio is and what manifest it came from.
public struct IngestState: Codable, Sendable, Equatable {
    public var format = "icbhi-ingest/1"
    public var resampler: String
    public var audioDirectory: String
    public var manifestDirectory: String
    /// SHA-256 of cycles.csv as written by this ingest (SPRSound: of events.csv).
    public var cyclesSHA256: String
    /// The corpus recipe that wrote the ingest; absent (nil) for ICBHI, as in every older cache,
    /// so that ICBHI's ingest.json stays byte-identical.
    public var corpus: String?
    /// SHA-256 of recordings.csv, for corpora whose feature items come from it too (SPRSound's
    /// record-level items); absent for ICBHI.
    public var recordingsSHA256: String?

    public init(resampler: String, audioDirectory: String, manifestDirectory: String, cyclesSHA256: String) {
        self.resampler = resampler
        self.audioDirectory = audioDirectory
        self.manifestDirectory = manifestDirectory
        self.cyclesSHA256 = cyclesSHA256
    }

    public static func path(cacheDirectory: String) -> String { cacheDirectory + "/ingest.json" }

    public func write(cacheDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        if FileManager.default.contents(atPath: Self.path(cacheDirectory: cacheDirectory)) == data { return }
        try AtomicFile.write(data, to: Self.path(cacheDirectory: cacheDirectory))
    }

    public static func read(cacheDirectory: String) throws -> IngestState {
        let path = path(cacheDirectory: cacheDirectory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.io(path: path, reason: "missing: run `prep ingest <icbhi-dir>` first")
        }
        do {
            return try JSONDecoder().decode(IngestState.self, from: data)
        } catch {
            throw StoreError.io(path: path, reason: "unreadable (\(PlainErrors.decoding(error))); rerun `prep ingest`")
        }
    }
}
