/// A checkpoint could not be read: the file and what is wrong with it.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A format violation found while parsing; `TorchCheckpoint` adds the file's path.
struct FormatError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
