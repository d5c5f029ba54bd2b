import CSampleRate

/// The one owner of a libsamplerate `SRC_STATE*` (freed with `src_delete` in `deinit`).
/// Converts one mono signal at a time with `src_process`; not for concurrent use (make one
/// per thread).
final class SampleRateConverter {
    let converter: Int32
    private let state: OpaquePointer

    /// `src_new(converter, 1 channel)`; `converter` is `SRC_SINC_BEST_QUALITY` etc.
    init(converter: Int32) throws(ResamplingError) {
        var error: Int32 = 0
        guard let state = src_new(converter, 1, &error) else {
            throw ResamplingError(function: "src_new", reason: .libsamplerate(code: error, message: Self.message(error)))
        }
        self.converter = converter
        self.state = state
    }

    deinit { src_delete(state) }

    /// Converts the whole of `input` at `ratio` (output rate / input rate) with `src_process`
    /// (`end_of_input` set, so the filter is flushed), then returns exactly `outputCount`
    /// samples: libsamplerate's own count is `n * ratio` rounded, within a sample or two of
    /// torchaudio's `ceil`, so the tail is trimmed or padded with zeros.
    func convert(_ input: UnsafeBufferPointer<Float>, ratio: Double, outputCount: Int) throws(ResamplingError) -> [Float] {
        let reset = src_reset(state)
        guard reset == 0 else {
            throw ResamplingError(function: "src_reset", reason: .libsamplerate(code: reset, message: Self.message(reset)))
        }
        let capacity = Int((Double(input.count) * ratio).rounded(.up)) + 64
        var output = [Float](repeating: 0, count: max(capacity, outputCount))
        var produced = 0
        var consumed = 0
        var failure: Int32 = 0
        output.withUnsafeMutableBufferPointer { out in
            while true {
                var data = SRC_DATA()
                data.data_in = input.baseAddress.map { $0 + consumed }
                data.input_frames = input.count - consumed
                data.data_out = out.baseAddress! + produced
                data.output_frames = out.count - produced
                data.end_of_input = 1
                data.src_ratio = ratio
                failure = src_process(state, &data)
                if failure != 0 { return }
                consumed += data.input_frames_used
                produced += data.output_frames_gen
                if data.output_frames_gen == 0 && consumed >= input.count { return }
                if produced >= out.count { return }
            }
        }
        guard failure == 0 else {
            throw ResamplingError(function: "src_process", reason: .libsamplerate(code: failure, message: Self.message(failure)))
        }
        if produced < outputCount {
            for i in produced..<outputCount { output[i] = 0 }
        }
        output.removeLast(output.count - outputCount)
        return output
    }

    static func message(_ code: Int32) -> String {
        src_strerror(code).map { String(cString: $0) } ?? "unknown error"
    }
}
