import AudioDSP
import HDF5
import TestSupport
import XCTest

/// The fbank against torchaudio 0.13's `compliance.kaldi.fbank` (golden.h5).
final class FbankGoldenTests: XCTestCase {
    /// Acceptance 1: `cycles/padded_16k` -> paper fbank -> AudioSet normalisation reproduces
    /// `cycles/fbank`. Tolerance: max abs <= 1e-3, mean abs <= 1e-5 (float rounding; FFTW vs
    /// pocketfft and a different summation order, amplified by the log on tiny energies).
    func testPaperFbankMatchesGoldenCycles() throws {
        let file = try FbankGolden.open()
        let (audio, audioShape) = try file.read("/cycles/padded_16k", as: Float.self)
        let (golden, goldenShape) = try file.read("/cycles/fbank", as: Float.self)
        XCTAssertEqual(audioShape, [36, 128_000])
        XCTAssertEqual(goldenShape, [36, 798, 128])
        let fbank = try KaldiFbank(options: .paper)
        XCTAssertEqual(fbank.frameCount(sampleCount: 128_000), 798)
        XCTAssertEqual(fbank.featureDimension, 128)
        let workspace = KaldiFbank.Workspace(for: fbank)
        let cycles = audioShape[0], samples = audioShape[1], size = goldenShape[1] * goldenShape[2]
        var total = Difference()
        var features = [Float](repeating: 0, count: size)
        for c in 0..<cycles {
            audio.withUnsafeBufferPointer { a in
                features.withUnsafeMutableBufferPointer { out in
                    fbank.compute(UnsafeBufferPointer(rebasing: a[(c * samples)..<((c + 1) * samples)]),
                                  into: out, workspace: workspace)
                    FeatureNormalization.audioset.apply(to: out)
                }
            }
            var d = Difference()
            d.add(features, Array(golden[(c * size)..<((c + 1) * size)]))
            total.add(features, Array(golden[(c * size)..<((c + 1) * size)]))
            XCTAssertLessThanOrEqual(d.max, 1e-3, "cycle \(c): \(d)")
        }
        print("fbank paper vs golden cycles/fbank (normalised): \(total)")
        XCTAssertLessThanOrEqual(total.max, 1e-3, "\(total)")
        XCTAssertLessThanOrEqual(total.mean, 1e-5, "\(total)")
    }

    /// Acceptance 1, second half: each `kaldi_options/*` case (raw, unnormalised) on
    /// `kaldi_options/input`. Tolerance: max abs <= 1e-2, mean abs <= 1e-4.
    func testKaldiOptionCasesMatchGolden() throws {
        let file = try FbankGolden.open()
        let (input, _) = try file.read("/kaldi_options/input", as: Float.self)
        let cases = try file.children(of: "/kaldi_options").filter { $0 != "input" }
        XCTAssertFalse(cases.isEmpty, "no kaldi_options cases in \(FbankGolden.path)")
        for name in cases {
            let options = try Self.options(of: name, in: file)
            let (golden, shape) = try file.read("/kaldi_options/\(name)", as: Float.self)
            let fbank = try KaldiFbank(options: options)
            XCTAssertEqual([fbank.frameCount(sampleCount: input.count), fbank.featureDimension], shape, name)
            let ours = fbank.compute(input)
            guard ours.count == golden.count else { continue }
            var d = Difference()
            d.add(ours, golden)
            print("fbank kaldi_options/\(name) vs golden (raw): \(d)")
            XCTAssertLessThanOrEqual(d.max, 1e-2, "\(name): \(d)")
            XCTAssertLessThanOrEqual(d.mean, 1e-4, "\(name): \(d)")
        }
    }

    /// Booleans each golden case sets (`make_goldens.py`). h5py writes Python bools as HDF5
    /// enums, which the HDF5 wrapper does not read (it returns nil), so they are restated here
    /// and cross-checked against any that do read as integers.
    static let caseBooleans: [String: [String: Bool]] = [
        "paper": [:], "bins80_hamming": [:], "frame50_shift20_lowhigh": [:],
        "povey_energy": ["use_energy": true],
        "no_snip_edges": ["snip_edges": false],
        "no_dc_no_preemph": ["remove_dc_offset": false],
        "not_htk_compat_energy": ["htk_compat": false, "use_energy": true],
        "linear_power_false": ["use_power": false, "use_log_fbank": true],
    ]

    /// The golden's base options (the paper's call, torchaudio defaults otherwise) with the
    /// case's attributes applied.
    static func options(of name: String, in file: HDF5File) throws -> FbankOptions {
        guard let booleans = caseBooleans[name] else {
            XCTFail("kaldi_options/\(name) is not a known case: add its booleans to caseBooleans")
            return .paper
        }
        let path = "/kaldi_options/\(name)"
        var o = FbankOptions.paper
        func double(_ key: String) throws -> Double? { try file.attribute(key, on: path)?.doubleValue }
        func bool(_ key: String) throws -> Bool? {
            let read = try file.attribute(key, on: path)?.integerValue.map { $0 != 0 }
            if let read, let stated = booleans[key] { XCTAssertEqual(read, stated, "\(name)@\(key)") }
            return read ?? booleans[key]
        }
        if let v = try double("sample_frequency") { o.sampleFrequency = v }
        if let v = try double("frame_length") { o.frameLengthMs = v }
        if let v = try double("frame_shift") { o.frameShiftMs = v }
        if let v = try double("blackman_coeff") { o.blackmanCoeff = v }
        if let v = try double("preemphasis_coefficient") { o.preemphasisCoefficient = v }
        if let v = try double("low_freq") { o.lowFreq = v }
        if let v = try double("high_freq") { o.highFreq = v }
        if let v = try double("energy_floor") { o.energyFloor = v }
        if let v = try double("dither") { o.dither = v }
        if let v = try double("num_mel_bins") { o.numMelBins = Int(v) }
        if let v = try file.attribute("window_type", on: path)?.stringValue {
            guard let w = FbankOptions.WindowType(rawValue: v) else {
                XCTFail("\(name): unknown window_type \(v)")
                return o
            }
            o.windowType = w
        }
        if let v = try bool("remove_dc_offset") { o.removeDCOffset = v }
        if let v = try bool("round_to_power_of_two") { o.roundToPowerOfTwo = v }
        if let v = try bool("snip_edges") { o.snipEdges = v }
        if let v = try bool("use_energy") { o.useEnergy = v }
        if let v = try bool("raw_energy") { o.rawEnergy = v }
        if let v = try bool("htk_compat") { o.htkCompat = v }
        if let v = try bool("use_power") { o.usePower = v }
        if let v = try bool("use_log_fbank") { o.useLogFbank = v }
        return o
    }
}
