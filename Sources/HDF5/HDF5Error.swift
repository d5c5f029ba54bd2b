import CHDF5

/// An HDF5 call failed. Carries the C function, the file it concerned and HDF5's own
/// innermost error message (HDF5's automatic printing to stderr is switched off).
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    public let function: String
    public let path: String
    public let message: String

    public var description: String { "\(path): HDF5 \(function) failed: \(message)" }

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
        return HDF5Error(function: function, path: path, message: message)
    }
}

/// Silences HDF5's default error printer once per process: errors surface as `HDF5Error`.
let silenceLibraryErrorPrinting: Void = {
    H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
}()

/// Checks a C status (negative = failure) and throws with context.
func check(_ status: herr_t, _ function: String, _ path: String) throws {
    if status < 0 { throw HDF5Error.capture(function, path: path) }
}

/// Checks a returned identifier (negative = failure) and throws with context.
func checkID(_ id: hid_t, _ function: String, _ path: String) throws -> hid_t {
    if id < 0 { throw HDF5Error.capture(function, path: path) }
    return id
}
