import Foundation
import Training
import TestSupport
import TrainingTestSupport
import XCTest

final class TrainingRunTests: XCTestCase {
    override func setUp() { Torch.threads = 1 }

    func testSmallPresetLearnsClassStructure() throws {
        let out = try Paths.temporaryDirectory("learn")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let train = SyntheticCorpus.make(count: 200, seed: 1), test = SyntheticCorpus.make(count: 100, seed: 2)
        // 8 epochs, not 6: after 6 the score depends on the CPU's kernels (75.8 with ATen's default
        // kernels and OpenBLAS SkylakeX or Cooperlake, 80.8 elsewhere: make check-hosts); after 8
        // it is 81.7-83.3 on all 18 kernel sets of this CPU, and at least 80.4 from epoch 5 on.
        let epochs = 8
        var options = SyntheticCorpus.options(output: out, epochs: epochs)
        options.specAugment = false
        let trainer = try Trainer(options: options, train: train, test: test)
        trainer.report = { _ in }
        let before = try evaluate(model: trainer.model, source: test, classes: 4)
        let history = try trainer.run()
        let after = try XCTUnwrap(history.last)
        XCTAssertLessThan(before.score.score, 70, "an untrained model should not score well")
        XCTAssertGreaterThanOrEqual(after.score, 80, "history: \(history.map(\.score))")
        print("small preset: score before \(before.score.score), per epoch \(history.map(\.score))")
        XCTAssertTrue(FileManager.default.fileExists(atPath: trainer.lastCheckpoint))
        XCTAssertTrue(FileManager.default.fileExists(atPath: trainer.bestCheckpoint))
        // JSON Lines log: one object per epoch.
        let log = try String(contentsOfFile: trainer.logPath, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, epochs)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(log[0].utf8)) as? [String: Any])
        // The plot of loss and score per epoch sits next to the log.
        let curves = try String(contentsOfFile: options.outputDirectory + "/" + TrainingCurves.fileName, encoding: .utf8)
        XCTAssertEqual(curves.components(separatedBy: "<polyline").count - 1, 4)

        // --eval --checkpoint: the best checkpoint re-evaluates to its recorded numbers.
        let meta = try CheckpointMeta.read(path: trainer.bestCheckpoint)
        let model = try ASTModel(config: meta.options.model)
        try LoadedCheckpoint(path: trainer.bestCheckpoint).load(into: model, policy: .evaluate)
        let again = try evaluate(model: model, source: test, classes: 4)
        let recorded = try XCTUnwrap(meta.history.last)
        XCTAssertEqual(again.score.score, recorded.score)
        XCTAssertEqual(again.confusion.matrix, recorded.confusion)
    }

    func testResumeFromMidRunCheckpointEqualsUninterruptedRun() throws {
        let train = SyntheticCorpus.make(count: 64, seed: 3), test = SyntheticCorpus.make(count: 30, seed: 4)
        let a = try Paths.temporaryDirectory("full"), b = try Paths.temporaryDirectory("resumed")
        defer {
            try? FileManager.default.removeItem(atPath: a)
            try? FileManager.default.removeItem(atPath: b)
        }
        var optionsA = SyntheticCorpus.options(output: a, epochs: 3)
        optionsA.maBeta = 0.5
        var optionsB = optionsA
        optionsB.outputDirectory = b

        let full = try Trainer(options: optionsA, train: train, test: test)
        full.report = { _ in }
        let expected = try full.run()

        let interrupted = try Trainer(options: optionsB, train: train, test: test)
        interrupted.report = { _ in }
        try interrupted.run(stopAfterEpoch: 2)
        let resumed = try Trainer(options: optionsB, train: train, test: test)
        resumed.report = { _ in }
        try resumed.resume(from: resumed.lastCheckpoint)
        let got = try resumed.run()

        XCTAssertEqual(got.count, 3)
        XCTAssertEqual(expected.count, got.count, "epochs")
        for (x, y) in zip(expected, got) {
            XCTAssertEqual(x.trainLoss, y.trainLoss, "epoch \(x.epoch)")
            XCTAssertEqual(x.score, y.score, "epoch \(x.epoch)")
            XCTAssertEqual(x.confusion, y.confusion, "epoch \(x.epoch)")
        }
        let probe = Array(test.features.prefix(4 * SyntheticCorpus.frames * SyntheticCorpus.bins))
        XCTAssertEqual(try full.model.logits(x: probe, batch: 4), try resumed.model.logits(x: probe, batch: 4))
    }

    /// Every method, negatives mode and the class-balancing options run and give finite losses.
    func testMethodsAndClassBalancingOptionsRun() throws {
        let data = SyntheticCorpus.make(count: 40, seed: 7)
        for (method, negatives, balanced) in [(TrainingMethod.ce, NegativePair.all, false), (.patchmix, .all, true),
                                              (.patchmix_cl, .diff_label, true)] {
            let out = try Paths.temporaryDirectory("methods")
            defer { try? FileManager.default.removeItem(atPath: out) }
            var options = SyntheticCorpus.options(output: out, epochs: 1, method: method)
            options.negativePair = negatives
            options.classWeightedLoss = balanced
            options.weightedSampler = balanced
            options.model.numClasses = balanced ? 4 : 2
            let trainer = try Trainer(options: options, train: data, test: data)
            trainer.report = { _ in }
            let record = try XCTUnwrap(try trainer.run().first)
            XCTAssertTrue(record.trainLoss.isFinite, "\(method)")
            XCTAssertEqual(record.trainConLoss == 0, method != .patchmix_cl, "\(method)")
            XCTAssertEqual(record.confusion.count, options.model.numClasses)
        }
    }

    func testNonFiniteLossStopsNamingTheStep() throws {
        let out = try Paths.temporaryDirectory("nan")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let data = SyntheticCorpus.make(count: 32, seed: 5)
        let trainer = try Trainer(options: SyntheticCorpus.options(output: out, epochs: 1), train: data, test: data)
        trainer.report = { _ in }
        try trainer.model.debugAddToParameters(.nan)
        XCTAssertThrowsError(try trainer.run()) { error in
            XCTAssertTrue("\(error)".contains("epoch 1, step 1"), "\(error)")
        }
    }

    func testInputShapeAndEmptySplitErrors() throws {
        let data = SyntheticCorpus.make(count: 10, seed: 6)
        var options = SyntheticCorpus.options(output: "/tmp/unused", epochs: 1)
        options.model.inputFrames = 798
        XCTAssertThrowsError(try Trainer(options: options, train: data, test: data)) { error in
            XCTAssertTrue("\(error)".contains("wrong input shape"), "\(error)")
        }
        let empty = InMemoryCycles(frames: SyntheticCorpus.frames, bins: SyntheticCorpus.bins, labels: [], features: [])
        XCTAssertThrowsError(try Trainer(options: SyntheticCorpus.options(output: "/tmp/unused", epochs: 1), train: empty, test: data)) { error in
            XCTAssertTrue("\(error)".contains("no cycles"), "\(error)")
        }
    }

    /// The library enforces the command line's option rules (EndToEndTests.TrainOptionValidationTests)
    /// on options built in code.
    func testTheTrainerRefusesInvalidOptions() throws {
        let data = SyntheticCorpus.make(count: 10, seed: 6)
        var options = SyntheticCorpus.options(output: "/tmp/unused", epochs: 1)
        XCTAssertNoThrow(try options.validate())
        options.maBeta = 1.5
        XCTAssertThrowsError(try Trainer(options: options, train: data, test: data)) { error in
            XCTAssertTrue("\(error)".contains("--ma-beta"), "\(error)")
        }
    }
}

final class CheckpointInitTests: XCTestCase {
    /// `--init` with one of this trainer's checkpoints copies weights, head and projector.
    func testInitFromProjectCheckpoint() throws {
        let out = try Paths.temporaryDirectory("init")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let config = SyntheticCorpus.options(output: out, epochs: 1).model
        Torch.manualSeed(1)
        let a = try ASTModel(config: config)
        try a.saveCheckpoint(path: out + "/a.pth", meta: "{}")
        Torch.manualSeed(2)
        let b = try ASTModel(config: config)
        let probe = Array(SyntheticCorpus.make(count: 2, seed: 9).features)
        XCTAssertNotEqual(try a.logits(x: probe, batch: 2), try b.logits(x: probe, batch: 2))
        let report = try LoadedCheckpoint(path: out + "/a.pth").load(into: b, policy: .initialise(posEmbed: .paper)).description
        XCTAssertTrue(report.contains("project") && report.contains("head loaded") && report.contains("projector loaded"), report)
        XCTAssertEqual(try a.logits(x: probe, batch: 2), try b.logits(x: probe, batch: 2))
    }

    /// `--init` takes the AST's shape from the file, but `--proj-dim` still sets the projector's
    /// width (the file's projector, of another width, is then left out); without it the
    /// projector is as wide as the file's.
    func testProjDimAppliesWithInit() throws {
        let dir = try Paths.temporaryDirectory("initproj")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 40, seed: 1),
                                  test: SyntheticCorpus.make(count: 16, seed: 2))
        var first = SyntheticCorpus.options(output: dir + "/first", epochs: 1, method: .ce)
        XCTAssertEqual(first.model.projDim, 32, "the fixture's projector is D wide")
        try TrainingSession.train(shards: dir + "/shards", options: first, resume: false, presetGiven: false, report: { _ in })
        first.initCheckpoint = dir + "/first/last.pth"
        for (name, projDim) in [("narrow", 8 as Int?), ("asFile", nil)] {
            var options = first
            options.outputDirectory = dir + "/" + name
            if let projDim { options.model.projDim = projDim }   // what Train.swift does with --proj-dim
            var lines: [String] = []
            try TrainingSession.train(shards: dir + "/shards", options: options, resume: false, presetGiven: false,
                                      projDim: projDim, report: { lines.append($0) })
            let meta = try CheckpointMeta.read(path: options.outputDirectory + "/last.pth")
            XCTAssertEqual(meta.options.model.projDim, projDim ?? 32, name)
            XCTAssertEqual(meta.options.model.embedDim, 32, name)
            let initLine = try XCTUnwrap(lines.first { $0.hasPrefix("init: ") }, "\(lines)")
            XCTAssertTrue(initLine.contains(projDim == nil ? "projector loaded" : "projector new"), initLine)
        }
    }

    /// A checkpoint opens with Python's torch.load, loads into a plain PyTorch model with the
    /// same parameter names (scripts/bench_train.py's Net) and gives the same logits.
    func testCheckpointLoadsInPyTorch() throws {
        let out = try Paths.temporaryDirectory("pytorch")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let config = SyntheticCorpus.options(output: out, epochs: 1).model
        let model = try ASTModel(config: config)
        try model.saveCheckpoint(path: out + "/m.pth", meta: #"{"note": "test"}"#)
        let probe = Array(SyntheticCorpus.make(count: 2, seed: 9).features)
        try probe.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: out + "/probe.f32")) }
        let expected = try model.logits(x: probe, batch: 2)
        try ReferencePython.run("""
            import json, sys, numpy as np, torch
            sys.path.insert(0, sys.argv[2])
            from bench_train import Net
            ck = torch.load(sys.argv[1] + '/m.pth')
            assert json.loads(ck['meta']) == {'note': 'test'}
            assert all(k.startswith('v.') for k in ck['model']) and set(ck['classifier']) == {'0.weight', '0.bias', '1.weight', '1.bias'}
            state = dict(ck['model'])
            state.update({'mlp_head.' + k: v for k, v in ck['classifier'].items()})
            state.update({'projector.' + k: v for k, v in ck['projector'].items()})
            net = Net(\(config.embedDim), \(config.depth), \(config.heads), \(config.fstride), \(config.tstride),
                      \(config.inputFrames), \(config.inputBins), \(config.numClasses))
            net.load_state_dict(state)
            net.eval()
            x = torch.from_numpy(np.fromfile(sys.argv[1] + '/probe.f32', dtype=np.float32).reshape(2, \(config.inputFrames), \(config.inputBins)))
            with torch.no_grad():
                np.asarray(net.mlp_head(net.v(x)), dtype=np.float32).tofile(sys.argv[1] + '/logits.f32')
            """, [out, Paths.repositoryRoot.appendingPathComponent("scripts").path])
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/logits.f32"))
        let logits = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(logits.count, expected.count)
        // Same libtorch, same ops: equal to float rounding.
        XCTAssertLessThanOrEqual(maxAbsDifference(logits, expected, "logits"), 1e-5)
    }
}
