import CSampleRate
import Foundation

/// Resamples whole recordings with the converter chosen by ``ResamplerKind``.
///
/// Every kind returns torchaudio's output length, `ceil(to * n / from)` (rates reduced by their
/// gcd), so cycle slice bounds are identical whichever resampler made the audio; libsamplerate's
/// converters are trimmed or zero-padded at the end to that length (they differ by at most a
/// couple of samples). Equal rates return the input unchanged, as torchaudio does.
public struct Resampler: Sendable {
    public let kind: ResamplerKind

    public init(kind: ResamplerKind = .default) {
        self.kind = kind
    }

    /// The length every kind returns for `n` samples: `ceil(to * n / from)`.
    public static func outputLength(forInputLength n: Int, from: Int, to: Int) -> Int {
        precondition(from > 0 && to > 0, "rates must be positive")
        let g = TorchaudioSincResampler.gcd(from, to)
        let orig = from / g, new = to / g
        return (new * n + orig - 1) / orig
    }

    public func resample(_ input: [Float], from: Int, to: Int) throws(ResamplingError) -> [Float] {
        if from == to && from > 0 { return input }
        return try input.withUnsafeBufferPointer { (p) throws(ResamplingError) -> [Float] in
            try resample(p, from: from, to: to)
        }
    }

    public func resample(_ input: UnsafeBufferPointer<Float>, from: Int, to: Int) throws(ResamplingError) -> [Float] {
        guard from > 0, to > 0 else {
            throw ResamplingError(function: "Resampler.resample",
                                  reason: .invalidRates(from: from, to: to, "rates must be positive"))
        }
        if from == to { return Array(input) }
        switch kind {
        case .reference:
            return Self.referenceKernel(from: from, to: to).resample(input)
        case .sincBest, .sincMedium, .sincFastest:
            let ratio = Double(to) / Double(from)
            guard src_is_valid_ratio(ratio) != 0 else {
                throw ResamplingError(function: "src_is_valid_ratio",
                                      reason: .invalidRates(from: from, to: to, "libsamplerate supports ratios from 1/256 to 256"))
            }
            let converter = try SampleRateConverter(converter: kind.libsamplerateConverter!)
            return try converter.convert(input, ratio: ratio,
                                         outputCount: Self.outputLength(forInputLength: input.count, from: from, to: to))
        }
    }

    // MARK: Kernel cache

    /// Built kernels by rate pair, like torchaudio's `Resample` module precomputing its kernel:
    /// a corpus has a handful of source rates.
    private static let cache = KernelCache()

    static func referenceKernel(from: Int, to: Int) -> TorchaudioSincResampler {
        cache.kernel(from: from, to: to)
    }
}

extension ResamplerKind {
    /// The libsamplerate converter type, nil for ``reference``.
    var libsamplerateConverter: Int32? {
        switch self {
        case .reference: nil
        case .sincBest: Int32(SRC_SINC_BEST_QUALITY)
        case .sincMedium: Int32(SRC_SINC_MEDIUM_QUALITY)
        case .sincFastest: Int32(SRC_SINC_FASTEST)
        }
    }
}

/// Thread-safe store of reference kernels keyed by rate pair (at most `limit`, oldest dropped).
private final class KernelCache: @unchecked Sendable {
    private let lock = NSLock()
    private var kernels: [(from: Int, to: Int, kernel: TorchaudioSincResampler)] = []
    private let limit = 16

    func kernel(from: Int, to: Int) -> TorchaudioSincResampler {
        lock.lock()
        if let hit = kernels.first(where: { $0.from == from && $0.to == to }) {
            lock.unlock()
            return hit.kernel
        }
        lock.unlock()
        let built = TorchaudioSincResampler(from: from, to: to)
        lock.lock()
        defer { lock.unlock() }
        if !kernels.contains(where: { $0.from == from && $0.to == to }) {
            if kernels.count == limit { kernels.removeFirst() }
            kernels.append((from, to, built))
        }
        return built
    }
}
