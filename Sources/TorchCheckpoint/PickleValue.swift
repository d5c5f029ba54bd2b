/// A value decoded from a pickle, without running any Python: containers, scalars, tensors and
/// storages of PyTorch, and opaque records for instances of any other class (for example
/// `argparse.Namespace`). Containers are reference types because pickle builds them by
/// mutation after they were memoised.
public enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer beyond 64 bits: little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A reference to a class or function (`GLOBAL module name`), not resolved.
    case global(module: String, name: String)
    /// An instance of a class this reader does not interpret.
    case object(PickleObject)
    case tensor(TensorInfo)
    case storage(StorageInfo)

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var int: Int64? { if case .int(let i) = self { i } else { nil } }
    public var dict: PickleDict? { if case .dict(let d) = self { d } else { nil } }
    public var tensor: TensorInfo? { if case .tensor(let t) = self { t } else { nil } }

    /// Short name of the kind of value, for error messages.
    public var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict(let d): d.className ?? "dict"
        case .global(let m, let n): "\(m).\(n)"
        case .object(let o): o.className
        case .tensor: "tensor"
        case .storage: "storage"
        }
    }
}

/// A dict (or `collections.OrderedDict`), in insertion order.
public final class PickleDict {
    public private(set) var keys: [PickleValue] = []
    public private(set) var values: [PickleValue] = []
    private var stringIndex: [String: Int] = [:]
    /// "collections.OrderedDict" for an OrderedDict, nil for a plain dict.
    public internal(set) var className: String?
    /// State set by BUILD: an OrderedDict's instance attributes (`_metadata` of a state dict).
    public internal(set) var attributes: PickleValue?

    init(className: String? = nil) { self.className = className }

    deinit {
        var contents: [PickleValue] = []
        moveContents(to: &contents)
        PickleNesting.release(&contents)
    }

    /// Empties the dict into `pending` (tear-down without recursion).
    func moveContents(to pending: inout [PickleValue]) {
        pending += keys
        pending += values
        if let attributes { pending.append(attributes) }
        keys = []
        values = []
        attributes = nil
    }

    public var count: Int { keys.count }

    public subscript(key: String) -> PickleValue? { stringIndex[key].map { values[$0] } }

    /// Entries whose keys are strings or integers, with the key as text.
    public var namedEntries: [(name: String, value: PickleValue)] {
        zip(keys, values).compactMap { key, value in
            switch key {
            case .string(let s): (s, value)
            case .int(let i): (String(i), value)
            default: nil
            }
        }
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let s) = key {
            if let i = stringIndex[s] {
                values[i] = value
                return
            }
            stringIndex[s] = keys.count
        }
        keys.append(key)
        values.append(value)
    }
}

public final class PickleList {
    public internal(set) var items: [PickleValue] = []
    init() {}
    deinit { PickleNesting.release(&items) }
}

/// An instance of an uninterpreted class: how it was constructed and the state BUILD gave it.
public final class PickleObject {
    public let className: String
    public private(set) var arguments: [PickleValue]
    public internal(set) var state: PickleValue?

    init(className: String, arguments: [PickleValue]) {
        self.className = className
        self.arguments = arguments
    }

    deinit {
        var contents: [PickleValue] = []
        moveContents(to: &contents)
        PickleNesting.release(&contents)
    }

    /// Empties the record into `pending` (tear-down without recursion).
    func moveContents(to pending: inout [PickleValue]) {
        pending += arguments
        if let state { pending.append(state) }
        arguments = []
        state = nil
    }
}

/// Element types of PyTorch storages.
public enum ScalarType: String, Sendable, CaseIterable {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    public var byteCount: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    public var isFloatingPoint: Bool { [.float32, .float64, .float16, .bfloat16].contains(self) }

    /// The type named by a pickled storage class (`torch.FloatStorage`, ...).
    init?(storageClass name: String) {
        switch name {
        case "FloatStorage": self = .float32
        case "DoubleStorage": self = .float64
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage", "UntypedStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }
}

/// A storage referenced by the pickle: its key in the file, element type and element count.
public struct StorageInfo: Sendable, Equatable {
    public var key: String
    public var scalarType: ScalarType
    public var count: Int
    /// Legacy files: a view of another storage starting `viewOffset` elements in.
    public var viewOffset: Int = 0
}

/// A tensor: a strided view of a storage.
public struct TensorInfo: Sendable, Equatable {
    public var storage: StorageInfo
    public var offset: Int
    public var shape: [Int]
    public var strides: [Int]

    public var scalarType: ScalarType { storage.scalarType }
    public var count: Int { shape.reduce(1, *) }
}
