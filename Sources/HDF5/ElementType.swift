import CHDF5

/// Swift scalar types that map to an HDF5 native type.
public protocol HDF5Scalar: Sendable {
    static var nativeType: hid_t { get }
    static var zero: Self { get }
}

extension Float: HDF5Scalar {
    public static var nativeType: hid_t { chdf5_t_native_float() }
}
extension Double: HDF5Scalar {
    public static var nativeType: hid_t { chdf5_t_native_double() }
}
extension Int8: HDF5Scalar {
    public static var nativeType: hid_t { chdf5_t_native_int8() }
}
extension UInt8: HDF5Scalar {
    public static var nativeType: hid_t { chdf5_t_native_uint8() }
}
extension Int32: HDF5Scalar {
    public static var nativeType: hid_t { chdf5_t_native_int32() }
}
extension Int64: HDF5Scalar {
    public static var nativeType: hid_t { chdf5_t_native_int64() }
}

/// A fixed-length, NUL-padded ASCII/UTF-8 string type of `length` bytes (h5py reads it as bytes).
func fixedStringType(length: Int) throws -> Handle {
    let type = try checkID(H5Tcopy(chdf5_t_c_s1()), "H5Tcopy", "<type>")
    let handle = Handle(type, close: H5Tclose)
    try check(H5Tset_size(type, max(1, length)), "H5Tset_size", "<type>")
    try check(H5Tset_strpad(type, H5T_STR_NULLPAD), "H5Tset_strpad", "<type>")
    try check(H5Tset_cset(type, H5T_CSET_UTF8), "H5Tset_cset", "<type>")
    return handle
}
