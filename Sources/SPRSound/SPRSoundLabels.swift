import Foundation

/// SPRSound's label vocabulary and its four challenge tasks (`../shared/sprsound/FORMAT.md`,
/// the repository's README and `scripts/train.py`). Class orders are the agreed feature-set
/// contract (`spec/sprsound-shards.md`): do not reorder.
public enum SPRSoundLabels {
    /// Event types as the JSON spells them, in task 1-2's class order.
    public static let eventTypes = ["Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"]
    /// Record labels as the JSON spells them.
    public static let recordLabels = ["Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"]

    /// Other spellings met in the repository (README and `scripts/test.py` write "Wheeze & Crackle").
    static let eventAliases = ["Wheeze & Crackle": "Wheeze+Crackle", "Wheeze + Crackle": "Wheeze+Crackle"]

    /// One task: its name, level and classes in index order.
    public struct Task: Sendable, Equatable {
        public let name: String
        public let level: Level
        public let classes: [String]
    }

    public enum Level: String, Sendable { case event, record }

    public static let tasks: [Task] = [
        Task(name: "1-1", level: .event, classes: ["Normal", "Adventitious"]),
        Task(name: "1-2", level: .event, classes: eventTypes),
        Task(name: "2-1", level: .record, classes: ["Normal", "Poor Quality", "Adventitious"]),
        Task(name: "2-2", level: .record, classes: ["Normal", "Poor Quality", "CAS", "DAS", "CAS & DAS"]),
    ]

    /// The class index of an event type in each task (-1 for the record tasks).
    public static func eventLabels(type: String) -> [Int] {
        guard let fine = eventTypes.firstIndex(of: type) else { return [-1, -1, -1, -1] }
        return [fine == 0 ? 0 : 1, fine, -1, -1]
    }

    /// The class index of a record label in each task (-1 for the event tasks; all -1 without a label).
    public static func recordLabels(label: String?) -> [Int] {
        guard let label, let fine = tasks[3].classes.firstIndex(of: label) else { return [-1, -1, -1, -1] }
        return [-1, -1, min(fine, 2), fine]
    }

    /// The canonical spelling of an event type, and whether the input was another spelling;
    /// nil for a type that is none of the seven.
    public static func canonicalEventType(_ type: String) -> (name: String, renamed: Bool)? {
        if eventTypes.contains(type) { return (type, false) }
        let trimmed = type.trimmingCharacters(in: .whitespaces)
        if let alias = eventAliases[trimmed] { return (alias, true) }
        if let match = eventTypes.first(where: { $0.lowercased() == trimmed.lowercased() }) { return (match, true) }
        return nil
    }

    /// The canonical spelling of a record label, and whether the input was another spelling.
    public static func canonicalRecordLabel(_ label: String) -> (name: String, renamed: Bool)? {
        if recordLabels.contains(label) { return (label, false) }
        let trimmed = label.trimmingCharacters(in: .whitespaces).lowercased()
        let loose = trimmed.replacingOccurrences(of: " and ", with: " & ").replacingOccurrences(of: "&", with: " & ")
            .split(separator: " ").joined(separator: " ")
        if let match = recordLabels.first(where: { $0.lowercased() == loose }) { return (match, true) }
        return nil
    }
}

