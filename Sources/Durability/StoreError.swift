/// Errors of the on-disk layer, each naming the file concerned and the reason.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case io(path: String, reason: String)
    case malformed(path: String, line: Int?, reason: String)
    case locked(path: String, holder: String)
    case mismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .malformed(let path, let line, let reason): "\(path)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case .locked(let path, let holder): "\(path): in use by another run (\(holder))"
        case .mismatch(let path, let reason): "\(path): \(reason)"
        }
    }

    /// What is wrong, without the file's name.
    public var reason: String {
        switch self {
        case .io(_, let reason), .mismatch(_, let reason): reason
        case .malformed(_, let line, let reason): line.map { "line \($0): \(reason)" } ?? reason
        case .locked(_, let holder): "in use by another run (\(holder))"
        }
    }

    /// The file concerned.
    public var path: String {
        switch self {
        case .io(let path, _), .malformed(let path, _, _), .locked(let path, _), .mismatch(let path, _): path
        }
    }
}
