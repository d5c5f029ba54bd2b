import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Publishes staged temp files on a background thread: fsync, optional SHA-256, rename. Workers
/// hand a finished file over and go on computing while the disk catches up; the directories are
/// synced once at `finish()`. Until a file is renamed nothing trusts it, so a crash at any point
/// leaves only temp files, which the next run sweeps.
public final class DurablePublisher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "respcache.publisher")
    private let lock = NSLock()
    private var failure: Error?
    private var directories = Set<String>()
    private var digests: [String: String] = [:]

    public init() {}

    /// Queues `temporary` to become `path` once it is on stable storage.
    public func publish(_ temporary: String, as path: String, computingDigest: Bool = false) {
        queue.async { [self] in
            guard lock.withLock({ failure == nil }) else { unlink(temporary); return }
            do {
                try AtomicFile.fsync(path: temporary)
                let digest = computingDigest ? try FileDigest.sha256(ofFileAt: temporary) : nil
                guard rename(temporary, path) == 0 else {
                    throw StoreError.io(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
                }
                lock.withLock {
                    directories.insert(URL(fileURLWithPath: path).deletingLastPathComponent().path)
                    if let digest { digests[path] = digest }
                }
            } catch {
                unlink(temporary)
                lock.withLock { if failure == nil { failure = error } }
            }
        }
    }

    /// The first error so far, if any (workers can stop early).
    public var firstFailure: Error? { lock.withLock { failure } }

    /// Waits for every queued file, syncs their directories, and rethrows the first failure.
    public func finish() throws {
        queue.sync {}
        if let failure = lock.withLock({ failure }) { throw failure }
        for directory in lock.withLock({ directories }).sorted() { try AtomicFile.fsync(path: directory) }
        lock.withLock { directories.removeAll() }
    }

    /// SHA-256 of a file published with `computingDigest` (after `finish()`).
    public func digest(of path: String) -> String? { lock.withLock { digests[path] } }
}
