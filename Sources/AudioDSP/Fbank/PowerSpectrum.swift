import CFFTW
import Foundation

/// The power (or magnitude) spectrum of real frames of one fixed even size `n`, single
/// precision, on FFTW: bins `0 ..< n / 2` (the fbank never uses the Nyquist bin).
///
/// The only place that knows FFTW. A real transform of size `n = 2m` is computed as FFTW's
/// complex transform of size `m` over the frame read as `m` complex numbers (even samples real,
/// odd samples imaginary), then split into the real transform's bins here, fused with the
/// power. FFTW's own real-to-complex plans do the same split internally but with slower
/// codelets: for 512 points, 798 frames take 0.30 ms through `fftwf_plan_dft_r2c_1d` and
/// 0.11 ms through the 256-point complex plan, and the split with the power costs less than the
/// difference. Rounding is that of any real FFT (the split is exact algebra, twiddles from
/// double precision).
///
/// The plan is made once, in `init`, with `FFTW_ESTIMATE`, so the algorithm is a fixed function
/// of the FFTW build and the size: outputs are bit-identical between runs, processes and
/// threads. (`FFTW_MEASURE` picks by timing and its choice varies from run to run, which would
/// change the last bits of the features.) For the paper's size FFTW first imports ``wisdom``:
/// the plan `FFTW_PATIENT` finds on x86-64 with AVX, recorded once, which `FFTW_ESTIMATE` then
/// reuses; where it does not apply (another FFTW build, no AVX) FFTW's own estimate is used.
/// Planning and destruction hold ``plannerLock`` because the FFTW planner is not thread-safe.
/// Execution uses the new-array function `fftwf_execute_dft`, which is thread-safe, so one
/// `PowerSpectrum` is shared by all threads; each thread brings its own ``Buffer``s, allocated
/// with `fftwf_alloc_real` so that their alignment is the plan's.
final class PowerSpectrum: @unchecked Sendable {
    // @unchecked: `plan` and the twiddles are immutable after init, and FFTW's new-array
    // execute is thread-safe.

    /// Serialises every FFTW planner call in the process (`fftwf_plan_*`, `fftwf_destroy_plan`).
    static let plannerLock = NSLock()

    /// The frame size n (real samples).
    let size: Int
    /// Whether ``compute(_:scratch:into:)`` gives magnitudes (`sqrt` of the power).
    let magnitude: Bool
    private let plan: OpaquePointer
    private let alignment: Int32
    /// `cos(2 pi k / n)` and `-sin(2 pi k / n)` for `k < n / 4 + 8` (rounded from double).
    private let twiddleReal: [Float], twiddleImaginary: [Float]

    /// FFTW wisdom for the 256-point forward complex transform, out of place, with
    /// `FFTW_DESTROY_INPUT` on FFTW-aligned arrays (FFTW 3.3.10, Debian `libfftw3-single3`):
    /// `fftwf_plan_dft_1d(256, ..., FFTW_FORWARD, FFTW_PATIENT | FFTW_DESTROY_INPUT)` then
    /// `fftwf_export_wisdom_to_string()`; the same plan on every try: `dft-ct-dit/4`
    /// (`t2fv_4_avx`) over `n2fv_64_avx`.
    static let wisdom = """
        (fftw-3.3.10 fftwf_wisdom #x9e7d4dee #xdb14fed1 #x34bf76a4 #xeb6e8fdf
          (fftwf_codelet_t2fv_4_avx 0 #x10048 #x10048 #x0 #x2c50659a #x343a7df7 #xd727540d #xacfea1f9)
          (fftwf_codelet_n2fv_64_avx 0 #x10048 #x10048 #x0 #x03406dff #xc8fa0a2c #x62a9a61e #xa394d874)
        )
        """

    /// Whether FFTW accepted ``wisdom`` (imported once, under the planner lock).
    static let wisdomImported: Bool = plannerLock.withLock { fftwf_import_wisdom_from_string(wisdom) != 0 }

    /// Plans for frames of `size` samples (even, >= 2); `magnitude` selects `|X|` over `|X|^2`.
    init(size: Int, magnitude: Bool = false) {
        precondition(size >= 2 && size % 2 == 0, "PowerSpectrum size must be even and >= 2, got \(size)")
        self.size = size
        self.magnitude = magnitude
        let m = size / 2
        _ = Self.wisdomImported   // before taking the (non-recursive) lock below
        let input = Buffer(count: size)
        let output = Buffer(count: size)
        let flags = UInt32(FFTW_ESTIMATE) | UInt32(FFTW_DESTROY_INPUT)
        let made: OpaquePointer? = Self.plannerLock.withLock {
            input.pointer.withMemoryRebound(to: fftwf_complex.self, capacity: m) { i in
                output.pointer.withMemoryRebound(to: fftwf_complex.self, capacity: m) { o in
                    fftwf_plan_dft_1d(Int32(m), i, o, FFTW_FORWARD, flags)
                }
            }
        }
        guard let made else { preconditionFailure("fftwf_plan_dft_1d(\(m)) returned NULL") }
        plan = made
        alignment = fftwf_alignment_of(input.pointer)
        precondition(fftwf_alignment_of(output.pointer) == alignment)
        let twiddles = (0..<(m / 2 + 8)).map { k in 2 * Double.pi * Double(k) / Double(size) }
        twiddleReal = twiddles.map { Float(cos($0)) }
        twiddleImaginary = twiddles.map { Float(-sin($0)) }
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

    /// Writes the power (or magnitude) of bins `0 ..< size / 2` of the real DFT of `frame`
    /// (`size` samples; overwritten) to `out[0 ..< size / 2]`. `scratch` (`size` floats)
    /// receives the complex transform. Both buffers must come from ``Buffer`` (FFTW's
    /// alignment); thread-safe.
    func compute(_ frame: Buffer, scratch: Buffer, into out: UnsafeMutablePointer<Float>) {
        precondition(frame.count >= size && scratch.count >= size, "PowerSpectrum buffers too small")
        precondition(fftwf_alignment_of(frame.pointer) == alignment
            && fftwf_alignment_of(scratch.pointer) == alignment, "PowerSpectrum buffers must come from PowerSpectrum.Buffer")
        let m = size / 2
        frame.pointer.withMemoryRebound(to: fftwf_complex.self, capacity: m) { i in
            scratch.pointer.withMemoryRebound(to: fftwf_complex.self, capacity: m) { o in
                fftwf_execute_dft(plan, i, o)
            }
        }
        twiddleReal.withUnsafeBufferPointer { wr in
            twiddleImaginary.withUnsafeBufferPointer { wi in
                Self.split(UnsafePointer(scratch.pointer), count: m, twiddleReal: wr.baseAddress!,
                           twiddleImaginary: wi.baseAddress!, magnitude: magnitude, into: out)
            }
        }
    }

    /// The split. With `Z` the complex transform of `z[j] = x[2j] + i x[2j + 1]` (size m),
    /// `a = Z[k]`, `c = conj(Z[m - k])` (`Z[m] = Z[0]`) and `W = exp(-2 pi i k / n)`:
    /// `2 X[k] = (a + c) + W (a - c) / i` and `2 X[m - k] = conj((a + c) - W (a - c) / i)`,
    /// so each k in `1 ..< m / 2` gives two bins (k = m / 2, for even m, one); `X[0] = Re Z[0] + Im Z[0]`. The power is
    /// `|2X|^2 / 4` (scaling by powers of two is exact, so this rounds like `|X|^2`).
    @inline(__always)
    static func split(_ z: UnsafePointer<Float>, count m: Int, twiddleReal wr: UnsafePointer<Float>,
                      twiddleImaginary wi: UnsafePointer<Float>, magnitude: Bool,
                      into power: UnsafeMutablePointer<Float>) {
        typealias V = SIMD4<Float>
        @inline(__always) func reversed(_ v: V) -> V { V(v[3], v[2], v[1], v[0]) }
        let dc = z[0] + z[1]
        power[0] = dc * dc
        let pairs = (m &+ 1) / 2     // k in 1 ..< pairs pairs with m - k
        var k = 1
        // Four k at once (SSE width); the mirrored block m - k - 3 ... m - k is reversed.
        while k &+ 4 <= pairs {
            let a = UnsafeRawPointer(z + 2 &* k).loadUnaligned(as: SIMD8<Float>.self)
            let c = UnsafeRawPointer(z + 2 &* (m &- k &- 3)).loadUnaligned(as: SIMD8<Float>.self)
            let ar = a.evenHalf, ai = a.oddHalf
            let cr = reversed(c.evenHalf), ci = -reversed(c.oddHalf)
            let sr = ar + cr, si = ai + ci
            let dr = ar - cr, di = ai - ci
            let twr = UnsafeRawPointer(wr + k).loadUnaligned(as: V.self)
            let twi = UnsafeRawPointer(wi + k).loadUnaligned(as: V.self)
            // t = W (d / i) with d / i = di - i dr.
            let tr = twr * di + twi * dr
            let ti = twi * di - twr * dr
            let pr = sr + tr, pi = si + ti          // 2 X[k]
            let qr = sr - tr, qi = ti - si          // 2 X[m - k], conjugated (the sign does not matter)
            UnsafeMutableRawPointer(power + k).storeBytes(of: (pr * pr + pi * pi) * 0.25, as: V.self)
            UnsafeMutableRawPointer(power + (m &- k &- 3))
                .storeBytes(of: reversed((qr * qr + qi * qi) * 0.25), as: V.self)
            k &+= 4
        }
        while k < pairs {
            let ar = z[2 &* k], ai = z[2 &* k &+ 1]
            let cr = z[2 &* (m &- k)], ci = -z[2 &* (m &- k) &+ 1]
            let sr = ar + cr, si = ai + ci
            let dr = ar - cr, di = ai - ci
            let tr = wr[k] * di + wi[k] * dr
            let ti = wi[k] * di - wr[k] * dr
            let pr = sr + tr, pi = si + ti
            let qr = sr - tr, qi = ti - si
            power[k] = (pr * pr + pi * pi) * 0.25
            power[m &- k] = (qr * qr + qi * qi) * 0.25
            k &+= 1
        }
        if m % 2 == 0 {
            // The self-paired middle bin: 2 X = 2 conj(Z[m / 2]) (the twiddle is -i).
            let ar = z[m], ai = z[m &+ 1]
            power[m / 2] = ar * ar + ai * ai
        }
        if magnitude {
            for k in 0..<m { power[k] = power[k].squareRoot() }
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
