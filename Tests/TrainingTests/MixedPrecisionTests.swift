import Foundation
@testable import Training
import TrainingTestSupport
import XCTest

/// `--amp`: GradScaler's policy (backoff, growth, skip), its state through checkpoints and
/// `--resume`, and the autocast path on CPU (bfloat16).
final class MixedPrecisionTests: XCTestCase {
    override func setUp() { Torch.threads = 1 }

    // ---- the policy, as torch.cuda.amp.GradScaler ---------------------------------------

    func testScalerDefaultsAreThePapers() {
        let s = GradScaler()
        XCTAssertEqual(s.scale, 65536)
        XCTAssertEqual(s.growthFactor, 2)
        XCTAssertEqual(s.backoffFactor, 0.5)
        XCTAssertEqual(s.growthInterval, 2000)
        XCTAssertEqual(s.growthTracker, 0)
    }

    func testInfHalvesTheScaleAndRestartsTheGrowthCount() {
        var s = GradScaler()
        for _ in 0..<10 { s.update(foundInf: false) }
        XCTAssertEqual(s.growthTracker, 10)
        XCTAssertEqual(s.update(foundInf: true), .backedOff(from: 65536, to: 32768))
        XCTAssertEqual(s.scale, 32768)
        XCTAssertEqual(s.growthTracker, 0)
        s.update(foundInf: true)
        XCTAssertEqual(s.scale, 16384)
    }

    /// Growth after exactly 2,000 consecutive clean steps (simulated), and an inf/NaN step in
    /// between restarts the count.
    func testScaleDoublesAfter2000CleanSteps() {
        var s = GradScaler()
        for step in 1...1999 { XCTAssertEqual(s.update(foundInf: false), .unchanged, "step \(step)") }
        XCTAssertEqual(s.scale, 65536)
        XCTAssertEqual(s.update(foundInf: false), .grew(from: 65536, to: 131072))
        XCTAssertEqual(s.growthTracker, 0)

        var t = GradScaler()
        for _ in 0..<1500 { t.update(foundInf: false) }
        t.update(foundInf: true) // 32768, count restarts
        for _ in 0..<1999 { t.update(foundInf: false) }
        XCTAssertEqual(t.scale, 32768, "1,999 clean steps after a skip must not grow the scale")
        t.update(foundInf: false)
        XCTAssertEqual(t.scale, 65536)
    }

    func testScaleNeverGrowsPastFloat32() {
        var s = GradScaler(initialScale: Float.greatestFiniteMagnitude / 1.5, growthInterval: 1)
        XCTAssertEqual(s.update(foundInf: false), .unchanged)
        XCTAssertEqual(s.scale, Float.greatestFiniteMagnitude / 1.5)
    }

    func testScalerStateRoundTripsThroughJSONAndRejectsBadValues() throws {
        var s = GradScaler()
        for _ in 0..<5 { s.update(foundInf: false) }
        s.update(foundInf: true)
        s.update(foundInf: false)
        let json = try JSONEncoder().encode(s)
        XCTAssertEqual(try JSONDecoder().decode(GradScaler.self, from: json), s)
        let bad = Data(#"{"scale":0,"growthFactor":2,"backoffFactor":0.5,"growthInterval":2000,"growthTracker":1}"#.utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(GradScaler.self, from: bad)) { error in
            XCTAssertTrue("\(error)".contains("loss scaler state out of range: scale 0.0"), "\(error)")
        }
    }

    // ---- the step on CPU tensors ------------------------------------------------------------

    /// A batch whose gradients hold inf/NaN (an inf in the input, as an overflowing float16
    /// activation would give): the step is skipped (no Adam step: its step count and moments
    /// stay, so a later clean step matches a model that never saw the bad batch) and reported.
    func testInfGradientSkipsTheStepAndLeavesWeightsAndAdamUnchanged() throws {
        var options = SyntheticCorpus.options(output: "/tmp/unused", epochs: 1, method: .ce)
        options.maBeta = 0.5
        let data = SyntheticCorpus.make(count: 8, seed: 21)
        let x = Array(data.features), labels = data.labels.map(Int64.init)
        var poisoned = x
        poisoned[123] = .infinity
        let probe = Array(SyntheticCorpus.make(count: 2, seed: 22).features)

        func model() throws -> ASTModel {
            Torch.manualSeed(5)
            let m = try ASTModel(config: options.model)
            try m.configureOptimizer(learningRate: 1e-3, weightDecay: 1e-6)
            return m
        }
        let skipped = try model(), clean = try model()
        let before = try skipped.logits(x: probe, batch: 2)
        var scaler = GradScaler()
        let bad = try skipped.trainStep(x: poisoned, labels: labels, objective: options.objective, mix: nil,
                                        lossScale: scaler.scale)
        XCTAssertTrue(bad.skipped)
        scaler.update(foundInf: bad.skipped)
        XCTAssertEqual(scaler.scale, 32768)
        XCTAssertEqual(try skipped.logits(x: probe, batch: 2), before, "a skipped step must not change the weights")

        // Without a scale a non-finite loss stays an error (fp32 training stops, naming the step).
        XCTAssertThrowsError(try skipped.trainStep(x: poisoned, labels: labels, objective: options.objective,
                                                   mix: nil)) { error in
            XCTAssertTrue((error as? TorchError)?.nonFiniteLoss == true, "\(error)")
        }

        // The next clean step equals the first step of a model that never saw the bad batch:
        // Adam's step count and moments were not touched either.
        let a = try skipped.trainStep(x: x, labels: labels, objective: options.objective, mix: nil,
                                      lossScale: scaler.scale)
        let b = try clean.trainStep(x: x, labels: labels, objective: options.objective, mix: nil,
                                    lossScale: 65536)
        XCTAssertFalse(a.skipped)
        XCTAssertFalse(b.skipped)
        XCTAssertEqual(a.loss, b.loss)
        XCTAssertEqual(try skipped.logits(x: probe, batch: 2), try clean.logits(x: probe, batch: 2))
        XCTAssertNotEqual(try clean.logits(x: probe, batch: 2), before, "a clean step must change the weights")
    }

    /// A clean loss-scaled fp32 step is the plain step up to rounding: scaling by a power of
    /// two and unscaling again is exact, so the two models agree closely.
    func testScaledStepMatchesPlainStep() throws {
        let options = SyntheticCorpus.options(output: "/tmp/unused", epochs: 1, method: .patchmix_cl)
        let data = SyntheticCorpus.make(count: 8, seed: 23)
        let x = Array(data.features), labels = data.labels.map(Int64.init)
        let probe = Array(SyntheticCorpus.make(count: 2, seed: 24).features)
        var outputs: [[Float]] = []
        for scale in [nil, Float(65536)] {
            Torch.manualSeed(6)
            let m = try ASTModel(config: options.model)
            try m.configureOptimizer(learningRate: 1e-3, weightDecay: 0)
            var rng = TrainingRNG(seed: 3)
            let mix = PatchMixPolicy.decide(batch: 8, patches: m.numPatches, mixBeta: 1, using: &rng)
            for _ in 0..<3 {
                let r = try m.trainStep(x: x, labels: labels, objective: options.objective, mix: mix, lossScale: scale)
                XCTAssertFalse(r.skipped)
            }
            outputs.append(try m.logits(x: probe, batch: 2))
        }
        XCTAssertEqual(outputs[0].count, outputs[1].count)
        for (p, q) in zip(outputs[0], outputs[1]) { XCTAssertEqual(p, q, accuracy: 1e-4 * max(1, abs(p))) }
    }

    /// Autocast reaches the forward pass: the same weights give bfloat16-rounded logits on
    /// CPU (close to, but not bit-equal with, float32), and switching it off restores float32.
    func testAutocastRunsTheForwardPassInBfloat16OnCPU() throws {
        let options = SyntheticCorpus.options(output: "/tmp/unused", epochs: 1)
        Torch.manualSeed(7)
        let m = try ASTModel(config: options.model)
        let probe = Array(SyntheticCorpus.make(count: 4, seed: 30).features)
        let fp32 = try m.logits(x: probe, batch: 4)
        XCTAssertEqual(try m.setAutocast(true), "bfloat16")
        let bf16 = try m.logits(x: probe, batch: 4)
        XCTAssertNotEqual(bf16, fp32)
        XCTAssertEqual(bf16.count, fp32.count)
        for (a, b) in zip(bf16, fp32) { XCTAssertEqual(a, b, accuracy: 0.05 * max(1, abs(b))) }
        XCTAssertEqual(try m.setAutocast(false), "float32")
        XCTAssertEqual(try m.logits(x: probe, batch: 4), fp32)
    }

    // ---- the trainer ---------------------------------------------------------------------------

    /// With `--amp` an inf/NaN step is skipped and logged, the scale halves each time, and
    /// the run goes on to the end (fp32 training stops instead).
    func testAmpRunSkipsNonFiniteStepsAndGoesOn() throws {
        let out = try Paths.temporaryDirectory("amp-nan")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let data = SyntheticCorpus.make(count: 32, seed: 25)
        var options = SyntheticCorpus.options(output: out, epochs: 1)
        options.amp = true
        let trainer = try Trainer(options: options, train: data, test: data)
        XCTAssertEqual(trainer.computeType, "bfloat16")
        var lines: [String] = []
        trainer.report = { lines.append($0) }
        try trainer.model.debugAddToParameters(.nan)
        let history = try trainer.run()
        XCTAssertEqual(history.count, 1)
        XCTAssertEqual(history[0].steps, 2)
        let skips = lines.filter { $0.contains("step skipped") }
        XCTAssertEqual(skips.count, 2, lines.joined(separator: "\n"))
        XCTAssertTrue(skips[0].contains("epoch 1, step 1: inf/NaN gradients at loss scale 65536: step skipped, loss scale -> 32768"), skips[0])
        XCTAssertEqual(trainer.gradScaler?.scale, 16384)
        XCTAssertEqual(try CheckpointMeta.read(path: trainer.lastCheckpoint).gradScaler?.scale, 16384)
    }

    /// The scaler's state goes into every checkpoint's meta and `resume` continues from it:
    /// an interrupted `--amp` run resumed equals the uninterrupted one, scale, growth count and
    /// weights (a growth interval of 3 makes the scale move within a few steps).
    func testScalerStateSurvivesCheckpointAndResume() throws {
        let train = SyntheticCorpus.make(count: 64, seed: 26), test = SyntheticCorpus.make(count: 20, seed: 27)
        let a = try Paths.temporaryDirectory("amp-full"), b = try Paths.temporaryDirectory("amp-resumed")
        defer {
            try? FileManager.default.removeItem(atPath: a)
            try? FileManager.default.removeItem(atPath: b)
        }
        var optionsA = SyntheticCorpus.options(output: a, epochs: 2, method: .patchmix)
        optionsA.amp = true
        var optionsB = optionsA
        optionsB.outputDirectory = b
        let custom = GradScaler(initialScale: 1024, growthInterval: 3)

        let full = try Trainer(options: optionsA, train: train, test: test)
        full.report = { _ in }
        full.gradScaler = custom
        let expected = try full.run()

        let interrupted = try Trainer(options: optionsB, train: train, test: test)
        interrupted.report = { _ in }
        interrupted.gradScaler = custom
        try interrupted.run(stopAfterEpoch: 1)
        let saved = try XCTUnwrap(try CheckpointMeta.read(path: interrupted.lastCheckpoint).gradScaler)
        XCTAssertEqual(saved, interrupted.gradScaler)
        XCTAssertEqual(saved.scale, 2048, "4 clean steps with interval 3: one growth")
        XCTAssertEqual(saved.growthTracker, 1)
        XCTAssertEqual(saved.growthInterval, 3)

        let resumed = try Trainer(options: optionsB, train: train, test: test)
        var lines: [String] = []
        resumed.report = { lines.append($0) }
        XCTAssertEqual(resumed.gradScaler, GradScaler(), "a fresh trainer starts at the defaults")
        try resumed.resume(from: resumed.lastCheckpoint)
        XCTAssertEqual(resumed.gradScaler, saved)
        XCTAssertTrue(lines.contains { $0.contains("loss scale 2048 (1 clean steps) restored") }, lines.joined(separator: "\n"))
        let got = try resumed.run()

        XCTAssertEqual(resumed.gradScaler, full.gradScaler)
        XCTAssertEqual(full.gradScaler?.scale, 4096, "8 clean steps with interval 3: two growths")
        XCTAssertEqual(full.gradScaler?.growthTracker, 2)
        XCTAssertEqual(got.map(\.trainLoss), expected.map(\.trainLoss))
        let probe = Array(test.features.prefix(4 * SyntheticCorpus.frames * SyntheticCorpus.bins))
        XCTAssertEqual(try full.model.logits(x: probe, batch: 4), try resumed.model.logits(x: probe, batch: 4))
    }
}
