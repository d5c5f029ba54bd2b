/// Splits a small text file into non-blank lines of whitespace-separated fields.
///
/// Shared by the annotation parser and the metadata reader so that every ICBHI text file
/// follows the same rules: lines end in LF, CRLF or a lone CR (Swift treats `"\r\n"` as a
/// single `Character`, so splitting on `"\n"` would miss CRLF; this works on UTF-8 bytes
/// instead); fields are separated by runs of ASCII space, tab, vertical tab or form feed;
/// blank and whitespace-only lines are dropped but still counted for line numbers; a
/// leading byte-order mark is ignored.
struct TextRecord: Sendable, Equatable {
    /// 1-based line number in the file.
    let line: Int
    let fields: [String]
}

enum TextRecords {
    static func split(_ text: String) -> [TextRecord] {
        var records: [TextRecord] = []
        let bytes = Array(text.utf8)
        var position = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        var line = 1
        var fields: [String] = []
        var fieldStart: Int?

        func closeField(at end: Int) {
            if let start = fieldStart {
                fields.append(String(decoding: bytes[start..<end], as: UTF8.self))
                fieldStart = nil
            }
        }
        func closeLine(at end: Int) {
            closeField(at: end)
            if !fields.isEmpty { records.append(TextRecord(line: line, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
            line += 1
        }

        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case 0x0A:
                closeLine(at: position)
            case 0x0D:
                closeLine(at: position)
                if position + 1 < bytes.count, bytes[position + 1] == 0x0A { position += 1 }
            case 0x20, 0x09, 0x0B, 0x0C:
                closeField(at: position)
            default:
                if fieldStart == nil { fieldStart = position }
            }
            position += 1
        }
        closeField(at: bytes.count)
        if !fields.isEmpty { records.append(TextRecord(line: line, fields: fields)) }
        return records
    }

    /// Parses a plain decimal number (`12`, `0.5`, `-1.25e3`); rejects `nan`, `inf`, hex
    /// floats and anything that would not be finite, which `Double.init(_:)` would accept.
    static func decimal(_ text: String) -> Double? {
        var sawDigit = false
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39: sawDigit = true
            case UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "e"), UInt8(ascii: "E"): break
            default: return nil
            }
        }
        guard sawDigit, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// Parses a plain non-negative decimal integer of at most 9 digits.
    static func integer(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 9, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(text)
    }
}
