import HDF5

/// One stored row's metadata as the shard writes it (`/cycle_id`, `/label`, `/fold`, ...). Plain
/// values, so that the storage layer needs no knowledge of ICBHI; the manifest side converts.
public struct ShardRow: Sendable, Equatable {
    public var id: String
    public var recording: String
    public var patient: Int
    /// 4-class label: 0 normal, 1 crackle, 2 wheeze, 3 both.
    public var label: Int
    /// 2-class label: 0 normal, 1 abnormal (``binaryLabel(of:)``).
    public var binaryLabel: Int

    /// The 2-class label of a 4-class one: 0 normal, 1 any adventitious sound. The rule's one home
    /// below the ICBHI module (whose `CycleLabel.binary` the manifests use): shards' `/label2`
    /// when derived, training's 2-class labels and the synthetic test shards read it.
    public static func binaryLabel(of label: Int) -> Int { label == 0 ? 0 : 1 }
    public var crackle: Bool
    public var wheeze: Bool
    public var split: String
    /// Patient-wise fold, nil when unknown (stored as -1).
    public var fold: Int?
    public var device: String
    public var location: String
    /// Seconds in the recording.
    public var start: Double
    public var end: Double
    /// Task-described corpora (`feature-shards/2`): the row's level, task labels and demographics.
    /// Nil for ICBHI, whose shards store `/label`, `/label2`, `/crackle`, `/wheeze` instead.
    public var tasks: TaskColumns?

    public init(id: String, recording: String, patient: Int, label: Int, binaryLabel: Int, crackle: Bool, wheeze: Bool,
                split: String, fold: Int?, device: String, location: String, start: Double, end: Double) {
        self.id = id
        self.recording = recording
        self.patient = patient
        self.label = label
        self.binaryLabel = binaryLabel
        self.crackle = crackle
        self.wheeze = wheeze
        self.split = split
        self.fold = fold
        self.device = device
        self.location = location
        self.start = start
        self.end = end
    }
}

/// A shard root attribute's value; FeatureStore's own type so that callers need not import HDF5.
public enum ShardAttributeValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case double(Double)

    var hdf5: AttributeValue {
        switch self {
        case .string(let value): .string(value)
        case .integer(let value): .integer(value)
        case .double(let value): .double(value)
        }
    }

    init?(_ value: AttributeValue) {
        switch value {
        case .string(let value): self = .string(value)
        case .integer(let value): self = .integer(value)
        case .double(let value): self = .double(value)
        case .doubles: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var integerValue: Int64? { if case .integer(let i) = self { i } else { nil } }
    public var doubleValue: Double? {
        switch self {
        case .double(let d): d
        case .integer(let i): Double(i)
        case .string: nil
        }
    }
}
