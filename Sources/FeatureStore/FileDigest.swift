import Crypto
import Foundation

/// SHA-256 helpers. Inputs and shards are hashed streaming, 4 MiB at a time.
public enum FileDigest {
    /// Hex SHA-256 of a file's bytes.
    public static func sha256(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError.io(path: path, reason: "cannot open for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return hasher.finalize().hexString
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
