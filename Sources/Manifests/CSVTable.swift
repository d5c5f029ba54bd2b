import Durability
import Foundation

/// Minimal RFC 4180 CSV: a header row then one row per record. Fields that contain a comma,
/// quote or newline are quoted (ICBHI values never need it, free-text reasons might).
public struct CSVTable: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]] = []) {
        self.header = header
        self.rows = rows
    }

    public func encoded() -> String {
        var text = ""
        for row in [header] + rows {
            text += row.map(Self.escape).joined(separator: ",")
            text += "\n"
        }
        return text
    }

    /// Parses CSV text. `path` only labels errors.
    public init(parsing text: String, path: String) throws {
        var records: [[String]] = []
        var field = ""
        var record: [String] = []
        var quoted = false
        var index = text.startIndex
        var line = 1
        while index < text.endIndex {
            let character = text[index]
            if quoted {
                if character == "\"" {
                    let next = text.index(after: index)
                    if next < text.endIndex, text[next] == "\"" {
                        field.append("\"")
                        index = next
                    } else {
                        quoted = false
                    }
                } else {
                    if character == "\n" { line += 1 }
                    field.append(character)
                }
            } else if character == "\"" && field.isEmpty {
                quoted = true
            } else if character == "," {
                record.append(field)
                field = ""
            } else if character == "\n" || character == "\r\n" {
                record.append(field)
                records.append(record)
                record = []
                field = ""
                line += 1
            } else if character != "\r" {
                field.append(character)
            }
            index = text.index(after: index)
        }
        if quoted { throw StoreError.malformed(path: path, line: line, reason: "unterminated quoted field") }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        guard let header = records.first else { throw StoreError.malformed(path: path, line: 1, reason: "empty CSV file") }
        for (offset, row) in records.enumerated().dropFirst() where row.count != header.count {
            throw StoreError.malformed(path: path, line: offset + 1,
                                       reason: "\(row.count) fields, header has \(header.count)")
        }
        self.header = header
        self.rows = Array(records.dropFirst())
    }

    /// Column position by name, with a clear error when absent.
    public func column(_ name: String, path: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw StoreError.malformed(path: path, line: 1, reason: "missing column '\(name)'")
        }
        return index
    }

    private static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
