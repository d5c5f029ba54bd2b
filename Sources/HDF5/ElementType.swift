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
extension Float16: HDF5Scalar {
    /// IEEE 754 binary16, little-endian: h5py reads it as `numpy.float16` (HDF5 1.10 has no
    /// predefined half type; this is h5py's own definition of one).
    public static var nativeType: hid_t { halfFloatType }
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

/// The binary16 type, built once from the native float type (sign bit 15, exponent bits 10-14
/// with bias 15, mantissa bits 0-9) and never closed.
private let halfFloatType: hid_t = {
    silenceLibraryErrorPrinting()
    let type = H5Tcopy(chdf5_t_native_float())
    precondition(type >= 0
                 && H5Tset_order(type, H5T_ORDER_LE) >= 0
                 && H5Tset_fields(type, 15, 10, 5, 0, 10) >= 0
                 && H5Tset_size(type, 2) >= 0
                 && H5Tset_ebias(type, 15) >= 0,
                 "HDF5 refused to define a binary16 type")
    return type
}()
