import CHDF5

/// An open dataset (wraps `H5Dopen2`/`H5Dcreate2`; closed by `H5Dclose` on deinit).
public final class Dataset: CustomStringConvertible {
    let handle: Handle
    public let file: String
    public let name: String
    /// Extent of every dimension.
    public let shape: [Int]

    init(handle: Handle, file: String, name: String) throws {
        self.handle = handle
        self.file = file
        self.name = name
        let space = try checkID(H5Dget_space(handle.id), "H5Dget_space", "\(file):\(name)")
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        shape = rank == 0 ? [] : dims.map { Int($0) }
    }

    public var description: String { "\(file):\(name)" }

    /// Bits per value when the dataset stores floating-point numbers (16, 32, 64), else nil.
    public var floatBits: Int? {
        silenceLibraryErrorPrinting()
        guard let type = try? Handle(checkID(H5Dget_type(handle.id), "H5Dget_type", description), close: H5Tclose),
              H5Tget_class(type.id) == H5T_FLOAT else { return nil }
        return H5Tget_size(type.id) * 8
    }

    /// Byte offset of the values in the file: contiguous storage once allocated (`H5Dget_offset`).
    public var fileOffset: Int? {
        silenceLibraryErrorPrinting()
        let offset = H5Dget_offset(handle.id)
        return offset == haddr_t.max ? nil : Int(offset)
    }

    /// Number of values in one row (product of all but the first dimension).
    public var rowLength: Int { shape.dropFirst().reduce(1, *) }

    /// Writes every value (`H5Dwrite`).
    public func writeAll<T: HDF5Scalar>(_ values: [T]) throws {
        silenceLibraryErrorPrinting()
        precondition(values.count == shape.reduce(1, *), "\(description): wrong number of values")
        try values.withUnsafeBytes { raw in
            try check(H5Dwrite(handle.id, T.nativeType, chdf5_s_all(), chdf5_s_all(), hid_t(H5P_DEFAULT), raw.baseAddress),
                      "H5Dwrite", description)
        }
    }

    /// Writes `count` whole rows starting at `row` from a contiguous buffer (hyperslab `H5Dwrite`).
    public func write<T: HDF5Scalar>(rows buffer: UnsafeBufferPointer<T>, at row: Int, count: Int) throws {
        precondition(buffer.count == count * rowLength, "\(description): wrong number of values for \(count) rows")
        try withRowSelection(row: row, count: count) { memory, file in
            try check(H5Dwrite(handle.id, T.nativeType, memory, file, hid_t(H5P_DEFAULT), buffer.baseAddress),
                      "H5Dwrite", description)
        }
    }

    /// Reads every value, converted to `T` (`H5Dread`).
    public func readAll<T: HDF5Scalar>(as _: T.Type = T.self) throws -> [T] {
        silenceLibraryErrorPrinting()
        // Uninitialised storage that HDF5 fills: `[T](repeating:count:)` is not specialised across
        // the module boundary and copied each element through a value witness (6% of `prep features`).
        return try [T](unsafeUninitializedCapacity: shape.reduce(1, *)) { buffer, initialized in
            try check(H5Dread(handle.id, T.nativeType, chdf5_s_all(), chdf5_s_all(), hid_t(H5P_DEFAULT), buffer.baseAddress),
                      "H5Dread", description)
            initialized = buffer.count
        }
    }

    /// Reads `count` whole rows starting at `row` into `buffer` (hyperslab `H5Dread`).
    public func read<T: HDF5Scalar>(rows buffer: UnsafeMutableBufferPointer<T>, at row: Int, count: Int) throws {
        precondition(buffer.count == count * rowLength, "\(description): wrong buffer size for \(count) rows")
        try withRowSelection(row: row, count: count) { memory, file in
            try check(H5Dread(handle.id, T.nativeType, memory, file, hid_t(H5P_DEFAULT), buffer.baseAddress),
                      "H5Dread", description)
        }
    }

    /// Reads `count` rows starting at `row` into a new array.
    public func read<T: HDF5Scalar>(rowsAt row: Int, count: Int = 1, as _: T.Type = T.self) throws -> [T] {
        try [T](unsafeUninitializedCapacity: count * rowLength) { buffer, initialized in
            try read(rows: buffer, at: row, count: count)
            initialized = buffer.count
        }
    }

    /// Reads a 1-D dataset of fixed- or variable-length strings.
    public func readStrings() throws -> [String] {
        silenceLibraryErrorPrinting()
        let fileType = Handle(try checkID(H5Dget_type(handle.id), "H5Dget_type", description), close: H5Tclose)
        let count = shape.reduce(1, *)
        if H5Tis_variable_str(fileType.id) > 0 {
            let memType = Handle(try checkID(H5Tcopy(chdf5_t_c_s1()), "H5Tcopy", description), close: H5Tclose)
            H5Tset_size(memType.id, chdf5_variable())
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try check(H5Dread(handle.id, memType.id, chdf5_s_all(), chdf5_s_all(), hid_t(H5P_DEFAULT), &pointers), "H5Dread", description)
            defer {
                let space = H5Dget_space(handle.id)
                H5Dvlen_reclaim(memType.id, space, hid_t(H5P_DEFAULT), &pointers)
                H5Sclose(space)
            }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let length = H5Tget_size(fileType.id)
        var buffer = [UInt8](repeating: 0, count: length * count)
        try buffer.withUnsafeMutableBytes { raw in
            try check(H5Dread(handle.id, fileType.id, chdf5_s_all(), chdf5_s_all(), hid_t(H5P_DEFAULT), raw.baseAddress), "H5Dread", description)
        }
        return (0..<count).map { row in
            let bytes = buffer[(row * length)..<((row + 1) * length)].prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private func withRowSelection(
        row: Int, count: Int, _ body: (hid_t, hid_t) throws -> Void
    ) throws {
        precondition(row >= 0 && count >= 0 && row + count <= (shape.first ?? 0), "\(description): rows out of range")
        silenceLibraryErrorPrinting()
        let fileSpace = Handle(try checkID(H5Dget_space(handle.id), "H5Dget_space", description), close: H5Sclose)
        var start = [hsize_t](repeating: 0, count: shape.count)
        var extent = shape.map { hsize_t($0) }
        start[0] = hsize_t(row)
        extent[0] = hsize_t(count)
        try check(H5Sselect_hyperslab(fileSpace.id, H5S_SELECT_SET, start, nil, extent, nil),
                  "H5Sselect_hyperslab", description)
        let memory = Handle(try checkID(H5Screate_simple(Int32(extent.count), extent, nil), "H5Screate_simple", description),
                            close: H5Sclose)
        try body(memory.id, fileSpace.id)
    }
}
