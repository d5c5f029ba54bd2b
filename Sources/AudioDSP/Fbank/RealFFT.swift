import CFFTW
import Foundation

/// A forward real-to-complex FFT of one fixed even size, single precision, on FFTW.
///
/// The only place that knows FFTW. The plan is made once, in `init`, with `FFTW_ESTIMATE`, so
/// the algorithm is a fixed function of the FFTW build and the size: outputs are bit-identical
/// between runs, processes and threads. (`FFTW_MEASURE` picks by timing and its choice varies
/// from run to run, which would change the last bits of the features.) For the paper's size,
/// 512, FFTW first imports ``wisdom``: the plan `FFTW_PATIENT` finds on x86-64 with AVX,
/// recorded once, which `FFTW_ESTIMATE` then reuses (0.30 instead of 0.44 ms per 798 frames);
/// where it does not apply (another FFTW build, no AVX) FFTW's own estimate is used.
/// Planning and destruction hold ``plannerLock`` because the FFTW planner is not thread-safe. Execution uses the new-array function `fftwf_execute_dft_r2c`, which is
/// thread-safe, so one `RealFFT` is shared by all threads; each thread brings its own
/// ``Buffer``s, allocated with `fftwf_alloc_real` so that their alignment is the plan's.
final class RealFFT: @unchecked Sendable {
    // @unchecked: `plan` is immutable after init and FFTW's new-array execute is thread-safe.

    /// Serialises every FFTW planner call in the process (`fftwf_plan_*`, `fftwf_destroy_plan`).
    static let plannerLock = NSLock()

    /// The transform size n (real inputs); the output has n / 2 + 1 complex bins.
    let size: Int
    private let plan: OpaquePointer
    private let alignment: Int32

    /// FFTW wisdom for the 512-point r2c transform with `FFTW_DESTROY_INPUT` on FFTW-aligned
    /// arrays (FFTW 3.3.10, Debian `libfftw3-single3`): `fftwf_plan_dft_r2c_1d(512, ...,
    /// FFTW_PATIENT | FFTW_DESTROY_INPUT)` then `fftwf_export_wisdom_to_string()`; the same plan
    /// on every try: `rdft2-ct-dit/8` (`hc2cfdftv_8_sse2`, `r2cf_8`, `r2cfII_8`) over `n2fv_64_avx`.
    static let wisdom = """
        (fftw-3.3.10 fftwf_wisdom #x9e7d4dee #xdb14fed1 #x34bf76a4 #xeb6e8fdf
          (fftwf_codelet_r2cfII_8 2 #x10048 #x10048 #x0 #x76fa2a50 #xf4668261 #xbf8b003e #xbfa64206)
          (fftwf_codelet_r2cf_8 2 #x10048 #x10048 #x0 #xe75b944c #x09ac1906 #x449b29ce #x7b6666b0)
          (fftwf_codelet_n2fv_64_avx 0 #x10048 #x10048 #x0 #x03406dff #xc8fa0a2c #x62a9a61e #xa394d874)
          (fftwf_codelet_hc2cfdftv_8_sse2 0 #x10048 #x10048 #x0 #x85773c49 #x9a968ccc #xbd37e819 #xac77e6a4)
        )
        """

    /// Whether FFTW accepted ``wisdom`` (imported once, under the planner lock).
    static let wisdomImported: Bool = plannerLock.withLock { fftwf_import_wisdom_from_string(wisdom) != 0 }

    /// Plans a size-`size` r2c transform (`fftwf_plan_dft_r2c_1d`); `size` must be even and >= 2.
    init(size: Int) {
        precondition(size >= 2 && size % 2 == 0, "RealFFT size must be even and >= 2, got \(size)")
        self.size = size
        _ = Self.wisdomImported   // before taking the (non-recursive) lock below
        let input = Buffer(count: size)
        let output = Buffer(count: size + 2)
        let flags = UInt32(FFTW_ESTIMATE) | UInt32(FFTW_DESTROY_INPUT)
        let made: OpaquePointer? = Self.plannerLock.withLock {
            output.pointer.withMemoryRebound(to: fftwf_complex.self, capacity: size / 2 + 1) {
                fftwf_plan_dft_r2c_1d(Int32(size), input.pointer, $0, flags)
            }
        }
        guard let made else { preconditionFailure("fftwf_plan_dft_r2c_1d(\(size)) returned NULL") }
        plan = made
        alignment = fftwf_alignment_of(input.pointer)
        precondition(fftwf_alignment_of(output.pointer) == alignment)
    }

    deinit {
        Self.plannerLock.withLock { fftwf_destroy_plan(plan) }
    }

    /// FFTW's description of the plan (`fftwf_sprint_plan`), e.g. for benchmark reports.
    var planDescription: String {
        guard let text = fftwf_sprint_plan(plan) else { return "?" }
        defer { free(text) }
        return String(cString: text).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Transforms `input` (`size` reals; may be overwritten) into `output`: `size / 2 + 1`
    /// complex bins interleaved as re, im (`size + 2` floats). Wraps `fftwf_execute_dft_r2c`.
    /// Both buffers must come from ``Buffer`` (FFTW's alignment); thread-safe.
    func forward(_ input: Buffer, into output: Buffer) {
        precondition(input.count >= size && output.count >= size + 2, "RealFFT buffers too small")
        precondition(fftwf_alignment_of(input.pointer) == alignment
            && fftwf_alignment_of(output.pointer) == alignment, "RealFFT buffers must come from RealFFT.Buffer")
        output.pointer.withMemoryRebound(to: fftwf_complex.self, capacity: size / 2 + 1) {
            fftwf_execute_dft_r2c(plan, input.pointer, $0)
        }
    }

    /// Float storage allocated by FFTW (`fftwf_alloc_real`, SIMD-aligned), zero-filled, freed
    /// in `deinit`. Owned by one thread at a time.
    final class Buffer {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int

        init(count: Int) {
            precondition(count > 0)
            guard let p = fftwf_alloc_real(count) else { preconditionFailure("fftwf_alloc_real(\(count)) failed") }
            pointer = p
            self.count = count
            pointer.initialize(repeating: 0, count: count)
        }

        deinit { fftwf_free(pointer) }
    }
}
