import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file replacement: write to a temp file beside the target, fsync it, rename it
/// over the target, fsync the directory. A reader never sees a half-written file, and temp
/// files (`.<name>.partial-<pid>`) are never mistaken for results: they are swept on the next run.
public enum AtomicFile {
    /// Prefix marking temp files that are not results.
    public static let partialMarker = ".partial-"

    /// The temp path used while `finalPath` is being produced by this process.
    public static func temporaryPath(for finalPath: String) -> String {
        let url = URL(fileURLWithPath: finalPath)
        let name = "." + url.lastPathComponent + partialMarker + String(getpid())
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Writes `data` to `path` atomically and durably.
    public static func write(_ data: Data, to path: String) throws {
        // Plain POSIX writes: Foundation's createFile/Data.write go through a temp file of their own
        // (`.dat.nosync*`) that a kill -9 would leave behind, unknown to `sweepPartials`.
        try produce(path) { temporary in
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw StoreError.io(path: temporary, reason: "cannot create file: \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw StoreError.io(path: temporary, reason: "write failed: \(String(cString: strerror(errno)))")
                    }
                    offset += written
                }
            }
        }
    }

    /// Writes `value` as a JSON document (pretty-printed, keys sorted, slashes unescaped: the one
    /// layout of every JSON file the project writes for people and tools) atomically and durably.
    public static func writeJSON<Value: Encodable>(_ value: Value, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try write(try encoder.encode(value), to: path)
    }

    /// Lets `body` create the temp file at the given path, then makes it durable and publishes it.
    /// On error the temp file is removed and the previous `path` (if any) is untouched.
    public static func produce(_ path: String, _ body: (String) throws -> Void) throws {
        try publish(try stage(path, body), as: path)
    }

    /// First half of `produce`: `body` writes the temp file, which is then fsynced (unless `sync`
    /// is false: then a `DurablePublisher` syncs it later). Returns its path.
    public static func stage(_ path: String, sync: Bool = true, _ body: (String) throws -> Void) throws -> String {
        let temporary = temporaryPath(for: path)
        unlink(temporary)
        do {
            try body(temporary)
            if sync { try fsync(path: temporary) }
        } catch {
            unlink(temporary)
            throw error
        }
        return temporary
    }

    /// Second half of `produce`: renames a staged temp file over `path` and syncs the directory.
    public static func publish(_ temporary: String, as path: String) throws {
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw StoreError.io(path: path, reason: "rename failed: \(reason)")
        }
        try fsync(path: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// Flushes a file's or directory's data to stable storage.
    public static func fsync(path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw StoreError.io(path: path, reason: "cannot open to sync: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard Glibc.fsync(descriptor) == 0 else {
            throw StoreError.io(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes temp files left by interrupted runs in `directory` (ours are never resumed).
    @discardableResult
    public static func sweepPartials(in directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var removed = 0
        // Also Foundation's own atomic-write temp files (`.dat.nosync*`), should any code path use it.
        for name in names where name.hasPrefix(".") && (name.contains(partialMarker) || name.hasPrefix(".dat.nosync")) {
            if unlink(directory + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    /// Creates a directory and its parents, with a clear error.
    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StoreError.io(path: path, reason: "cannot create directory: \(error.localizedDescription)")
        }
    }
}
