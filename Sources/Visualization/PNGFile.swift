import CPNG

/// A libpng call failed: the C function, the file, and libpng's own message.
public struct PNGError: Error, CustomStringConvertible, Sendable {
    public let function: String
    public let path: String
    public let message: String

    public var description: String { "\(path): libpng \(function) failed: \(message)" }
}

/// PNG files through libpng's simplified API (`png_image_*`, libpng 1.6): 8-bit RGB, no
/// timestamps or text chunks, so the same image always gives the same bytes.
public enum PNGFile {
    /// What `png_image_begin_read_from_file` learns from a file's header.
    public struct Header: Sendable, Equatable {
        public let width: Int
        public let height: Int
        /// libpng's `PNG_FORMAT_*` flags of the stored image (colour, alpha, linear, colormap).
        public let format: UInt32
        public var isColour: Bool { format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 }
        public var hasAlpha: Bool { format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0 }
    }

    /// The libpng version linked (e.g. "1.6.39").
    public static var libraryVersion: String { String(cString: png_get_libpng_ver(nil)) }

    /// Writes `image` as an 8-bit RGB PNG (`png_image_write_to_file`).
    public static func write(_ image: RGBImage, to path: String) throws(PNGError) {
        try encode(image, to: path).get()
    }

    /// Reads a PNG of any colour type, converted to 8-bit RGB by libpng
    /// (`png_image_begin_read_from_file`, `png_image_finish_read`).
    public static func read(_ path: String) throws(PNGError) -> (image: RGBImage, header: Header) {
        try decode(path).get()
    }

    // MARK: C calls -> Result

    private static func encode(_ image: RGBImage, to path: String) -> Result<Void, PNGError> {
        var control = png_image()
        control.version = cpng_image_version()
        control.width = png_uint_32(image.width)
        control.height = png_uint_32(image.height)
        control.format = cpng_format_rgb()
        let status = image.bytes.withUnsafeBytes { raw in
            png_image_write_to_file(&control, path, 0, raw.baseAddress, png_int_32(image.width * 3), nil)
        }
        // The write functions release libpng's state themselves, on success and failure alike.
        guard status != 0 else { return .failure(error("png_image_write_to_file", path, &control)) }
        return .success(())
    }

    private static func decode(_ path: String) -> Result<(image: RGBImage, header: Header), PNGError> {
        let reader = Reader()
        guard png_image_begin_read_from_file(&reader.control, path) != 0 else {
            return .failure(error("png_image_begin_read_from_file", path, &reader.control))
        }
        let header = Header(width: Int(reader.control.width), height: Int(reader.control.height),
                            format: reader.control.format)
        guard header.width > 0, header.height > 0 else {
            return .failure(PNGError(function: "png_image_begin_read_from_file", path: path, message: "empty image"))
        }
        reader.control.format = cpng_format_rgb()
        var bytes = [UInt8](repeating: 0, count: header.width * header.height * 3)
        let status = bytes.withUnsafeMutableBytes { raw in
            png_image_finish_read(&reader.control, nil, raw.baseAddress, png_int_32(header.width * 3), nil)
        }
        guard status != 0 else { return .failure(error("png_image_finish_read", path, &reader.control)) }
        return .success((RGBImage(width: header.width, height: header.height, bytes: bytes), header))
    }

    private static func error(_ function: String, _ path: String, _ control: inout png_image) -> PNGError {
        let message = String(cString: cpng_image_message(&control))
        return PNGError(function: function, path: path, message: message.isEmpty ? "unknown error" : message)
    }

    /// Owns the `png_image` of a read: `png_image_free` releases libpng's state exactly once
    /// (a no-op after a successful `png_image_finish_read`, which frees it itself).
    private final class Reader {
        var control = png_image()

        init() { control.version = cpng_image_version() }

        deinit { png_image_free(&control) }
    }
}
