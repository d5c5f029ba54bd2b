import CHDF5

/// Owns one HDF5 identifier and closes it with the matching `H5?close` exactly once.
final class Handle {
    let id: hid_t
    private let close: (hid_t) -> herr_t

    init(_ id: hid_t, close: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.close = close
        silenceLibraryErrorPrinting()
    }

    deinit {
        silenceLibraryErrorPrinting()   // the last reference may go on another thread
        _ = close(id)
    }
}
