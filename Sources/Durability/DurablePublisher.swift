import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Publishes staged temp files on a background thread: fsync, optional digest, rename. Workers
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

    /// Queues `temporary` to become `path` once it is on stable storage. With `computingDigest`,
    /// its digest by that algorithm is taken first, while the kernel is still writing it back (the bytes are in
    /// the page cache). With `releasingPageCache`, its pages are dropped once durable: a large
    /// output then occupies a shard's worth of memory, not all of it, and the next shard reuses
    /// the same pages (fresh pages are expensive in a VM that hands freed memory back to its host).
    /// A `knownDigest` (taken while the file was written) is recorded as is.
    public func publish(_ temporary: String, as path: String, computingDigest: DigestAlgorithm? = nil, knownDigest: String? = nil,
                        releasingPageCache: Bool = false) {
        queue.async { [self] in
            guard lock.withLock({ failure == nil }) else { unlink(temporary); return }
            do {
                let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else {
                    throw StoreError.io(path: temporary, reason: "cannot open to sync: \(String(cString: strerror(errno)))")
                }
                defer { close(descriptor) }
                var digest = knownDigest
                if let algorithm = computingDigest, digest == nil {
                    var hasher = StreamingDigest(algorithm)
                    try FileDigest.hashContents(of: descriptor, path: temporary, into: &hasher)
                    digest = hasher.finalize()
                }
                guard fsync(descriptor) == 0 else {
                    throw StoreError.io(path: temporary, reason: "fsync failed: \(String(cString: strerror(errno)))")
                }
                guard rename(temporary, path) == 0 else {
                    throw StoreError.io(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
                }
                if releasingPageCache { _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED) }
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

    /// The digest of a file published with `computingDigest` (after `finish()`).
    public func digest(of path: String) -> String? { lock.withLock { digests[path] } }
}
