import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The checksums the cache records: SHA-256 for inputs, manifests and cycle audio (and the shards
/// of feature sets written before XXH64), XXH64 for feature shards (see ``XXH64`` for why).
public enum DigestAlgorithm: String, Sendable, Codable, CaseIterable {
    case xxh64
    case sha256

    /// The name for messages: "XXH64", "SHA-256".
    public var displayName: String {
        switch self {
        case .xxh64: "XXH64"
        case .sha256: "SHA-256"
        }
    }
}

/// Digest helpers. Files are hashed streaming, 1 MiB at a time through one reused buffer.
public enum FileDigest {
    /// Bytes per `read`: large enough to make syscalls rare, small enough to stay in the L2 cache.
    static let blockSize = 1 << 20

    /// Hex SHA-256 of a file's bytes.
    public static func sha256(ofFileAt path: String) throws -> String {
        try hexDigest(ofFileAt: path, algorithm: .sha256)
    }

    /// Hex XXH64 of a file's bytes (as `xxhsum -H1` prints it).
    public static func xxh64(ofFileAt path: String) throws -> String {
        try hexDigest(ofFileAt: path, algorithm: .xxh64)
    }

    /// Hex digest of a file's bytes.
    public static func hexDigest(ofFileAt path: String, algorithm: DigestAlgorithm) throws -> String {
        // Plain POSIX reads: Foundation's FileHandle.read(upToCount:) issued one 4 KiB read(2)
        // per page and grew a Data by appending (688,000 syscalls for a 2.8 GB feature set).
        try RegularFile.check(path)
        // O_NONBLOCK: should it have become a named pipe since, open returns and fstat refuses it.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw StoreError.io(path: path, reason: "cannot open for reading: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) == 0, let kind = RegularFile.kind(info.st_mode) {
            throw StoreError.io(path: path, reason: "not a regular file (\(kind))")
        }
        var hasher = StreamingDigest(algorithm)
        try hashContents(of: descriptor, path: path, into: &hasher)
        return hasher.finalize()
    }

    /// Feeds every byte of the file open as `descriptor` to `hasher`.
    static func hashContents(of descriptor: Int32, path: String, into hasher: inout StreamingDigest) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        defer { buffer.deallocate() }
        var position = 0
        while true {
            let count = pread(descriptor, buffer.baseAddress, blockSize, off_t(position))
            if count < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, reason: "read failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            position += count
        }
    }

    /// Hex SHA-256 of in-memory bytes.
    public static func sha256<D: DataProtocol>(of data: D) -> String {
        SHA256.hash(data: data).hexString
    }

    /// Hex SHA-256 of a string's UTF-8 bytes.
    public static func sha256(of text: String) -> String {
        sha256(of: Data(text.utf8))
    }
}

extension Sequence where Element == UInt8 {
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 15)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension SHA256.Digest {
    var hexString: String { Array(self).hexString }
}

/// A digest fed piece by piece (a shard hashed as its bytes stream to disk), so that storage code
/// need not depend on swift-crypto itself.
public struct StreamingDigest {
    public let algorithm: DigestAlgorithm
    // One of the two is set; optionals (not an enum with payloads) so updates mutate in place.
    private var sha256: SHA256?
    private var xxh64: XXH64?

    public init(_ algorithm: DigestAlgorithm = .sha256) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha256: sha256 = SHA256()
        case .xxh64: xxh64 = XXH64()
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        sha256?.update(bufferPointer: bytes)
        xxh64?.update(bytes)
    }

    public mutating func update<D: DataProtocol>(_ data: D) {
        sha256?.update(data: data)
        if xxh64 != nil { for region in data.regions { region.withUnsafeBytes { xxh64!.update($0) } } }
    }

    /// The hex digest of everything fed so far.
    public func finalize() -> String {
        if let sha256 { return sha256.finalize().hexString }
        return xxh64!.hexDigest()
    }
}
