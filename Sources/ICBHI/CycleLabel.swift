/// The 4-class label of one respiratory cycle, as the ICBHI challenge and the Patch-Mix
/// paper number it: `crackle + 2 * wheeze`.
public enum CycleLabel: Int, Sendable, CaseIterable, Codable {
    case normal = 0
    case crackle = 1
    case wheeze = 2
    case both = 3

    /// The label for an annotation line's two flags.
    public init(crackle: Bool, wheeze: Bool) {
        self = CycleLabel(rawValue: (crackle ? 1 : 0) + (wheeze ? 2 : 0))!
    }

    /// The 2-class label: 0 for normal, 1 for any adventitious sound.
    public var binary: Int { self == .normal ? 0 : 1 }

    /// Lower-case English name, for logs and tables.
    public var name: String {
        switch self {
        case .normal: "normal"
        case .crackle: "crackle"
        case .wheeze: "wheeze"
        case .both: "both"
        }
    }
}
