import Foundation

/// Kaldi's triangular mel filters over the FFT bins, stored sparsely: filter `m` covers the
/// contiguous FFT bins `first[m] ..< first[m] + weights(m).count`.
///
/// Weights are computed as torchaudio's `get_mel_banks` does, in float32:
/// `mel(f) = 1127 ln(1 + f / 700)`; edges `left = mel_low + m * delta`,
/// `center = mel_low + (m + 1) * delta`, `right = mel_low + (m + 2) * delta` with
/// `delta = (mel_high - mel_low) / (numBins + 1)`; bin `k` (frequency `k * sr / fftSize`,
/// `k < fftSize / 2`) gets `max(0, min((mel - left) / (center - left), (right - mel) / (right - center)))`.
/// The Nyquist bin `fftSize / 2` always gets weight 0 (torchaudio appends a zero column).
/// A filter narrower than one FFT bin may contain no bin at all (with 128 filters on a 512-point
/// FFT at 16 kHz: filter 3); its energy is 0 and its log output log(FLT_EPSILON), as in torchaudio
/// (kaldi-native-fbank refuses such options).
struct MelBanks: Sendable {
    let numBins: Int
    /// First FFT bin of each filter.
    let first: [Int]
    /// Offset of each filter's weights in `weights`; `offsets[numBins]` is the total.
    let offsets: [Int]
    /// All filters' non-zero weights, filter after filter.
    let weights: [Float]

    init(options o: FbankOptions) {
        let numBins = o.numMelBins
        let fftSize = o.paddedWindowSize
        let numFFTBins = fftSize / 2
        let melLow = Self.mel(hz: o.lowFreq)
        let melHigh = Self.mel(hz: o.effectiveHighFreq)
        let delta = Float((melHigh - melLow) / Double(numBins + 1))
        let binWidth = Float(o.sampleFrequency / Double(fftSize))
        let mels: [Float] = (0..<numFFTBins).map { k in
            Float(1127.0) * log(Float(1.0) + (binWidth * Float(k)) / Float(700.0))
        }
        var first: [Int] = [], offsets: [Int] = [0], weights: [Float] = []
        for m in 0..<numBins {
            let left = Float(melLow) + Float(m) * delta
            let center = Float(melLow) + Float(m + 1) * delta
            let right = Float(melLow) + Float(m + 2) * delta
            var lo = -1, row: [Float] = []
            for k in 0..<numFFTBins {
                let up = (mels[k] - left) / (center - left)
                let down = (right - mels[k]) / (right - center)
                let w = max(0, min(up, down))
                if w > 0 {
                    if lo < 0 { lo = k }
                    // Triangles are convex: zeros can only sit between non-zero weights on
                    // a bin exactly at an edge, so keep the run contiguous.
                    row.append(contentsOf: repeatElement(0, count: k - lo - row.count))
                    row.append(w)
                }
            }
            first.append(max(lo, 0))
            weights.append(contentsOf: row)
            offsets.append(weights.count)
        }
        self.numBins = numBins
        self.first = first
        self.offsets = offsets
        self.weights = weights
    }

    /// Kaldi's mel scale: `1127 ln(1 + f / 700)`.
    static func mel(hz f: Double) -> Double { 1127.0 * log(1.0 + f / 700.0) }

    /// The inverse of ``mel(hz:)``: `700 (e^(m / 1127) - 1)`.
    static func hz(mel m: Double) -> Double { 700.0 * (exp(m / 1127.0) - 1.0) }

    /// Centre frequency of each filter, Hz: `center = mel_low + (m + 1) * delta` as in `init`,
    /// in Double (the filters' weights are float32) and mapped back to hertz.
    static func centresHz(options o: FbankOptions) -> [Double] {
        let melLow = mel(hz: o.lowFreq)
        let delta = (mel(hz: o.effectiveHighFreq) - melLow) / Double(o.numMelBins + 1)
        return (0..<max(o.numMelBins, 0)).map { m in hz(mel: melLow + Double(m + 1) * delta) }
    }

    /// Number of FFT bins filter `m` covers (0 for an empty filter).
    func width(_ m: Int) -> Int { offsets[m + 1] - offsets[m] }

    /// `out[m] = sum_k weight[m][k] * spectrum[k]` for every filter, for 8 frames at once:
    /// `spectrum[k]` holds bin `k` of 8 frames (one per lane), `out[m]` filter `m` of them.
    @inline(__always)
    func apply(_ spectrum: UnsafePointer<SIMD8<Float>>, into out: UnsafeMutablePointer<SIMD8<Float>>) {
        weights.withUnsafeBufferPointer { w in
            first.withUnsafeBufferPointer { first in
                offsets.withUnsafeBufferPointer { offsets in
                    var o = offsets[0]
                    for m in 0..<numBins {
                        let end = offsets[m + 1]
                        let s = spectrum + (first[m] - o)
                        var acc = SIMD8<Float>()
                        while o < end {
                            acc += w[o] * s[o]
                            o += 1
                        }
                        out[m] = acc
                    }
                }
            }
        }
    }
}
