import Durability
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. Pages come in from the page cache as they are
/// touched; `release` hands pages that were read back to the kernel, so that converting a
/// large checkpoint tensor by tensor keeps only about one tensor's pages resident.
final class MappedFile {
    let base: UnsafeRawPointer
    let count: Int
    private let mapping: UnsafeMutableRawPointer?

    /// Maps `path`; throws a message for missing, unreadable, empty or non-regular files.
    init(path: String) throws(FormatError) {
        // Looked at before opening: opening a FIFO for reading waits for a writer, forever.
        if let kind = RegularFile.otherKind(at: path) { throw FormatError("not a regular file (\(kind)): not a checkpoint") }
        // O_NONBLOCK: should it have become a FIFO since, open returns and fstat refuses it.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError("cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FormatError("cannot stat: \(String(cString: strerror(errno)))") }
        if let kind = RegularFile.kind(info.st_mode) { throw FormatError("not a regular file (\(kind)): not a checkpoint") }
        let size = Int(info.st_size)
        guard size > 0 else { throw FormatError("empty file (0 bytes): not a PyTorch checkpoint") }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw FormatError("cannot map \(size) bytes: \(String(cString: strerror(errno)))") }
        mapping = p
        base = UnsafeRawPointer(p)
        count = size
    }

    deinit { if let mapping { munmap(mapping, count) } }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Drops the resident pages wholly inside `range` (they are re-read from the file if touched again).
    func release(_ range: Range<Int>) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard end > start, start >= 0, end <= count else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }
}

/// Bounds-checked little-endian reads from a byte buffer (every offset comes from the file).
extension UnsafeRawBufferPointer {
    func checkedRange(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws(FormatError) -> Range<Int> {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw FormatError("\(what()) (bytes \(offset)..<\(offset &+ length)) lies outside the file of \(count) bytes: truncated or corrupt")
        }
        return offset..<(offset + length)
    }

    func u16(_ offset: Int) throws(FormatError) -> UInt16 {
        _ = try checkedRange(offset, 2, "a 16-bit field")
        return UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    func u32(_ offset: Int) throws(FormatError) -> UInt32 {
        _ = try checkedRange(offset, 4, "a 32-bit field")
        return UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func u64(_ offset: Int) throws(FormatError) -> UInt64 {
        _ = try checkedRange(offset, 8, "a 64-bit field")
        return UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
