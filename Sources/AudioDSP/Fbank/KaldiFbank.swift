import Foundation

/// Kaldi-compatible log mel filterbank, numerically matching torchaudio's
/// `compliance.kaldi.fbank` (float32, FFTW instead of pocketfft: agreement to float rounding).
///
/// Build it once from the options (window, sparse mel filters and the FFT plan are precomputed;
/// planning takes FFTW's planner lock), then share it across threads: it is immutable and
/// `Sendable`. Each thread computes with its own ``Workspace``, which holds every scratch
/// buffer, so ``compute(_:into:workspace:)`` allocates nothing.
///
/// Per frame: cut (reflecting at the ends without `snipEdges`) -> remove DC -> energy ->
/// pre-emphasis -> window -> zero-pad -> real FFT -> power (or magnitude) of bins
/// `0 ..< fftSize / 2` (the Nyquist bin has weight 0 in every filter) -> sparse mel filters ->
/// `log(max(x, FLT_EPSILON))` -> energy column (`log(max(energy, FLT_EPSILON))`, floored at
/// `log(energyFloor)` if that is > 0) last with `htkCompat`, else first -> optionally
/// ``FeatureNormalization`` (`compute(_:into:workspace:normalizedBy:)`), fused in.
public final class KaldiFbank: Sendable {
    /// The options this filterbank computes.
    public let options: FbankOptions
    let frames: FeatureWindow
    let melBanks: MelBanks
    let spectrum: PowerSpectrum
    /// `log(energyFloor)`, or nil when the floor is 0.
    let logEnergyFloor: Float?

    /// FLT_EPSILON, the floor of every log.
    public static let epsilon: Float = .ulpOfOne

    /// Validates the options (throws ``FbankError/invalidOptions(_:)``, e.g. for dither != 0)
    /// and precomputes everything.
    public init(options: FbankOptions) throws(FbankError) {
        try options.validate()
        self.options = options
        frames = FeatureWindow(options: options)
        melBanks = MelBanks(options: options)
        spectrum = PowerSpectrum(size: options.paddedWindowSize, magnitude: !options.usePower)
        logEnergyFloor = options.energyFloor > 0 ? Float(log(options.energyFloor)) : nil
    }

    /// Output columns: mel bins (+ 1 with `useEnergy`).
    public var featureDimension: Int { options.featureDimension }

    /// Frames for `sampleCount` samples (see ``FbankOptions/frameCount(sampleCount:)``).
    public func frameCount(sampleCount: Int) -> Int { options.frameCount(sampleCount: sampleCount) }

    /// The FFT algorithm FFTW planned (`fftwf_sprint_plan`), for reports.
    public var fftPlanDescription: String { spectrum.planDescription }

    /// FFT bins each mel filter covers (0 for a filter that contains no FFT bin).
    public var melFilterWidths: [Int] { (0..<melBanks.numBins).map(melBanks.width) }

    /// Frames processed together in the mel and log stages, one per SIMD lane.
    static let batch = 8

    /// Scratch buffers for one thread. Not `Sendable`: create one per thread (cheap: a few KiB).
    public final class Workspace {
        let windowSize: Int
        let fftSize: Int
        let numBins: Int
        /// One raw frame, where frames reaching outside the signal are assembled.
        let raw: UnsafeMutablePointer<Float>
        /// FFT input and output (FFTW-aligned).
        let fftInput: PowerSpectrum.Buffer
        let fftOutput: PowerSpectrum.Buffer
        /// A batch's spectra, frame after frame (`fftSize / 2` bins each).
        let power: UnsafeMutablePointer<Float>
        /// A batch's spectra, transposed: bin k of frame b is `spectra[k][b]`.
        let spectra: UnsafeMutablePointer<SIMD8<Float>>
        /// A batch's mel energies, transposed: filter m of frame b is `mel[m][b]`.
        let mel: UnsafeMutablePointer<SIMD8<Float>>
        /// A batch's frame energies.
        let energies: UnsafeMutablePointer<Float>

        /// Scratch sized for `fbank`.
        public init(for fbank: KaldiFbank) {
            windowSize = fbank.options.windowSize
            fftSize = fbank.options.paddedWindowSize
            numBins = fbank.options.numMelBins
            raw = .allocate(capacity: windowSize)
            raw.initialize(repeating: 0, count: windowSize)
            fftInput = PowerSpectrum.Buffer(count: fftSize)
            fftOutput = PowerSpectrum.Buffer(count: fftSize)
            power = .allocate(capacity: KaldiFbank.batch * fftSize / 2)
            power.initialize(repeating: 0, count: KaldiFbank.batch * fftSize / 2)
            spectra = .allocate(capacity: fftSize / 2)
            spectra.initialize(repeating: SIMD8(), count: fftSize / 2)
            mel = .allocate(capacity: numBins)
            mel.initialize(repeating: SIMD8(), count: numBins)
            energies = .allocate(capacity: KaldiFbank.batch)
            energies.initialize(repeating: 0, count: KaldiFbank.batch)
        }

        deinit {
            raw.deallocate()
            power.deallocate()
            spectra.deallocate()
            mel.deallocate()
            energies.deallocate()
        }
    }

    /// The features of `samples`: `frameCount(sampleCount:) x featureDimension` floats, row-major.
    public func compute(_ samples: [Float]) -> [Float] {
        samples.withUnsafeBufferPointer { compute($0) }
    }

    /// The features of `samples`: `frameCount(sampleCount:) x featureDimension` floats, row-major.
    public func compute(_ samples: UnsafeBufferPointer<Float>) -> [Float] {
        let count = frameCount(sampleCount: samples.count) * featureDimension
        let workspace = Workspace(for: self)
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            compute(samples, into: out, workspace: workspace)
            initialized = count
        }
    }

    /// Writes the features of `samples` into `output`, which must hold exactly
    /// `frameCount(sampleCount: samples.count) * featureDimension` floats. No allocation.
    ///
    /// With `normalization`, every value (mel and energy columns) is normalised while the batch
    /// is still in cache, with ``FeatureNormalization/apply(to:)``'s arithmetic:
    /// `(x - Float(mean)) / Float(std * 2)`, so the output is bit-identical to computing and then
    /// applying it, without a second pass over the output.
    public func compute(_ samples: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                        workspace ws: Workspace, normalizedBy normalization: FeatureNormalization = .none) {
        let o = options
        let frameCount = frameCount(sampleCount: samples.count)
        let dim = featureDimension
        precondition(output.count == frameCount * dim,
                     "fbank output holds \(output.count) floats; \(frameCount) frames x \(dim) need \(frameCount * dim)")
        precondition(ws.windowSize == o.windowSize && ws.fftSize == o.paddedWindowSize,
                     "workspace made for other options")
        guard frameCount > 0 else { return }
        let numBins = o.numMelBins, numFFTBins = o.paddedWindowSize / 2
        let melOffset = o.useEnergy && !o.htkCompat ? 1 : 0
        let energyColumn = o.htkCompat ? numBins : 0
        let useLog = o.useLogFbank, useEnergy = o.useEnergy
        let eps = Self.epsilon
        // Normalisation constants, in FeatureNormalization.apply's float32 arithmetic.
        let shift: Float?, scale: Float
        if let (mean, std) = normalization.statistics {
            shift = Float(mean)
            scale = Float(std * FeatureNormalization.stdScale)
        } else {
            shift = nil
            scale = 1
        }
        let out = output.baseAddress!
        // Batches of 8 frames: time domain and FFT frame by frame, then the spectra transposed
        // so that the mel filters and the log run on 8 frames per SIMD operation.
        let spectra = UnsafeMutableRawPointer(ws.spectra).assumingMemoryBound(to: Float.self)
        let mel = UnsafeMutableRawPointer(ws.mel).assumingMemoryBound(to: Float.self)
        var first = 0
        while first < frameCount {
            let count = min(Self.batch, frameCount - first)
            for b in 0..<count {
                let x = frames.frame(first + b, of: samples, scratch: ws.raw)
                ws.energies[b] = frames.process(x, into: ws.fftInput.pointer, wantEnergy: useEnergy)
                spectrum.compute(ws.fftInput, scratch: ws.fftOutput, into: ws.power + b * numFFTBins)
            }
            // Unused lanes of a last, partial batch: zeros rather than the previous batch's
            // values, whatever those were.
            (ws.power + count * numFFTBins).update(repeating: 0, count: (Self.batch - count) * numFFTBins)
            VectorMath.transpose(ws.power, rows: Self.batch, columns: numFFTBins, stride: numFFTBins,
                                 into: spectra, stride: Self.batch)
            melBanks.apply(ws.spectra, into: ws.mel)
            if useLog { VectorMath.logFloored(mel, count: numBins * Self.batch, floor: eps) }
            if let shift {
                // A true division, as FeatureNormalization.apply does (not a reciprocal multiply).
                let shiftVector = SIMD8<Float>(repeating: shift), scaleVector = SIMD8<Float>(repeating: scale)
                for m in 0..<numBins { ws.mel[m] = (ws.mel[m] - shiftVector) / scaleVector }
            }
            VectorMath.transpose(mel, rows: numBins, columns: count, stride: Self.batch,
                                 into: out + first * dim + melOffset, stride: dim)
            for b in 0..<count {
                if useEnergy {
                    var e = log(max(ws.energies[b], eps))
                    if let floor = logEnergyFloor { e = max(e, floor) }
                    if let shift { e = (e - shift) / scale }
                    out[(first + b) * dim + energyColumn] = e
                }
            }
            first += count
        }
    }
}
