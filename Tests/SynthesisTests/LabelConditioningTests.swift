import AudioDSP
import Foundation
import ICBHI
import Synthesis
import XCTest

/// The labels are audible in the model's own input: measured on the paper's fbank (128 log mel
/// bins, 25 ms frames every 10 ms) of cycles rendered at 16 kHz, wheeze cycles are tonal in
/// 100-1000 Hz and crackle cycles have transients, and normal cycles are neither.
final class LabelConditioningTests: XCTestCase {
    /// Per-cycle measurements on the fbank.
    struct Measures {
        let label: CycleLabel
        /// Largest local prominence, in the log mel spectrum averaged over the cycle's central
        /// half, of a bin centred in 100-1000 Hz (its value minus the median of the 13 bins around it).
        let tonality: Double
        /// Transients per second: frames where at least half of the mel bins in 500-4000 Hz rise
        /// more than 1.0 (4.3 dB) above their mean over the frames 3 to 10 away on either side
        /// (broadband and brief; a sustained wheeze raises only a few bins, and only at its onset).
        let transients: Double
    }

    static let sampleRate = 16000

    /// 24 cycles of 2.5 s separated by 0.3 s, labels cycling normal, crackle, wheeze, both.
    static func cycles() -> [AnnotatedCycle] {
        (0..<24).map { k in
            let start = 0.5 + Double(k) * 2.8
            let label = CycleLabel(rawValue: k % 4)!
            return AnnotatedCycle(index: k, start: start, end: start + 2.5, crackle: label == .crackle || label == .both,
                                  wheeze: label == .wheeze || label == .both, line: k + 1)
        }
    }

    static func measure(seed: UInt64, model: LungSoundModel = LungSoundModel()) throws -> [Measures] {
        let cycles = cycles()
        let frames = Int((cycles.last!.end + 0.5) * Double(sampleRate))
        let audio = model.render(cycles: cycles, sampleRate: sampleRate, frames: frames, seed: seed)
        let fbank = try KaldiFbank(options: .paper)
        let bins = fbank.featureDimension
        // Mel bin centres (REFERENCE.md step 6: 128 triangles evenly spaced in mel over 20-8000 Hz).
        func mel(_ f: Double) -> Double { 1127 * log(1 + f / 700) }
        let low = mel(20), step = (mel(8000) - low) / Double(bins + 1)
        let centres = (0..<bins).map { 700 * (exp((low + Double($0 + 1) * step) / 1127) - 1) }
        let tonalBins = centres.indices.filter { centres[$0] >= 100 && centres[$0] <= 1000 }
        let transientBins = centres.indices.filter { centres[$0] >= 500 && centres[$0] <= 4000 }

        return cycles.map { cycle in
            let bounds = cycle.sliceBounds(sampleRate: sampleRate, frames: audio.count)
            let features = fbank.compute(Array(audio[bounds]))
            let count = features.count / bins
            func row(_ t: Int) -> ArraySlice<Float> { features[(t * bins)..<((t + 1) * bins)] }
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

            // Time-average the central half of the cycle: a sustained tone stays a peak, noise flattens.
            var average = [Double](repeating: 0, count: bins)
            let central = (count / 4)..<(3 * count / 4)
            for t in central {
                let r = row(t)
                for i in 0..<bins { average[i] += Double(r[r.startIndex + i]) / Double(central.count) }
            }
            var tonality = -Double.infinity
            for i in tonalBins where average[i] > -15 {
                let neighbours = (max(0, i - 6)...min(bins - 1, i + 6)).map { average[$0] }.filter { $0 > -15 }
                tonality = max(tonality, average[i] - median(neighbours))
            }
            // Per bin, prefix sums over time, for the mean of the frames 3 to 10 away on either side.
            var prefix = [[Double]](repeating: [0], count: bins)
            for i in transientBins {
                for t in 0..<count { prefix[i].append(prefix[i][t] + Double(features[t * bins + i])) }
            }
            func isTransient(_ t: Int) -> Bool {
                var raised = 0
                for i in transientBins {
                    let p = prefix[i]
                    let around = (p[t - 2] - p[t - 10] + p[t + 11] - p[t + 3]) / 16
                    if Double(features[t * bins + i]) - around > 1.0 { raised += 1 }
                }
                return Double(raised) >= 0.5 * Double(transientBins.count)
            }
            var jumps = 0
            var t = 10
            while t < count - 10 {
                if isTransient(t) {
                    jumps += 1
                    t += 3 // one transient spans about three 25 ms frames
                } else {
                    t += 1
                }
            }
            return Measures(label: cycle.label, tonality: tonality,
                            transients: Double(jumps) / cycle.duration)
        }
    }

    func testWheezesAreTonalAndCracklesAreTransientInTheFbank() throws {
        var all: [Measures] = []
        for seed: UInt64 in [1, 2, 3] { all += try Self.measure(seed: seed) }
        func values(_ labels: Set<CycleLabel>, _ key: KeyPath<Measures, Double>) -> [Double] {
            all.filter { labels.contains($0.label) }.map { $0[keyPath: key] }.sorted()
        }
        for label in CycleLabel.allCases {
            let tonal = values([label], \.tonality).map { String(format: "%.2f", $0) }.joined(separator: " ")
            let transient = values([label], \.transients).map { String(format: "%.1f", $0) }.joined(separator: " ")
            print("\(label.name): tonality [\(tonal)]  transients/s [\(transient)]")
        }
        let tonalNo = values([.normal, .crackle], \.tonality), tonalYes = values([.wheeze, .both], \.tonality)
        let transientNo = values([.normal, .wheeze], \.transients), transientYes = values([.crackle, .both], \.transients)
        // Nearly separable by a threshold, but not trivially: at most 2 of 36 cycles on the wrong side.
        func errors(_ negatives: [Double], _ positives: [Double]) -> Int {
            let candidates = negatives + positives
            return candidates.map { threshold in
                negatives.filter { $0 >= threshold }.count + positives.filter { $0 < threshold }.count
            }.min()!
        }
        XCTAssertLessThanOrEqual(errors(tonalNo, tonalYes), 2, "wheeze vs no wheeze by tonality")
        XCTAssertLessThanOrEqual(errors(transientNo, transientYes), 2, "crackle vs no crackle by transients")
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        XCTAssertGreaterThan(mean(tonalYes), mean(tonalNo) + 0.5)
        XCTAssertGreaterThan(mean(transientYes), 3 * max(mean(transientNo), 0.5))
    }

    /// The measures can fail: a model without adventitious sounds gives no separation.
    func testTheMeasuresSeeNothingWhenTheModelIsSilencedForAdventitiousSounds() throws {
        var model = LungSoundModel()
        model.wheezeSNRDB = -80 ... -80
        model.crackleSNRDB = -80 ... -80
        let measures = try Self.measure(seed: 1, model: model)
        let tonal = measures.filter { $0.label == .wheeze || $0.label == .both }.map(\.tonality)
        let flat = measures.filter { $0.label == .normal || $0.label == .crackle }.map(\.tonality)
        XCTAssertLessThan(tonal.reduce(0, +) / Double(tonal.count), flat.reduce(0, +) / Double(flat.count) + 0.3)
        let clicks = measures.filter { $0.label == .crackle || $0.label == .both }.map(\.transients)
        XCTAssertLessThan(clicks.reduce(0, +) / Double(clicks.count), 2)
    }
}
