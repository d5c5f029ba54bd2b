import CFFTW
import Foundation

/// A forward real-to-complex FFT of one fixed even size, single precision, on FFTW.
///
/// The only place that knows FFTW. The plan is made once, in `init`, with `FFTW_ESTIMATE`
/// (deterministic: the same algorithm on every run, so outputs are bit-identical between runs
/// and between threads); planning and destruction hold ``plannerLock`` because the FFTW planner
/// is not thread-safe. Execution uses the new-array function `fftwf_execute_dft_r2c`, which is
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

    /// Plans a size-`size` r2c transform (`fftwf_plan_dft_r2c_1d`); `size` must be even and >= 2.
    init(size: Int) {
        precondition(size >= 2 && size % 2 == 0, "RealFFT size must be even and >= 2, got \(size)")
        self.size = size
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
