import Glibc

/// A port of torchaudio 0.13's default resampler (`transforms.Resample(orig, new)`, i.e.
/// `_get_sinc_resample_kernel` + `_apply_sinc_resample_kernel` with
/// `resampling_method="sinc_interpolation"`): windowed sinc with a Hann window,
/// `lowpass_filter_width` 6, `rolloff` 0.99, rates reduced by their gcd.
///
/// torchaudio convolves the input, zero-padded by `width` on the left and `width + orig` on
/// the right, with `new` kernels of `2 * width + orig` taps at stride `orig` (output phase
/// `j` of frame `m` is output sample `m * new + j`), then keeps the first
/// `ceil(new * n / orig)` samples. Most of those taps are exactly zero in float32: the
/// kernel is clamped to `lowpass_filter_width` zero crossings on either side. This type
/// keeps, per phase, only the run of taps between the first and the last non-zero one
/// (padded with zeros to a multiple of 8) and computes the same sums as torchaudio's `conv1d`
/// with SIMD, in another order (differences are float32 rounding, about 1e-7): across the taps
/// of each output for a large reduced source rate (44.1 kHz), across 8 frames of one phase for
/// a small one (4, 10, 48 kHz); see ``Strategy``. Single-threaded; one instance may be shared
/// by any number of threads.
///
/// The kernel is built exactly as torchaudio builds it when `Resample` is constructed without
/// a dtype: the time offsets `idx` in float64, the phase offsets `-j / new` in float32
/// (`torch.arange` of integers divided by an int gives the default float32 dtype) then
/// widened, window and sinc in float64, the product cast to float32.
public struct TorchaudioSincResampler: Sendable {
    public let sourceRate: Int
    public let targetRate: Int
    public let lowpassFilterWidth: Int
    public let rolloff: Double
    /// `sourceRate / gcd` (torchaudio's reduced `orig_freq`): input samples per frame.
    public let reducedSource: Int
    /// `targetRate / gcd` (torchaudio's reduced `new_freq`): output phases per frame.
    public let reducedTarget: Int
    /// torchaudio's `width`: `ceil(lowpass_filter_width * orig / base_freq)`.
    public let width: Int
    /// Taps stored per phase: the longest non-zero run, rounded up to a multiple of 8.
    public let tapsPerPhase: Int
    /// `reducedTarget * tapsPerPhase` taps, phase by phase.
    let taps: [Float]
    /// Per phase, the index in torchaudio's padded input (relative to `m * orig`) of its first
    /// stored tap.
    let firstTap: [Int]
    /// Per phase, the number of non-zero taps (the rest of its `tapsPerPhase` are zeros).
    let tapCount: [Int]

    /// Builds the kernel for `sourceRate -> targetRate`; both must be positive.
    public init(from sourceRate: Int, to targetRate: Int,
                lowpassFilterWidth: Int = 6, rolloff: Double = 0.99) {
        precondition(sourceRate > 0 && targetRate > 0 && lowpassFilterWidth > 0,
                     "TorchaudioSincResampler needs positive rates and filter width")
        self.sourceRate = sourceRate
        self.targetRate = targetRate
        self.lowpassFilterWidth = lowpassFilterWidth
        self.rolloff = rolloff
        let g = Self.gcd(sourceRate, targetRate)
        let orig = sourceRate / g, new = targetRate / g
        reducedSource = orig
        reducedTarget = new
        let kernel = Self.kernel(orig: orig, new: new, lowpassFilterWidth: lowpassFilterWidth, rolloff: rolloff)
        width = kernel.width
        let longest = kernel.rows.map(\.taps.count).max() ?? 0
        let stride = max(8, (longest + 7) / 8 * 8)
        tapsPerPhase = stride
        var packed = [Float](repeating: 0, count: new * stride)
        for (j, row) in kernel.rows.enumerated() {
            for (k, tap) in row.taps.enumerated() { packed[j * stride + k] = tap }
        }
        taps = packed
        firstTap = kernel.rows.map(\.first)
        tapCount = kernel.rows.map(\.taps.count)
    }

    /// One output phase's non-zero taps and where they start in the full kernel row.
    struct PhaseTaps: Equatable {
        var first: Int
        var taps: [Float]
    }

    /// torchaudio's `_get_sinc_resample_kernel` (dtype None), phase by phase, restricted to
    /// the non-zero taps. `orig` and `new` are already reduced by their gcd.
    static func kernel(orig: Int, new: Int, lowpassFilterWidth lpw: Int,
                       rolloff: Double) -> (width: Int, rows: [PhaseTaps]) {
        let baseFreq = Double(min(orig, new)) * rolloff
        let width = Int((Double(lpw * orig) / baseFreq).rounded(.up))
        let rowLength = 2 * width + orig
        let limit = Double(lpw)
        var rows: [PhaseTaps] = []
        rows.reserveCapacity(new)
        for j in 0..<new {
            let phase = Double(Float(-j) / Float(new))
            // |t| < lpw  <=>  |phase + (k - width) / orig| < lpw / baseFreq; beyond that the
            // clamped window is cos(pi / 2)^2 ~ 4e-33 and the tap is 0 in float32. Evaluate a
            // margin of 2 taps more on each side and trim exact zeros.
            let reach = limit / baseFreq * Double(orig)
            let centre = Double(width) - phase * Double(orig)
            let lo = max(0, Int((centre - reach).rounded(.down)) - 2)
            let hi = min(rowLength - 1, Int((centre + reach).rounded(.up)) + 2)
            var values: [Float] = []
            if lo <= hi {
                values.reserveCapacity(hi - lo + 1)
                for k in lo...hi {
                    values.append(tap(k: k, phase: phase, orig: orig, width: width,
                                      baseFreq: baseFreq, lpw: lpw))
                }
            }
            guard let a = values.firstIndex(where: { $0 != 0 }),
                  let b = values.lastIndex(where: { $0 != 0 }) else {
                rows.append(PhaseTaps(first: 0, taps: []))
                continue
            }
            rows.append(PhaseTaps(first: lo + a, taps: Array(values[a...b])))
        }
        return (width, rows)
    }

    /// One entry of torchaudio's kernel, in its order of float64 operations.
    static func tap(k: Int, phase: Double, orig: Int, width: Int, baseFreq: Double, lpw: Int) -> Float {
        let idx = Double(k - width) / Double(orig)
        var t = (phase + idx) * baseFreq
        t = min(max(t, -Double(lpw)), Double(lpw))
        let c = cos(t * Double.pi / Double(lpw) / 2)
        let window = c * c
        t *= Double.pi
        let scale = baseFreq / Double(orig)
        var kernel = t == 0 ? 1.0 : sin(t) / t
        kernel *= window * scale
        return Float(kernel)
    }

    /// torchaudio's output length, `ceil(new * n / orig)`.
    public func outputLength(forInputLength n: Int) -> Int {
        (reducedTarget * n + reducedSource - 1) / reducedSource
    }

    /// Resamples `input` (returns it unchanged when the rates are equal, as torchaudio does).
    public func resample(_ input: [Float]) -> [Float] {
        if sourceRate == targetRate { return input }
        return input.withUnsafeBufferPointer { resample($0) }
    }

    /// Resamples `input` (a copy of it when the rates are equal).
    public func resample(_ input: UnsafeBufferPointer<Float>) -> [Float] {
        if sourceRate == targetRate { return Array(input) }
        let count = outputLength(forInputLength: input.count)
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            resample(input, into: UnsafeMutableBufferPointer(rebasing: out[0..<count]))
            initialized = count
        }
    }

    /// How the dot products are vectorised.
    enum Strategy: CaseIterable {
        /// Across the taps of one output sample (SIMD dot products, four phases reduced
        /// together), reading torchaudio's zero-padded input directly. For a large reduced
        /// source rate (44.1 kHz: 441 input samples per frame).
        case acrossTaps
        /// Across 8 consecutive frames of one phase (one SIMD accumulator, no horizontal sums),
        /// reading the padded input split into `orig` decimated streams so that the 8 frames'
        /// samples are contiguous. For a small reduced source rate (4, 10, 48 kHz: 1, 5, 3).
        case acrossFrames
    }

    /// The faster strategy for this rate pair (measured with `bench resample`).
    var strategy: Strategy { reducedSource <= 8 ? .acrossFrames : .acrossTaps }

    /// Writes the `outputLength(forInputLength: input.count)` resampled samples into `output`
    /// (which must hold exactly that many). Single-threaded; safe to call concurrently.
    public func resample(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        resample(input, into: output, strategy: strategy)
    }

    func resample(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                  strategy: Strategy) {
        let count = outputLength(forInputLength: input.count)
        precondition(output.count == count, "output holds \(output.count) samples, expected \(count)")
        guard count > 0 else { return }
        if sourceRate == targetRate {
            _ = output.initialize(from: input)
            return
        }
        switch strategy {
        case .acrossTaps: resampleAcrossTaps(input, into: output.baseAddress!, count: count)
        case .acrossFrames: resampleAcrossFrames(input, into: output.baseAddress!, count: count)
        }
    }

    private func resampleAcrossTaps(_ input: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        let n = input.count
        let orig = reducedSource, new = reducedTarget, stride = tapsPerPhase
        let frames = (count + new - 1) / new
        // torchaudio's zero-padded input: `width` zeros, the signal, then zeros far enough
        // for the last frame's longest (padded) tap run.
        let maxFirst = firstTap.max() ?? 0
        let padded = max(width + n + width + orig, (frames - 1) * orig + maxFirst + stride)
        var xpad = [Float](repeating: 0, count: padded)
        xpad.withUnsafeMutableBufferPointer { p in
            _ = UnsafeMutableBufferPointer(rebasing: p[width..<(width + n)]).initialize(from: input)
        }
        xpad.withUnsafeBufferPointer { xp in
            taps.withUnsafeBufferPointer { h in
                firstTap.withUnsafeBufferPointer { first in
                    let x = UnsafeRawPointer(xp.baseAddress!)
                    let k = UnsafeRawPointer(h.baseAddress!)
                    var i = 0
                    for frame in 0..<frames {
                        let frameStart = frame * orig
                        let phases = min(new, count - i)
                        var j = 0
                        while j + 4 <= phases {
                            let sums = Self.dot4(x + frameStart * 4, first: first, from: j, taps: k, stride: stride)
                            UnsafeMutableRawPointer(out + i).storeBytes(of: sums, as: SIMD4<Float>.self)
                            i += 4
                            j += 4
                        }
                        while j < phases {
                            out[i] = Self.dot(x + (frameStart + first[j]) * 4, k + (j * stride) * 4, count: stride)
                            i += 1
                            j += 1
                        }
                    }
                }
            }
        }
    }

    private func resampleAcrossFrames(_ input: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        let n = input.count
        let orig = reducedSource, new = reducedTarget, stride = tapsPerPhase
        let frames = (count + new - 1) / new
        // Stream r holds padded-input samples r, r + orig, r + 2 orig, ...: padded sample
        // `m * orig + p` (phase tap p = first[j] + t) is stream `p % orig` at `m + p / orig`.
        let reach = ((firstTap.max() ?? 0) + stride) / orig + 1
        let length = frames + reach + 8
        var streams = [Float](repeating: 0, count: orig * length)
        streams.withUnsafeMutableBufferPointer { s in
            for r in 0..<orig {
                // Padded index q * orig + r is input index q * orig + r - width.
                let row = s.baseAddress! + r * length
                var q = 0
                while q < length {
                    let index = q * orig + r - width
                    if index >= n { break }
                    if index >= 0 { row[q] = input[index] }
                    q += 1
                }
            }
        }
        // Offsets (in floats) of each phase's taps into the streams, for the tail.
        var offsets = [Int](repeating: 0, count: new * stride)
        for j in 0..<new {
            for t in 0..<tapCount[j] {
                let p = firstTap[j] + t
                offsets[j * stride + t] = (p % orig) * length + p / orig
            }
        }
        streams.withUnsafeBufferPointer { sp in
            taps.withUnsafeBufferPointer { hp in
                offsets.withUnsafeBufferPointer { op in
                    tapCount.withUnsafeBufferPointer { counts in
                        let blocks = (count / new) / 8
                        let s = UnsafeRawPointer(sp.baseAddress!)
                        for b in 0..<blocks {
                            let m0 = b * 8
                            let o = out + m0 * new
                            for j in 0..<new {
                                let h = hp.baseAddress! + j * stride
                                let off = op.baseAddress! + j * stride
                                var acc = SIMD8<Float>()
                                for t in 0..<counts[j] {
                                    acc += SIMD8(repeating: h[t])
                                        * s.loadUnaligned(fromByteOffset: (off[t] + m0) * 4, as: SIMD8<Float>.self)
                                }
                                for lane in 0..<8 { o[lane * new + j] = acc[lane] }
                            }
                        }
                        // The last frames, one output at a time.
                        var i = blocks * 8 * new
                        for m in (blocks * 8)..<frames {
                            for j in 0..<min(new, count - i) {
                                var sum: Float = 0
                                for t in 0..<counts[j] {
                                    sum += hp[j * stride + t] * sp[op[j * stride + t] + m]
                                }
                                out[i] = sum
                                i += 1
                            }
                        }
                    }
                }
            }
        }
    }

    /// Four dot products (phases j..j+3 of one frame), reduced together: one transpose-add
    /// instead of four horizontal sums.
    @inline(__always)
    static func dot4(_ frame: UnsafeRawPointer, first: UnsafeBufferPointer<Int>, from j: Int,
                     taps: UnsafeRawPointer, stride: Int) -> SIMD4<Float> {
        let a0 = frame + first[j] * 4, a1 = frame + first[j + 1] * 4
        let a2 = frame + first[j + 2] * 4, a3 = frame + first[j + 3] * 4
        let h0 = taps + (j * stride) * 4, h1 = h0 + stride * 4, h2 = h1 + stride * 4, h3 = h2 + stride * 4
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
        var offset = 0
        let bytes = stride * 4
        while offset < bytes {
            c0 += a0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) * h0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            c1 += a1.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) * h1.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            c2 += a2.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) * h2.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            c3 += a3.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) * h3.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            offset += 32
        }
        let s0 = c0.lowHalf + c0.highHalf, s1 = c1.lowHalf + c1.highHalf
        let s2 = c2.lowHalf + c2.highHalf, s3 = c3.lowHalf + c3.highHalf
        let p01 = SIMD8(lowHalf: s0, highHalf: s1), p23 = SIMD8(lowHalf: s2, highHalf: s3)
        let q01 = p01.evenHalf + p01.oddHalf, q23 = p23.evenHalf + p23.oddHalf
        let r = SIMD8(lowHalf: q01, highHalf: q23)
        return r.evenHalf + r.oddHalf
    }

    /// Dot product of `count` floats (a multiple of 8) at `a` and `b`, unaligned.
    @inline(__always)
    static func dot(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Float {
        var acc = SIMD8<Float>()
        var offset = 0
        let bytes = count * 4
        while offset < bytes {
            acc += a.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                * b.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            offset += 32
        }
        return acc.sum()
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
