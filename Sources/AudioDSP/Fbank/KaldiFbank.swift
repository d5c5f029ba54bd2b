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
/// `log(energyFloor)` if that is > 0) last with `htkCompat`, else first.
public final class KaldiFbank: Sendable {
    /// The options this filterbank computes.
    public let options: FbankOptions
    let frames: FeatureWindow
    let melBanks: MelBanks
    let fft: RealFFT
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
        fft = RealFFT(size: options.paddedWindowSize)
        logEnergyFloor = options.energyFloor > 0 ? Float(log(options.energyFloor)) : nil
    }

    /// Output columns: mel bins (+ 1 with `useEnergy`).
    public var featureDimension: Int { options.featureDimension }

    /// Frames for `sampleCount` samples (see ``FbankOptions/frameCount(sampleCount:)``).
    public func frameCount(sampleCount: Int) -> Int { options.frameCount(sampleCount: sampleCount) }

    /// FFT bins each mel filter covers (0 for a filter that contains no FFT bin).
    public var melFilterWidths: [Int] { (0..<melBanks.numBins).map(melBanks.width) }

    /// Scratch buffers for one thread. Not `Sendable`: create one per thread (cheap: a few KiB).
    public final class Workspace {
        let raw: UnsafeMutablePointer<Float>
        let fftInput: RealFFT.Buffer
        let fftOutput: RealFFT.Buffer
        let spectrum: UnsafeMutablePointer<Float>
        let windowSize: Int
        let fftSize: Int

        /// Scratch sized for `fbank`.
        public init(for fbank: KaldiFbank) {
            windowSize = fbank.options.windowSize
            fftSize = fbank.options.paddedWindowSize
            raw = .allocate(capacity: windowSize)
            raw.initialize(repeating: 0, count: windowSize)
            spectrum = .allocate(capacity: fftSize / 2)
            spectrum.initialize(repeating: 0, count: fftSize / 2)
            fftInput = RealFFT.Buffer(count: fftSize)
            fftOutput = RealFFT.Buffer(count: fftSize + 2)
        }

        deinit {
            raw.deallocate()
            spectrum.deallocate()
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
    public func compute(_ samples: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                        workspace ws: Workspace) {
        let o = options
        let frameCount = frameCount(sampleCount: samples.count)
        let dim = featureDimension
        precondition(output.count == frameCount * dim,
                     "fbank output holds \(output.count) floats; \(frameCount) frames x \(dim) need \(frameCount * dim)")
        precondition(ws.windowSize == o.windowSize && ws.fftSize == o.paddedWindowSize,
                     "workspace made for other options")
        guard frameCount > 0 else { return }
        let numBins = o.numMelBins
        let melOffset = o.useEnergy && !o.htkCompat ? 1 : 0
        let energyColumn = o.htkCompat ? numBins : 0
        let usePower = o.usePower, useLog = o.useLogFbank, useEnergy = o.useEnergy
        let eps = Self.epsilon
        let out = output.baseAddress!
        for f in 0..<frameCount {
            frames.copyFrame(f, from: samples, to: ws.raw)
            let energy = frames.process(raw: ws.raw, into: ws.fftInput.pointer, wantEnergy: useEnergy)
            fft.forward(ws.fftInput, into: ws.fftOutput)
            VectorMath.powerSpectrum(ws.fftOutput.pointer, into: ws.spectrum, count: o.paddedWindowSize / 2,
                                     magnitude: !usePower)
            let row = out + f * dim
            melBanks.apply(ws.spectrum, into: row + melOffset)
            if useLog { VectorMath.logFloored(row + melOffset, count: numBins, floor: eps) }
            if useEnergy {
                var e = log(max(energy, eps))
                if let floor = logEnergyFloor { e = max(e, floor) }
                row[energyColumn] = e
            }
        }
    }
}
