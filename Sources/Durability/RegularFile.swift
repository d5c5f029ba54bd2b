import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files this project reads are plain files. Opening a named pipe for reading waits for a
/// writer, forever, and a device or socket is never what was meant: such paths are refused,
/// by what `stat` says, before anything opens them.
public enum RegularFile {
    /// What a path that exists is, when it is not a regular file: "a named pipe", "a
    /// directory", ...; nil for a regular file or a path that cannot be looked at (whose
    /// opening then fails with the system's own reason).
    public static func otherKind(at path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return kind(info.st_mode)
    }

    /// nil for a regular file, else what it is.
    public static func kind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "an unusual kind of file"
        }
    }

    /// Throws `StoreError.io` "not a regular file (a named pipe)" for anything but a regular file.
    public static func check(_ path: String) throws(StoreError) {
        if let kind = otherKind(at: path) { throw StoreError.io(path: path, reason: "not a regular file (\(kind))") }
    }

    /// A regular file's bytes; nil when it is missing or unreadable, as `FileManager.contents(atPath:)`.
    public static func contents(atPath path: String) throws(StoreError) -> Data? {
        try check(path)
        return FileManager.default.contents(atPath: path)
    }
}
