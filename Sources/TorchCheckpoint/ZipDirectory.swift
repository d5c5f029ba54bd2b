/// The entries of a zip archive, read from its central directory (ZIP64 included). PyTorch's
/// writer stores entries uncompressed (method 0), so an entry's data is a byte range of the
/// file and can be used in place; compressed or encrypted entries are refused when read.
struct ZipDirectory {
    struct Entry {
        var name: String
        var method: UInt16
        var flags: UInt16
        var crc32: UInt32
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    let entries: [Entry]
    private let byName: [String: Int]

    static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && (try? bytes.u32(0)) == 0x0403_4b50
    }

    init(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        let eocd = try Self.findEndOfCentralDirectory(bytes)
        var total = Int(try bytes.u16(eocd + 10))
        var directorySize = Int(try bytes.u32(eocd + 12))
        var directoryOffset = Int(try bytes.u32(eocd + 16))
        if total == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: the locator sits just before the classic record and points at the zip64 record.
            guard eocd >= 20, try bytes.u32(eocd - 20) == 0x0706_4b50 else {
                throw FormatError("zip: ZIP64 sizes announced but no ZIP64 locator found")
            }
            let record = try Self.int(try bytes.u64(eocd - 20 + 8), "ZIP64 record offset")
            guard try bytes.u32(record) == 0x0606_4b50 else { throw FormatError("zip: bad ZIP64 end-of-directory record") }
            total = try Self.int(try bytes.u64(record + 32), "entry count")
            directorySize = try Self.int(try bytes.u64(record + 40), "directory size")
            directoryOffset = try Self.int(try bytes.u64(record + 48), "directory offset")
        }
        _ = try bytes.checkedRange(directoryOffset, directorySize, "the zip central directory")
        var entries: [Entry] = []
        var byName: [String: Int] = [:]
        var p = directoryOffset
        for i in 0..<total {
            guard try bytes.u32(p) == 0x0201_4b50 else {
                throw FormatError("zip: central directory entry \(i) of \(total) is damaged (bad signature at byte \(p))")
            }
            let nameLength = Int(try bytes.u16(p + 28)), extraLength = Int(try bytes.u16(p + 30))
            let commentLength = Int(try bytes.u16(p + 32))
            let nameRange = try bytes.checkedRange(p + 46, nameLength, "a zip entry name")
            var entry = Entry(
                name: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameRange]), as: UTF8.self),
                method: try bytes.u16(p + 10), flags: try bytes.u16(p + 8), crc32: try bytes.u32(p + 16),
                compressedSize: Int(try bytes.u32(p + 20)), size: Int(try bytes.u32(p + 24)),
                localHeaderOffset: Int(try bytes.u32(p + 42)))
            try Self.applyZip64Extra(bytes, at: nameRange.upperBound, length: extraLength, to: &entry)
            byName[entry.name] = entries.count
            entries.append(entry)
            p = nameRange.upperBound + extraLength + commentLength
        }
        self.entries = entries
        self.byName = byName
    }

    func entry(named name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The stored bytes of `entry`, checked against its size (and, with `verify`, its CRC-32).
    func data(of entry: Entry, in bytes: UnsafeRawBufferPointer, verify: Bool) throws(FormatError) -> Range<Int> {
        guard entry.flags & 1 == 0 else { throw FormatError("zip entry \(entry.name) is encrypted") }
        guard entry.method == 0 else {
            throw FormatError("zip entry \(entry.name) is compressed (method \(entry.method)); torch.save stores entries uncompressed: re-save the file with torch.save")
        }
        guard entry.compressedSize == entry.size else {
            throw FormatError("zip entry \(entry.name): stored size \(entry.compressedSize) differs from its size \(entry.size)")
        }
        let h = entry.localHeaderOffset
        guard try bytes.u32(h) == 0x0403_4b50 else {
            throw FormatError("zip entry \(entry.name): bad local header at byte \(h)")
        }
        let start = h + 30 + Int(try bytes.u16(h + 26)) + Int(try bytes.u16(h + 28))
        let range = try bytes.checkedRange(start, entry.size, "zip entry \(entry.name)")
        if verify {
            let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[range]))
            guard crc == entry.crc32 else {
                throw FormatError("zip entry \(entry.name) is corrupt (CRC-32 \(hex(crc)), expected \(hex(entry.crc32)))")
            }
        }
        return range
    }

    private static func findEndOfCentralDirectory(_ bytes: UnsafeRawBufferPointer) throws(FormatError) -> Int {
        // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        var p = bytes.count - 22
        while p >= lowest {
            if bytes[p] == 0x50, bytes[p + 1] == 0x4b, bytes[p + 2] == 5, bytes[p + 3] == 6 { return p }
            p -= 1
        }
        throw FormatError("zip: no end-of-central-directory record: the file is truncated or not a zip archive")
    }

    private static func applyZip64Extra(_ bytes: UnsafeRawBufferPointer, at start: Int, length: Int,
                                        to entry: inout Entry) throws(FormatError) {
        let range = try bytes.checkedRange(start, length, "a zip extra field")
        var p = range.lowerBound
        while p + 4 <= range.upperBound {
            let id = try bytes.u16(p), size = Int(try bytes.u16(p + 2))
            if id == 0x0001 {
                var q = p + 4
                func next() throws(FormatError) -> Int {
                    guard q + 8 <= p + 4 + size else { throw FormatError("zip: short ZIP64 extra field in \(entry.name)") }
                    defer { q += 8 }
                    return try int(try bytes.u64(q), "ZIP64 field")
                }
                if entry.size == 0xFFFF_FFFF { entry.size = try next() }
                if entry.compressedSize == 0xFFFF_FFFF { entry.compressedSize = try next() }
                if entry.localHeaderOffset == 0xFFFF_FFFF { entry.localHeaderOffset = try next() }
            }
            p += 4 + size
        }
    }

    private static func int(_ value: UInt64, _ what: String) throws(FormatError) -> Int {
        guard value <= UInt64(Int.max) else { throw FormatError("zip: \(what) \(value) is out of range") }
        return Int(value)
    }
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

/// CRC-32 (IEEE 802.3, as zip uses), slicing by 8.
enum CRC32 {
    private static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xFF)] }
        }
        return t
    }()

    static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        let n = data.count
        var i = 0
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7]
            while i + 8 <= n {
                let lo = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: i, as: UInt32.self)) ^ crc
                let hi = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                crc = t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)] ^ t4[Int(lo >> 24)]
                    ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)] ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                crc = t0[Int((crc ^ UInt32(data[i])) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
