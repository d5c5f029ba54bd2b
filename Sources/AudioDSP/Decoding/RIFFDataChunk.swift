import Glibc

/// Where a RIFF/WAVE file's `data` chunk starts and how many bytes its header declares.
///
/// libsndfile opens a WAV whose data chunk runs past the end of the file without complaint
/// (it only notes "should be N" in its log) and reports the frames that are present, so a
/// truncated recording would decode as a shorter one. ``AudioDecoder`` walks the chunk list
/// itself with this type to tell the two apart.
struct RIFFDataChunk: Equatable {
    /// Byte offset of the first sample.
    var offset: Int
    /// Bytes the chunk header declares.
    var declaredBytes: Int

    /// Walks the chunks of the RIFF, RIFX or RF64 file open on `fd` (read with `pread`, so the
    /// descriptor's offset is untouched). Returns nil when the file is not such a file, has no
    /// `data` chunk, or declares a placeholder size (0 or 0xFFFFFFFF, written by streaming
    /// encoders).
    static func locate(fd: Int32) -> RIFFDataChunk? {
        guard let head = read(fd: fd, at: 0, count: 12), head.count == 12 else { return nil }
        let magic = String(decoding: head[0..<4], as: UTF8.self)
        let form = String(decoding: head[8..<12], as: UTF8.self)
        guard form == "WAVE", ["RIFF", "RIFX", "RF64"].contains(magic) else { return nil }
        let bigEndian = magic == "RIFX"
        var ds64DataBytes: Int?
        var position = 12
        // A WAV has a handful of chunks; the bound only stops a corrupt size loop.
        for _ in 0..<4096 {
            guard let header = read(fd: fd, at: position, count: 8), header.count == 8 else { return nil }
            let id = String(decoding: header[0..<4], as: UTF8.self)
            let size = Int(uint32(header, at: 4, bigEndian: bigEndian))
            if id == "ds64", let body = read(fd: fd, at: position + 8, count: 16), body.count == 16 {
                ds64DataBytes = Int(truncatingIfNeeded: uint64(body, at: 8))
            }
            if id == "data" {
                let declared = (magic == "RF64" && size == 0xFFFF_FFFF) ? ds64DataBytes : size
                guard let declared, declared != 0, declared != 0xFFFF_FFFF else { return nil }
                return RIFFDataChunk(offset: position + 8, declaredBytes: declared)
            }
            position += 8 + size + (size & 1)
        }
        return nil
    }

    private static func read(fd: Int32, at offset: Int, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard got >= 0 else { return nil }
        return Array(bytes.prefix(got))
    }

    private static func uint32(_ b: [UInt8], at i: Int, bigEndian: Bool) -> UInt32 {
        let v = (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[i + $1]) << (8 * UInt32($1)) }
        return bigEndian ? v.byteSwapped : v
    }

    private static func uint64(_ b: [UInt8], at i: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) }
    }
}
