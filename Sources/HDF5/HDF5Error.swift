import CHDF5
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An HDF5 call failed. Carries the C function, the file it concerned and HDF5's own
/// innermost error message (HDF5's automatic printing to stderr is switched off).
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    public let function: String
    public let path: String
    public let message: String
    /// The problem in the user's terms where it is known (a file that cannot be opened);
    /// nil: the description gives HDF5's own words.
    public let cause: String?

    init(function: String, path: String, message: String, cause: String? = nil) {
        self.function = function
        self.path = path
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(path): \(reason)" }

    /// What went wrong, without the file's name.
    public var reason: String { cause ?? "HDF5 \(function) failed: \(message)" }

    /// Why `H5Fopen` refused a file, in words ("unknown error" and "truncated file: eof =
    /// 512, sblock->base_addr = 0, stored_eof = 8192" mean nothing to a user).
    static func openFailure(path: String, message: String) -> HDF5Error {
        let m = message.lowercased()
        let cause = if m.contains("truncated file") {
            "not a readable HDF5 file: truncated (it ends before the size its header records)"
        } else if m.contains("signature not found") {
            "not a readable HDF5 file: no HDF5 signature (corrupt, or another kind of file)"
        } else if m.contains("no such file") {
            "missing (no such file)"
        } else if m.contains("permission denied") {
            "cannot open: permission denied"
        } else {
            "not a readable HDF5 file (truncated or corrupt)"
        }
        return HDF5Error(function: "H5Fopen", path: path, message: message, cause: cause)
    }

    /// Captures the current HDF5 error stack's deepest message and clears the stack.
    static func capture(_ function: String, path: String) -> HDF5Error {
        var message = "unknown error"
        withUnsafeMutablePointer(to: &message) { box in
            _ = H5Ewalk2(hid_t(H5E_DEFAULT), H5E_WALK_UPWARD, { _, description, context in
                guard let description, let context, let text = description.pointee.desc else { return 0 }
                let box = context.assumingMemoryBound(to: String.self)
                if box.pointee == "unknown error" { box.pointee = String(cString: text) }
                return 0
            }, box)
        }
        H5Eclear2(hid_t(H5E_DEFAULT))
        return HDF5Error(function: function, path: path, message: conciseMessage(message))
    }

    /// HDF5's I/O messages span lines and list buffers and offsets ("file write failed: time =
    /// ...\n, filename = ..., errno = 27, error message = 'File too large', buf = ..."): keep what
    /// failed and the system's reason, on one line.
    static func conciseMessage(_ message: String) -> String {
        let marker = "error message = '"
        if let start = message.range(of: marker), let end = message[start.upperBound...].firstIndex(of: "'") {
            let what = message[..<start.lowerBound].prefix { $0 != ":" && $0 != "," && !$0.isNewline }
            return "\(what): \(message[start.upperBound..<end])"
        }
        return message.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// Once per process, before the library initialises: no `H5_term_library` at exit. After a
/// failed `H5Fclose` (a write error such as EFBIG or ENOSPC while flushing) HDF5 1.10 keeps a
/// half-closed file in its ID table and its exit handler crashed on it (SIGSEGV in
/// `H5F__close_cb` after the run had already reported the error). Every file this project
/// writes is flushed and closed explicitly before it is published, so nothing is lost.
private let libraryPrepared: Void = {
    H5dont_atexit()
}()

/// HDF5's automatic error printing (`HDF5-DIAG: ...` on stderr) is a per-thread setting in
/// thread-safe builds (Debian's is one): switching it off on the first thread left every worker
/// thread printing. Each thread switches it off before its first HDF5 call; errors surface as
/// `HDF5Error` only.
private let quietThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// Switches HDF5's error printing off for the calling thread (cheap after the first call).
@inline(__always)
func silenceLibraryErrorPrinting() {
    guard pthread_getspecific(quietThreadKey) == nil else { return }
    _ = libraryPrepared
    H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
    pthread_setspecific(quietThreadKey, UnsafeRawPointer(bitPattern: 1))
}

/// Checks a C status (negative = failure) and throws with context.
func check(_ status: herr_t, _ function: String, _ path: String) throws {
    if status < 0 { throw HDF5Error.capture(function, path: path) }
}

/// Checks a returned identifier (negative = failure) and throws with context.
func checkID(_ id: hid_t, _ function: String, _ path: String) throws -> hid_t {
    if id < 0 { throw HDF5Error.capture(function, path: path) }
    return id
}
