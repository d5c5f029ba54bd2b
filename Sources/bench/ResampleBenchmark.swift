import AudioDSP
import Foundation

/// `bench resample [--seconds S] [--runs N] [--rates R,R] [--python PATH] [--no-reference]`:
/// output samples per second of each resampler (ours: `reference`, `sinc-best`, `sinc-medium`,
/// `sinc-fastest`) on a 44.1 kHz and a 4 kHz signal (or `--rates`) to 16 kHz, one thread, next to
/// torchaudio 0.13's `transforms.Resample` (kernel built once, as the paper's code does) timed
/// on the same signals in the same run. Prints medians, ratios to torchaudio, and how far our
/// reference port's output is from torchaudio's.
enum ResampleBenchmark {
    static let usage = "usage: bench resample [--seconds S (default 20)] [--runs N (default 20)] "
        + "[--rates R,R (default 44100,4000)] [--python PATH (default /usr/bin/python3)] [--no-reference]"

    static func run(_ arguments: [String]) throws {
        var seconds = 20.0, runs = 20, python = "/usr/bin/python3", reference = true, rates = [44100, 4000]
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            switch flag {
            case "--seconds": guard let v = rest.popFirst().flatMap(Double.init), v > 0 else { throw BenchError(usage) }; seconds = v
            case "--runs": guard let v = rest.popFirst().flatMap(Int.init), v > 0 else { throw BenchError(usage) }; runs = v
            case "--python": guard let v = rest.popFirst() else { throw BenchError(usage) }; python = v
            case "--no-reference": reference = false
            case "--rates":
                guard let v = rest.popFirst()?.split(separator: ",").compactMap({ Int($0) }), !v.isEmpty,
                      v.allSatisfy({ $0 > 0 }) else { throw BenchError(usage) }
                rates = v
            default: throw BenchError(usage)
            }
        }

        print(String(format: "resample to 16 kHz, %.0f s signals, single thread, median of %d runs (output samples per second)",
                     seconds, runs))
        for rate in rates {
            let input = testSignal(count: Int(seconds * Double(rate)), rate: rate)
            let outputCount = Resampler.outputLength(forInputLength: input.count, from: rate, to: 16000)
            print("\n\(rate) Hz -> 16000 Hz: \(input.count) -> \(outputCount) samples")
            var rows: [(name: String, median: Double)] = []
            var ourReference: [Float] = []
            for kind in ResamplerKind.allCases {
                let resampler = Resampler(kind: kind)
                var output: [Float] = []
                let time = try measure(runs: kind == .sincBest ? max(3, runs / 5) : runs) {
                    output = try resampler.resample(input, from: rate, to: 16000)
                }
                guard output.count == outputCount else { throw BenchError("\(kind): \(output.count) samples, expected \(outputCount)") }
                if kind == .reference { ourReference = output }
                rows.append((kind.rawValue, time))
            }
            var torchMedian: Double?
            if reference, let theirs = try torchaudio(input: input, rate: rate, runs: runs, python: python) {
                torchMedian = theirs.median
                rows.append(("torchaudio Resample", theirs.median))
                if theirs.output.count == ourReference.count {
                    let maxDiff = zip(theirs.output, ourReference).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                    print(String(format: "  reference vs torchaudio output: max abs difference %.3g", maxDiff))
                } else {
                    print("  torchaudio returned \(theirs.output.count) samples, ours \(ourReference.count)")
                }
            }
            print("  resampler              median ms    M samples/s    vs torchaudio")
            for row in rows {
                let rateM = Double(outputCount) / row.median / 1e6
                let ratio = torchMedian.map { String(format: "%8.2fx", $0 / row.median) } ?? "       -"
                print(String(format: "  %@ %10.3f %14.1f    %@", row.name.padding(toLength: 20, withPad: " ", startingAt: 0),
                             row.median * 1e3, rateM, ratio))
            }
        }
    }

    /// A breathing-like test signal: two tones plus deterministic noise, at `rate`.
    static func testSignal(count: Int, rate: Int) -> [Float] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return (0..<count).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let noise = Float(state >> 40) / Float(1 << 24) * 2 - 1
            let t = Double(i) / Double(rate)
            return Float(0.3 * sin(2 * Double.pi * 180 * t) + 0.1 * sin(2 * Double.pi * 1300 * t)) + 0.05 * noise
        }
    }

    /// Median wall time in seconds of `body` over `runs` runs after two warm-ups.
    static func measure(runs: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        try body()
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times[runs / 2]
    }

    /// Times `torchaudio.transforms.Resample(rate, 16000)` in a child python (one thread) on the
    /// same samples; nil, with the reason printed, when the reference stack is missing.
    static func torchaudio(input: [Float], rate: Int, runs: Int, python: String) throws -> (median: Double, output: [Float])? {
        let script = """
        import sys, time
        try:
            import numpy as np, torch, torchaudio
        except ImportError as e:
            print('MISSING', e); sys.exit(3)
        torch.set_num_threads(1)
        x = torch.from_numpy(np.fromfile(sys.argv[1], dtype='<f4'))[None]
        r = torchaudio.transforms.Resample(int(sys.argv[3]), 16000)
        runs = int(sys.argv[4])
        for _ in range(2): y = r(x)
        ts = []
        for _ in range(runs):
            t = time.perf_counter(); y = r(x); ts.append(time.perf_counter() - t)
        ts.sort()
        y[0].numpy().astype('<f4').tofile(sys.argv[2])
        print('MEDIAN', ts[runs // 2], 'torch', torch.__version__, 'torchaudio', torchaudio.__version__)
        """
        guard let result = try PythonReference.run(
            python: python, script: script, input: input, arguments: [String(rate), String(runs)], marker: "MEDIAN",
            installHint: "apt-get install python3-torchaudio") else { return nil }
        guard let first = result.fields.first, let median = Double(first) else {
            throw BenchError("cannot parse torchaudio's line: \(result.fields.joined(separator: " "))")
        }
        return (median, result.output)
    }
}
