import Durability
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes the values of a shard's contiguous, pre-allocated `fbank` straight into the file HDF5
/// has closed, and takes the file's checksum on the way, in file order: the bytes before the
/// values (read back once), the values as they are written, the bytes after them.
///
/// The values go with `O_DIRECT` where the file system and the alignment allow it (page-aligned
/// buffers, 512-byte multiples): the disk reads them from the workers' memory, with no copy into
/// the page cache and no fresh pages for it (expensive in a VM that hands freed memory back to
/// its host). Elsewhere (tmpfs, odd row sizes) a plain `pwrite`. Hashing runs on its own thread,
/// a few buffers behind the writes.
final class ShardDataWriter: @unchecked Sendable {
    /// `fbank` starts on a multiple of this (HDF5 alignment) so that direct writes line up.
    static let alignment = 4096
    /// Direct I/O needs offsets and lengths in whole sectors.
    static let sector = 512

    private let path: String
    private let dataOffset: Int
    private let rowBytes: Int
    private let totalBytes: Int
    private var written = 0
    private var directDescriptor: Int32 = -1
    private var plainDescriptor: Int32 = -1
    private var prefix: [UInt8] = []

    private let hashing = DispatchQueue(label: "respcache.shard-hash")
    private let hashSlots = DispatchSemaphore(value: 8)
    private var hasher = StreamingDigest(FeatureShard.checksumAlgorithm)   // touched only on `hashing`
    /// Writes run on their own thread too, so that a direct write waiting for the disk does not
    /// hold up the thread that hands out work; at most 8 buffers wait for it (and 8 for the hash).
    private let disk = DispatchQueue(label: "respcache.shard-write")
    private let diskSlots = DispatchSemaphore(value: 8)
    private let lock = NSLock()
    private var failure: Error?     // guarded by `lock`

    init(path: String, dataOffset: Int, rowBytes: Int, rows: Int) throws {
        self.path = path
        self.dataOffset = dataOffset
        self.rowBytes = rowBytes
        totalBytes = rowBytes * rows
        plainDescriptor = open(path, O_RDWR | O_CLOEXEC)
        guard plainDescriptor >= 0 else { throw Self.ioError(path, "cannot open", errno) }
        if dataOffset % Self.alignment == 0, rowBytes % Self.sector == 0 {
            directDescriptor = open(path, O_WRONLY | O_CLOEXEC | Self.directFlag)   // -1 where unsupported
        }
        prefix = try read(0..<dataOffset)
        hasher.update(prefix)
    }

    deinit {
        // Pending hash blocks hold `self`: none is left by now (and this may run on `hashing`).
        if directDescriptor >= 0 { close(directDescriptor) }
        if plainDescriptor >= 0 { close(plainDescriptor) }
    }

    /// Writes the next rows (they must follow the previous ones: the hash is taken in file order).
    func write(_ rows: EncodedRows, atRow row: Int) throws {
        precondition(row * rowBytes == written && rows.bytes.count == rows.count * rowBytes,
                     "shard rows must be written in order, whole")
        if let failure = lock.withLock({ failure }) { throw failure }
        hashSlots.wait()
        hashing.async { [self] in
            hasher.update(UnsafeRawBufferPointer(rows.bytes))
            hashSlots.signal()
        }
        let offset = dataOffset + written
        diskSlots.wait()
        disk.async { [self] in
            defer { diskSlots.signal() }
            guard lock.withLock({ failure == nil }) else { return }
            do {
                try writeAll(UnsafeRawBufferPointer(rows.bytes), at: offset)
            } catch {
                lock.withLock { failure = error }
            }
        }
        written += rows.bytes.count
    }

    /// All values written: waits for the disk thread, checks that every row came.
    func finishData() throws {
        disk.sync {}
        if let failure = lock.withLock({ failure }) { throw failure }
        guard written == totalBytes else {
            throw StoreError.io(path: path, reason: "wrote \(written) of \(totalBytes) bytes of fbank values")
        }
        if directDescriptor >= 0 { close(directDescriptor); directDescriptor = -1 }
    }

    /// Hashes the bytes after the values and returns the file's checksum, or nil if the bytes
    /// before the values changed meanwhile (then the caller hashes the whole file).
    func finishFile() throws -> String? {
        let size = lseek(plainDescriptor, 0, SEEK_END)
        guard size >= dataOffset + totalBytes else { return nil }
        let suffix = try read((dataOffset + totalBytes)..<Int(size))
        guard try read(0..<dataOffset) == prefix else { return nil }
        return hashing.sync {
            hasher.update(suffix)
            return hasher.finalize()
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let direct = directDescriptor >= 0
            let count = pwrite(direct ? directDescriptor : plainDescriptor, bytes.baseAddress! + done, bytes.count - done,
                               off_t(offset + done))
            if count < 0 {
                if errno == EINTR { continue }
                if direct && errno == EINVAL {
                    // The file system refused this direct write (alignment rules of its own): plain writes from now on.
                    close(directDescriptor)
                    directDescriptor = -1
                    continue
                }
                throw Self.ioError(path, "write failed", errno)
            }
            done += count
        }
    }

    private func read(_ range: Range<Int>) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: range.count)
        var done = 0
        while done < range.count {
            let count = bytes.withUnsafeMutableBytes { pread(plainDescriptor, $0.baseAddress! + done, range.count - done, off_t(range.lowerBound + done)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.ioError(path, "read failed", errno)
            }
            if count == 0 { throw StoreError.io(path: path, reason: "file ends at \(range.lowerBound + done), expected \(range.upperBound) bytes") }
            done += count
        }
        return bytes
    }

    private static func ioError(_ path: String, _ what: String, _ code: Int32) -> StoreError {
        StoreError.io(path: path, reason: "\(what): \(String(cString: strerror(code)))")
    }

    /// `O_DIRECT` (Glibc's module hides it behind _GNU_SOURCE).
    private static var directFlag: Int32 {
        #if arch(x86_64) || arch(i386)
        return 0o40000
        #elseif arch(arm64) || arch(arm)
        return 0o200000
        #else
        return 0
        #endif
    }
}
