import Foundation

/// One SPRSound annotation file parsed: the record label (if any) and the events sorted by
/// start, with every oddity as a `SPRSoundIssue`. Accepts the three schemas (FORMAT.md): A (one
/// line, `record_annotation`), B (indented, events only), C (`recording_annotation`, numeric
/// times); times as strings or numbers of milliseconds. Never throws: a file that cannot be
/// used comes back with no events, no label and an issue saying why.
public struct SPRSoundAnnotation: Sendable, Equatable {
    public struct Event: Sendable, Equatable {
        /// Position in the file's `event_annotation` array (0-based), for messages.
        public let position: Int
        /// Seconds.
        public let start: Double
        public let end: Double
        /// The canonical type name (one of `SPRSoundLabels.eventTypes`).
        public let type: String

        public init(position: Int, start: Double, end: Double, type: String) {
            self.position = position
            self.start = start
            self.end = end
            self.type = type
        }
    }

    /// `record_annotation` (or variant C's `recording_annotation`), canonical; nil when absent or unusable.
    public var recordLabel: String?
    /// Kept events, sorted by start (then end, then position).
    public var events: [Event] = []
    public var issues: [SPRSoundIssue] = []
    /// The file cannot be used at all (invalid JSON, not an object, no annotation).
    public var unusable: Bool = false

    /// At most this many events' problems (and overlapping pairs) are listed one by one per
    /// file; the rest are counted in one more line (a hostile file cannot flood the report).
    public static let listedPerFile = 100

    public static func parse(_ data: Data) -> SPRSoundAnnotation {
        var result = SPRSoundAnnotation()
        func issue(_ kind: SPRSoundIssue.Kind, _ reason: String) { result.issues.append(.init(kind: kind, reason: reason)) }
        var skippedEvents = 0
        func skipEvent(_ reason: String) {
            skippedEvents += 1
            if skippedEvents <= listedPerFile { issue(.skippedItem, reason) }
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            result.unusable = true
            issue(.skippedFile, data.isEmpty ? "empty file, not JSON" : "invalid or truncated JSON (\(Self.describe(error)))")
            return result
        }
        guard case .object(let object) = value else {
            result.unusable = true
            issue(.skippedFile, "JSON \(value.kindName), expected an object with event_annotation")
            return result
        }
        let known: Set<String> = ["record_annotation", "recording_annotation", "event_annotation"]
        let unknown = object.keys.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            let listed = unknown.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            issue(.notice, "unknown key\(unknown.count == 1 ? "" : "s") \(listed)\(unknown.count > 5 ? " and \(unknown.count - 5) more" : "") ignored")
        }

        // The record label: A's `record_annotation`, C's `recording_annotation`.
        let labelKey = object["record_annotation"] != nil ? "record_annotation" : "recording_annotation"
        if object["record_annotation"] != nil, object["recording_annotation"] != nil {
            issue(.notice, "both record_annotation and recording_annotation: record_annotation used")
        }
        switch object[labelKey] {
        case nil, .null?:
            break
        case .string(let text)?:
            if let canonical = SPRSoundLabels.canonicalRecordLabel(text) {
                result.recordLabel = canonical.name
                if canonical.renamed { issue(.notice, "\(labelKey) '\(text)' read as '\(canonical.name)'") }
            } else {
                issue(.skippedItem, "\(labelKey) '\(text)' is not one of \(SPRSoundLabels.recordLabels.joined(separator: ", ")): the record has no label")
            }
        case let other?:
            issue(.skippedItem, "\(labelKey) is a JSON \(other.kindName), expected a string: the record has no label")
        }

        let list: [JSONValue]
        switch object["event_annotation"] {
        case .array(let items)?: list = items
        case nil, .null?:
            list = []
            if result.recordLabel == nil {
                result.unusable = true
                issue(.skippedFile, "no event_annotation and no record label: nothing to use")
                return result
            }
            issue(.notice, "no event_annotation: the record item only")
        case let other?:
            if result.recordLabel == nil {
                result.unusable = true
                issue(.skippedFile, "event_annotation is a JSON \(other.kindName), expected an array")
                return result
            }
            list = []
            issue(.skippedItem, "event_annotation is a JSON \(other.kindName), expected an array: no events, the record item only")
        }
        if list.isEmpty, object["event_annotation"] != nil, result.recordLabel != nil {
            issue(.notice, "empty event list: the record item only")
        }

        var events: [Event] = []
        for (position, item) in list.enumerated() {
            let at = "event_annotation[\(position)]"
            guard case .object(let fields) = item else {
                skipEvent("\(at) is a JSON \(item.kindName), expected an object: skipped")
                continue
            }
            var bad: [String] = []
            func milliseconds(_ key: String) -> Double? {
                switch fields[key] {
                case .string(let text)?:
                    let trimmed = text.trimmingCharacters(in: .whitespaces)
                    guard let ms = Double(trimmed), ms.isFinite, !trimmed.isEmpty,
                          trimmed.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" || $0 == "E" }) else {
                        bad.append("\(key) '\(text)' is not a number of milliseconds"); return nil
                    }
                    return ms
                case .number(let ms)?:
                    guard ms.isFinite else { bad.append("\(key) is not finite"); return nil }
                    return ms
                case nil: bad.append("no \(key)"); return nil
                case let other?: bad.append("\(key) is a JSON \(other.kindName)"); return nil
                }
            }
            let start = milliseconds("start"), end = milliseconds("end")
            var type: String?
            switch fields["type"] {
            case .string(let text)?:
                if let canonical = SPRSoundLabels.canonicalEventType(text) {
                    type = canonical.name
                    if canonical.renamed { issue(.notice, "\(at): type '\(text)' read as '\(canonical.name)'") }
                } else {
                    bad.append("unknown event type '\(text)' (expected one of \(SPRSoundLabels.eventTypes.joined(separator: ", ")))")
                }
            case nil: bad.append("no type")
            case let other?: bad.append("type is a JSON \(other.kindName)")
            }
            if let start, start < 0 { bad.append("negative start \(Self.format(start)) ms") }
            if let end, end < 0 { bad.append("negative end \(Self.format(end)) ms") }
            guard bad.isEmpty, let start, let end, let type else {
                skipEvent("\(at): \(bad.joined(separator: "; ")): skipped")
                continue
            }
            if end == start {
                skipEvent("\(at): zero-length event at \(Self.format(start)) ms: skipped")
                continue
            }
            if end < start {
                skipEvent("\(at): ends (\(Self.format(end)) ms) before it starts (\(Self.format(start)) ms): skipped")
                continue
            }
            events.append(Event(position: position, start: start / 1000, end: end / 1000, type: type))
        }
        if skippedEvents > listedPerFile {
            issue(.skippedItem, "\(skippedEvents - listedPerFile) more events skipped (not listed: \(listedPerFile) per file)")
        }
        let sorted = events.sorted { ($0.start, $0.end, $0.position) < ($1.start, $1.end, $1.position) }
        if sorted.map(\.position) != events.map(\.position) {
            issue(.notice, "events not in time order: sorted by start")
        }
        // Overlaps are kept as annotated (the maintainers' later fix moves the later start; a
        // parser meets both forms): noted once per pair.
        var listed = 0
        pairs: for (i, event) in sorted.enumerated() {
            for other in sorted[(i + 1)...] {
                guard other.start < event.end else { break }   // sorted by start: no later one overlaps
                guard listed < listedPerFile else { break pairs }
                listed += 1
                issue(.notice, "event_annotation[\(event.position)] (\(Self.format(event.start * 1000))-\(Self.format(event.end * 1000)) ms) "
                      + "overlaps event_annotation[\(other.position)] (\(Self.format(other.start * 1000))-\(Self.format(other.end * 1000)) ms): both kept as annotated")
            }
        }
        if listed == listedPerFile {
            // Counted in one pass: events that start before an earlier one ends.
            var furthest = -Double.infinity, overlapping = 0
            for event in sorted {
                if event.start < furthest { overlapping += 1 }
                furthest = max(furthest, event.end)
            }
            issue(.notice, "\(overlapping) events overlap an earlier one in all (the first \(listedPerFile) overlapping pairs listed)")
        }
        result.events = sorted
        if sorted.isEmpty, result.recordLabel == nil, !result.unusable {
            result.unusable = true
            issue(.skippedFile, "no valid event and no record label: nothing to use")
        }
        return result
    }

    static func format(_ ms: Double) -> String {
        ms == ms.rounded() && abs(ms) < 1e15 ? String(Int(ms)) : String(ms)
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return context.underlyingError.map { String(describing: $0) } ?? context.debugDescription
        }
        return String(describing: error)
    }
}

/// Something odd in an SPRSound file; `Kind` decides what happened to the data.
public struct SPRSoundIssue: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The whole file contributes nothing.
        case skippedFile
        /// One event (or the record label) contributes nothing.
        case skippedItem
        /// Kept; the remark is informational.
        case notice
    }
    public let kind: Kind
    public let reason: String
}

/// Any JSON value, decoded without losing its type (a number stays a number, a string a string).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
