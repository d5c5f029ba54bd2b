import CHDF5

/// A value stored as an HDF5 attribute. Strings are variable-length UTF-8 (h5py gives `str`).
public enum AttributeValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case double(Double)
    case doubles([Double])
}

extension HDF5File {
    /// Sets (creating or replacing) an attribute on the object at `objectPath` (`H5Acreate2`).
    public func setAttribute(_ name: String, _ value: AttributeValue, on objectPath: String = "/") throws {
        silenceLibraryErrorPrinting()
        let location = "\(path):\(objectPath)@\(name)"
        let object = try checkID(H5Oopen(handle.id, objectPath, hid_t(H5P_DEFAULT)), "H5Oopen", location)
        defer { H5Oclose(object) }
        if H5Aexists(object, name) > 0 { try check(H5Adelete(object, name), "H5Adelete", location) }

        let type: Handle
        var count: hsize_t = 1
        switch value {
        case .string:
            type = Handle(try checkID(H5Tcopy(chdf5_t_c_s1()), "H5Tcopy", location), close: H5Tclose)
            try check(H5Tset_size(type.id, chdf5_variable()), "H5Tset_size", location)
            try check(H5Tset_cset(type.id, H5T_CSET_UTF8), "H5Tset_cset", location)
        case .integer:
            type = Handle(try checkID(H5Tcopy(chdf5_t_native_int64()), "H5Tcopy", location), close: H5Tclose)
        case .double:
            type = Handle(try checkID(H5Tcopy(chdf5_t_native_double()), "H5Tcopy", location), close: H5Tclose)
        case .doubles(let values):
            type = Handle(try checkID(H5Tcopy(chdf5_t_native_double()), "H5Tcopy", location), close: H5Tclose)
            count = hsize_t(values.count)
        }
        let space: Handle
        if case .doubles = value {
            space = Handle(try checkID(H5Screate_simple(1, &count, nil), "H5Screate_simple", location), close: H5Sclose)
        } else {
            space = Handle(try checkID(H5Screate(H5S_SCALAR), "H5Screate", location), close: H5Sclose)
        }
        let attribute = Handle(try checkID(H5Acreate2(object, name, type.id, space.id, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT)),
                                           "H5Acreate2", location), close: H5Aclose)
        let status: herr_t
        switch value {
        case .string(let string):
            status = string.withCString { pointer in
                var pointers: [UnsafePointer<CChar>?] = [pointer]
                return H5Awrite(attribute.id, type.id, &pointers)
            }
        case .integer(var integer):
            status = H5Awrite(attribute.id, type.id, &integer)
        case .double(var double):
            status = H5Awrite(attribute.id, type.id, &double)
        case .doubles(let values):
            status = values.withUnsafeBytes { H5Awrite(attribute.id, type.id, $0.baseAddress) }
        }
        try check(status, "H5Awrite", location)
    }

    /// Reads an attribute, or nil when it does not exist. Integers and floats of any width
    /// are converted; strings may be fixed- or variable-length.
    public func attribute(_ name: String, on objectPath: String = "/") throws -> AttributeValue? {
        silenceLibraryErrorPrinting()
        let location = "\(path):\(objectPath)@\(name)"
        let object = try checkID(H5Oopen(handle.id, objectPath, hid_t(H5P_DEFAULT)), "H5Oopen", location)
        defer { H5Oclose(object) }
        guard H5Aexists(object, name) > 0 else { return nil }
        let attribute = Handle(try checkID(H5Aopen(object, name, hid_t(H5P_DEFAULT)), "H5Aopen", location), close: H5Aclose)
        let type = Handle(try checkID(H5Aget_type(attribute.id), "H5Aget_type", location), close: H5Tclose)
        let space = Handle(try checkID(H5Aget_space(attribute.id), "H5Aget_space", location), close: H5Sclose)
        let count = Int(H5Sget_simple_extent_npoints(space.id))
        switch H5Tget_class(type.id) {
        case H5T_STRING:
            if H5Tis_variable_str(type.id) > 0 {
                var pointer: UnsafeMutablePointer<CChar>?
                try check(H5Aread(attribute.id, type.id, &pointer), "H5Aread", location)
                defer { H5Dvlen_reclaim(type.id, space.id, hid_t(H5P_DEFAULT), &pointer) }
                return .string(pointer.map { String(cString: $0) } ?? "")
            }
            var bytes = [UInt8](repeating: 0, count: H5Tget_size(type.id))
            try check(H5Aread(attribute.id, type.id, &bytes), "H5Aread", location)
            return .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
        case H5T_INTEGER where count == 1:
            var integer: Int64 = 0
            try check(H5Aread(attribute.id, chdf5_t_native_int64(), &integer), "H5Aread", location)
            return .integer(integer)
        case H5T_FLOAT where count == 1:
            var double = 0.0
            try check(H5Aread(attribute.id, chdf5_t_native_double(), &double), "H5Aread", location)
            return .double(double)
        case H5T_FLOAT, H5T_INTEGER:
            var values = [Double](repeating: 0, count: count)
            try check(H5Aread(attribute.id, chdf5_t_native_double(), &values), "H5Aread", location)
            return .doubles(values)
        default:
            return nil
        }
    }
}

extension AttributeValue {
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var doubleValue: Double? {
        switch self {
        case .double(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
    public var integerValue: Int64? { if case .integer(let i) = self { i } else { nil } }
}
