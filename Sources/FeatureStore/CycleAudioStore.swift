import Durability
import Foundation
import HDF5

/// Where the 16 kHz cycle audio lives: one small HDF5 file per recording, ragged
/// (`samples` float32 = every cycle back to back, `offsets` int64 [cycles + 1]), under
/// `<cache>/audio16k/<resampler>/<stem>.h5`. One file per recording makes a rerun redo a
/// changed recording alone; the provenance attributes say exactly what produced it.
public struct CycleAudioStore: Sendable {
    public let directory: String

    public init(cacheDirectory: String, resampler: String) {
        directory = cacheDirectory + "/audio16k/" + resampler
    }

    public func path(for stem: String) -> String { directory + "/" + stem + ".h5" }

    /// What produced a recording's file; a rerun reuses the file only if this matches.
    public struct Provenance: Sendable, Equatable {
        public var resampler: String
        public var wavSHA256: String
        public var txtSHA256: String
        public var cycles: Int
        public var formatVersion: Int64 = 1

        public init(resampler: String, wavSHA256: String, txtSHA256: String, cycles: Int) {
            self.resampler = resampler
            self.wavSHA256 = wavSHA256
            self.txtSHA256 = txtSHA256
            self.cycles = cycles
        }
    }

    /// Writes one recording's cycles to a temp file (not yet synced) and returns its path; publish it
    /// with a `DurablePublisher` (at once, or after a whole `--strict` run is clean).
    public func stage(stem: String, samples: [Float], offsets: [Int64], cycleIndices: [Int32],
                      provenance: Provenance, sampleRate: Int, sourceRate: Int) throws -> String {
        precondition(offsets.count == cycleIndices.count + 1 && offsets.last == Int64(samples.count))
        return try AtomicFile.stage(path(for: stem), sync: false) { temporary in
            let file = try HDF5File(path: temporary, mode: .create)
            try file.write(samples, shape: [samples.count], to: "/samples")
            try file.write(offsets, shape: [offsets.count], to: "/offsets")
            try file.write(cycleIndices, shape: [cycleIndices.count], to: "/cycle_index")
            try file.setAttribute("description", .string(
                "\(sampleRate / 1000) kHz breathing cycles of one ICBHI recording: cycle i = samples[offsets[i]:offsets[i+1]], "
                + "annotation cycle k = cycle_index[i]; float32 in [-1, 1), whole recording faded before slicing"))
            try file.setAttribute("stem", .string(stem))
            try file.setAttribute("sample_rate", .integer(Int64(sampleRate)))
            try file.setAttribute("source_sample_rate", .integer(Int64(sourceRate)))
            try file.setAttribute("resampler", .string(provenance.resampler))
            try file.setAttribute("wav_sha256", .string(provenance.wavSHA256))
            try file.setAttribute("txt_sha256", .string(provenance.txtSHA256))
            try file.setAttribute("cycles", .integer(Int64(provenance.cycles)))
            try file.setAttribute("format_version", .integer(provenance.formatVersion))
            // Lets `prep verify` notice a flipped bit in the samples, which no other check sees.
            try file.setAttribute(Self.checksumAttribute, .string(Self.checksum(of: samples)))
            try file.flush()
        }
    }

    /// The provenance of an existing file, or nil when missing or unreadable (then it is redone).
    public func provenance(stem: String) -> Provenance? {
        guard FileManager.default.fileExists(atPath: path(for: stem)),
              let file = try? HDF5File(path: path(for: stem), mode: .readOnly),
              let resampler = try? file.attribute("resampler")?.stringValue,
              let wav = try? file.attribute("wav_sha256")?.stringValue,
              let txt = try? file.attribute("txt_sha256")?.stringValue,
              let cycles = try? file.attribute("cycles")?.integerValue,
              let version = try? file.attribute("format_version")?.integerValue
        else { return nil }
        var provenance = Provenance(resampler: resampler, wavSHA256: wav, txtSHA256: txt, cycles: Int(cycles))
        provenance.formatVersion = version
        return provenance
    }

    /// Name of the attribute holding the SHA-256 of `/samples` (absent in caches written before it).
    public static let checksumAttribute = "samples_sha256"

    /// SHA-256 of samples as stored (float32, little-endian: the byte order of every supported host).
    public static func checksum(of samples: [Float]) -> String {
        samples.withUnsafeBytes { FileDigest.sha256(of: $0) }
    }

    /// What recomputing a file's samples checksum found.
    public enum ChecksumCheck: Sendable, Equatable {
        case matches
        /// The file predates checksums: nothing to compare with.
        case notRecorded
        case differs(stored: String, computed: String)
    }

    /// Whether the recording's file records its samples' checksum (false also when unreadable).
    public func recordsChecksum(stem: String) -> Bool {
        guard let file = try? HDF5File(path: path(for: stem), mode: .readOnly) else { return false }
        return (try? file.attribute(Self.checksumAttribute)) != nil
    }

    /// Compares the SHA-256 of `samples`, the recording's samples as `readCycles` returned them
    /// (so a check reads them once), with the one recorded in its file.
    public func checkSamples(_ samples: [Float], stem: String) throws -> ChecksumCheck {
        let file = try HDF5File(path: path(for: stem), mode: .readOnly)
        guard let stored = try file.attribute(Self.checksumAttribute)?.stringValue else { return .notRecorded }
        let computed = Self.checksum(of: samples)
        return stored == computed ? .matches : .differs(stored: stored, computed: computed)
    }

    /// A recording's cycles: the concatenated samples and `cycles + 1` offsets.
    public func readCycles(stem: String) throws -> (samples: [Float], offsets: [Int], cycleIndices: [Int]) {
        let file = try HDF5File(path: path(for: stem), mode: .readOnly)
        let samples = try file.read("/samples", as: Float.self).0
        let offsets = try file.read("/offsets", as: Int64.self).0.map(Int.init)
        let indices = try file.read("/cycle_index", as: Int32.self).0.map(Int.init)
        guard offsets.count == indices.count + 1, offsets.first == 0, offsets.last == samples.count,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw StoreError.mismatch(path: path(for: stem), reason: "offsets do not describe the samples")
        }
        return (samples, offsets, indices)
    }
}
