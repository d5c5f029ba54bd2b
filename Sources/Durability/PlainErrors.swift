import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Foundation's errors in words a user can act on. `"\(error)"` of a `DecodingError` or an
/// `NSError` prints Swift type names, coding keys and user-info dictionaries
/// (`keyNotFound(CodingKeys(stringValue: "method", intValue: nil), ...)`, `Error
/// Domain=NSCocoaErrorDomain Code=516 ...`); these name the field or the system's reason instead.
public enum PlainErrors {
    /// A JSON decoding failure: `the field "method" is missing`, `"history[2].epoch" is text,
    /// expected a number`, `not valid JSON (...)`. Other errors as they describe themselves.
    public static func decoding(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return file(error) }
        switch error {
        case .keyNotFound(let key, let context):
            return "the field \(field(context.codingPath + [key])) is missing"
        case .valueNotFound(let type, let context):
            return "the field \(field(context.codingPath)) is null, expected \(kind(type))"
        case .typeMismatch(let type, let context):
            return context.codingPath.isEmpty ? "expected \(kind(type)) at the top level"
                : "the field \(field(context.codingPath)) is not \(kind(type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                return "not valid JSON" + (detail.map { " (\($0.trimmingCharacters(in: CharacterSet(charactersIn: ". "))))" } ?? ": truncated or corrupt")
            }
            return "the field \(field(context.codingPath)) holds a value this program does not accept"
        @unknown default:
            return "not the expected JSON document"
        }
    }

    /// A file-system failure of Foundation (`FileManager`, `Data.write`): the system's reason
    /// ("File exists", "Read-only file system") where it gives one. Other errors unchanged.
    public static func file(_ error: Error) -> String {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        // `as? NSError` on the user-info value fails on Linux when it holds a Swift error: bridge it.
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error {
            let bridged = underlying as NSError
            if bridged.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(bridged.code))) }
        }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileWriteFileExists: return String(cString: strerror(EEXIST))
        case .fileWriteVolumeReadOnly: return String(cString: strerror(EROFS))
        case .fileWriteNoPermission, .fileReadNoPermission: return String(cString: strerror(EACCES))
        case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
        case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
        default: return ns.localizedDescription
        }
    }

    /// `"history[2].epoch"`.
    private static func field(_ path: [CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue, key.stringValue.hasPrefix("Index ") || key.stringValue == "\(index)" {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return "\"\(text)\""
    }

    /// What a Swift type is in JSON terms.
    private static func kind(_ type: Any.Type) -> String {
        let name = String(describing: type)
        let bare = name.hasPrefix("Optional<") ? String(name.dropFirst("Optional<".count).dropLast()) : name
        if bare.hasPrefix("Array<") || bare.hasPrefix("[") { return "a list" }
        if ["Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64", "Double", "Float"].contains(bare) { return "a number" }
        if bare == "String" { return "text" }
        if bare == "Bool" { return "true or false" }
        return "an object"
    }
}

extension String {
    /// The string without `prefix` when it starts with it ("<path>: " before a reason that
    /// goes next to a list naming the file already).
    public func droppingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
