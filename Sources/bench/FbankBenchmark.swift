import AudioDSP
import Foundation
import HostCPU

/// `bench fbank [--runs N] [--python PATH] [--no-reference]`: the fbank of one 8 s cycle
/// (128,000 samples at 16 kHz -> 798 x 128), single thread, ours next to torchaudio's
/// `compliance.kaldi.fbank` with the paper's options, both on the same signal in the same run.
/// Prints medians (and minima) in milliseconds, the ratio, and how far the two outputs agree.
enum FbankBenchmark {
    static let usage = "usage: bench fbank [--runs N (default 500)] [--python PATH (default /usr/bin/python3)] [--no-reference]"

    static func run(_ arguments: [String]) throws {
        var runs = 500, python = "/usr/bin/python3", reference = true
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            switch flag {
            case "--runs": guard let v = rest.popFirst().flatMap(Int.init), v > 0 else { throw BenchError(usage) }; runs = v
            case "--python": guard let v = rest.popFirst() else { throw BenchError(usage) }; python = v
            case "--no-reference": reference = false
            default: throw BenchError(usage)
            }
        }

        let samples = testSignal(count: 128_000)
        let fbank = try KaldiFbank(options: .paper)
        let frames = fbank.frameCount(sampleCount: samples.count), dim = fbank.featureDimension
        let workspace = KaldiFbank.Workspace(for: fbank)
        var output = [Float](repeating: 0, count: frames * dim)
        let ours = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                time(runs: runs) { fbank.compute(input, into: out, workspace: workspace) }
            }
        }
        let oursNormalised = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                time(runs: runs) {
                    fbank.compute(input, into: out, workspace: workspace)
                    FeatureNormalization.audioset.apply(to: out)
                }
            }
        }
        fbank.compute(samples.withUnsafeBufferPointer { $0 }, into: output.withUnsafeMutableBufferPointer { $0 },
                      workspace: workspace)

        print("fbank of one 8 s cycle (128,000 samples at 16 kHz -> \(frames) x \(dim)), single thread, \(runs) runs")
        print("  build: \(HostCPU.dspTargetDescription)")
        print("  FFTW plan: \(fbank.fftPlanDescription)")
        print(String(format: "  ours (KaldiFbank, FFTW float32):        median %.3f ms  (min %.3f ms)", ours.median, ours.min))
        print(String(format: "  ours + AudioSet normalisation:          median %.3f ms  (min %.3f ms)",
                     oursNormalised.median, oursNormalised.min))
        guard reference else { return }
        guard let theirs = try torchaudio(samples: samples, frames: frames, dim: dim, runs: runs, python: python) else { return }
        print(String(format: "  torchaudio compliance.kaldi.fbank:      median %.3f ms  (min %.3f ms)  [%@]",
                     theirs.time.median, theirs.time.min, theirs.blas))
        print(String(format: "  speed-up: %.1fx (medians), %.1fx (minima)",
                     theirs.time.median / ours.median, theirs.time.min / ours.min))
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
            print("  load average during the run: \(load.split(separator: " ").prefix(3).joined(separator: " ")) "
                  + "(torchaudio's time grows with machine load far more than ours)")
        }
        var maxDiff: Float = 0, sumDiff = 0.0
        for (a, b) in zip(output, theirs.features) {
            let d = abs(a - b)
            maxDiff = max(maxDiff, d)
            sumDiff += Double(d)
        }
        print(String(format: "  agreement (raw log mel): max abs %.3g, mean abs %.3g", maxDiff, sumDiff / Double(output.count)))
    }

    /// Deterministic stand-in for a cycle: a 440 Hz tone (0.3) plus uniform noise (0.1).
    static func testSignal(count: Int) -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let noise = Float(state >> 40) / Float(1 << 24) * 2 - 1
            return 0.3 * sin(2 * Float.pi * 440 * Float(i) / 16_000) + 0.1 * noise
        }
    }

    struct Timing { var median: Double; var min: Double }

    /// Median and minimum wall time of `body` over `runs` runs (after a warm-up), milliseconds.
    static func time(runs: Int, _ body: () -> Void) -> Timing {
        for _ in 0..<max(10, runs / 10) { body() }
        var times: [Double] = []
        times.reserveCapacity(runs)
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        return Timing(median: times[runs / 2], min: times[0])
    }

    /// Times torchaudio in a child `python3` (one thread) on the same samples; nil (with the
    /// reason printed) when the reference stack is missing.
    static func torchaudio(samples: [Float], frames: Int, dim: Int, runs: Int, python: String)
        throws -> (time: Timing, features: [Float], blas: String)?
    {
        let script = """
        import sys, os, time
        try:
            import numpy as np, torch, torchaudio
        except ImportError as e:
            print('MISSING', e); sys.exit(3)
        torch.set_num_threads(1)
        x = torch.from_numpy(np.fromfile(sys.argv[1], dtype='<f4'))[None]
        kw = dict(htk_compat=True, sample_frequency=16000, use_energy=False, window_type='hanning',
                  num_mel_bins=128, dither=0.0, frame_shift=10)
        f = torchaudio.compliance.kaldi.fbank
        runs = int(sys.argv[3])
        for _ in range(max(10, runs // 10)): y = f(x, **kw)
        ts = []
        for _ in range(runs):
            t = time.perf_counter(); y = f(x, **kw); ts.append(time.perf_counter() - t)
        ts.sort()
        maps = open('/proc/self/maps').read()
        blas = 'BLAS: OpenBLAS' if 'openblas' in maps else 'BLAS: not OpenBLAS, ~4x slower (apt-get install libopenblas0-pthread)'
        y.numpy().astype('<f4').tofile(sys.argv[2])
        print('TIMES', ts[runs // 2] * 1e3, ts[0] * 1e3, 'torch', torch.__version__, 'torchaudio', torchaudio.__version__, '|', blas)
        """
        guard let result = try PythonReference.run(
            python: python, script: script, input: samples, arguments: [String(runs)], marker: "TIMES",
            installHint: "apt-get install python3-torchaudio libopenblas0-pthread") else { return nil }
        guard result.fields.count >= 2, let median = Double(result.fields[0]), let minimum = Double(result.fields[1]) else {
            throw BenchError("cannot parse torchaudio's timing line: \(result.fields.joined(separator: " "))")
        }
        guard result.output.count == frames * dim else {
            throw BenchError("torchaudio wrote \(result.output.count) values, expected \(frames * dim)")
        }
        return (Timing(median: median, min: minimum), result.output, result.fields.dropFirst(2).joined(separator: " "))
    }
}
