import Foundation
@testable import Training
import TrainingTestSupport
import XCTest

/// The method registry and the methods beyond the Patch-Mix paper's, end to end on synthetic data.
final class MethodRegistryTests: XCTestCase {
    func testRegistryDrivesNamesCodingAndMessages() throws {
        XCTAssertEqual(TrainingMethod.allCases.map(\.rawValue), ["ce", "patchmix", "patchmix_cl", "sgscl", "dat"])
        XCTAssertNil(TrainingMethod(rawValue: "mixup"))
        for method in TrainingMethod.allCases {
            XCTAssertEqual(method.definition.name, method.rawValue)
            let coded = try JSONEncoder().encode([method])
            XCTAssertEqual(String(decoding: coded, as: UTF8.self), "[\"\(method.rawValue)\"]")
            XCTAssertEqual(try JSONDecoder().decode([TrainingMethod].self, from: coded), [method])
        }
        XCTAssertThrowsError(try JSONDecoder().decode([TrainingMethod].self, from: Data("[\"mixup\"]".utf8)))
        XCTAssertThrowsError(try SweepPlan.parse(methods: "ce,mixup", testFolds: nil, seeds: "1")) {
            XCTAssertTrue("\($0)".contains("(ce, patchmix, patchmix_cl, sgscl, dat)"), "\($0)")
        }
        XCTAssertEqual(try SweepPlan.parse(methods: "sgscl,dat", testFolds: nil, seeds: "1-2").count, 4)
    }

    func testPublishedFiguresBesideRunsConfiguredAsPublished() throws {
        func result(_ method: TrainingMethod, meta: CycleMetadata? = nil) throws -> RunResult {
            var o = TrainingOptions(preset: .astBase, outputDirectory: "")
            o.method = method
            o.initCheckpoint = "audioset_10_10_0.4593.pth"
            o.meta = meta
            // EpochRecord as log.jsonl spells it (its memberwise init is internal).
            let fields: [String: Any] = [
                "epoch": 1, "learningRate": 1e-3, "trainLoss": 1.0, "trainCELoss": 1.0, "trainConLoss": 0.0, "steps": 3,
                "specificity": 70.0, "sensitivity": 40.0, "score": 55.0, "specificity2": 70.0, "sensitivity2": 40.0,
                "score2": 55.0, "best": true, "trainSeconds": 1.0, "evalSeconds": 1.0, "dataWaitFraction": 0.0,
                "confusion": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
            ]
            let record = try JSONDecoder().decode(EpochRecord.self, from: JSONSerialization.data(withJSONObject: fields))
            return RunResult(options: o, history: [record], best: BestEpochTracker(), threads: 1)
        }
        XCTAssertEqual(PaperFigures.matching(try result(.sgscl)), PaperFigures(name: "SG-SCL", specificity: 79.87, sensitivity: 43.55, score: 61.71))
        XCTAssertEqual(PaperFigures.matching(try result(.dat)), PaperFigures(name: "DAT", specificity: 77.11, sensitivity: 42.50, score: 59.81))
        XCTAssertNil(PaperFigures.matching(try result(.sgscl, meta: .age)), "published with the stethoscope as the group")
        XCTAssertEqual(PaperFigures.matching(try result(.patchmix_cl))?.score, 62.37)
        XCTAssertNil(PaperFigures.matching(try result(.patchmix)))
    }

    /// Synthetic cycles with a stethoscope per cycle.
    static func corpus() -> InMemoryCycles {
        let data = SyntheticCorpus.make(count: 40, seed: 7)
        return InMemoryCycles(frames: data.frames, bins: data.bins, labels: data.labels, features: data.features,
                              metadata: [.dev: (0..<data.count).map { ($0 / 3) % 4 }])
    }

    func testSGSCLAndDATTrainAndResume() throws {
        let data = Self.corpus()
        for method in [TrainingMethod.sgscl, .dat] {
            let out = try Paths.temporaryDirectory("method-\(method)")
            defer { try? FileManager.default.removeItem(atPath: out) }
            var options = SyntheticCorpus.options(output: out, epochs: 2, method: method)
            options.maBeta = 0.5
            let full = try Trainer(options: options, train: data, test: data)
            full.report = { _ in }
            let history = try full.run()
            for record in history {
                XCTAssertTrue(record.trainLoss.isFinite && record.trainConLoss > 0, "\(method): \(record.trainLoss) \(record.trainConLoss)")
            }
            // Interrupted after epoch 1 and resumed: the same second epoch (the domain head included).
            let out2 = try Paths.temporaryDirectory("method-\(method)-resumed")
            defer { try? FileManager.default.removeItem(atPath: out2) }
            options.outputDirectory = out2
            let first = try Trainer(options: options, train: data, test: data)
            first.report = { _ in }
            try first.run(stopAfterEpoch: 1)
            let resumed = try Trainer(options: options, train: data, test: data)
            resumed.report = { _ in }
            try resumed.resume(from: resumed.lastCheckpoint)
            let rest = try resumed.run()
            XCTAssertEqual(rest.last?.trainLoss, history.last?.trainLoss, "\(method)")
            XCTAssertEqual(rest.last?.confusion, history.last?.confusion, "\(method)")
        }
    }

    func testMethodOptionsAreValidated() throws {
        var options = SyntheticCorpus.options(output: "/tmp/unused", epochs: 1, method: .sgscl)
        options.model.projDim = 16
        XCTAssertNoThrow(try options.validate(), "projections of any width compare with each other")
        options.targetType = .z1_project2
        XCTAssertThrowsError(try options.validate()) { XCTAssertTrue("\($0)".contains("--proj-dim 16 must equal the model width 32"), "\($0)") }
        options.method = .patchmix_cl
        options.targetType = nil
        XCTAssertThrowsError(try options.validate())
        // Cycles without a stethoscope: --meta dev is refused naming it.
        let plain = SyntheticCorpus.make(count: 20, seed: 1)
        var dat = SyntheticCorpus.options(output: try Paths.temporaryDirectory("dat-nodev"), epochs: 1, method: .dat)
        defer { try? FileManager.default.removeItem(atPath: dat.outputDirectory) }
        dat.batchSize = 4
        let trainer = try Trainer(options: dat, train: plain, test: plain)
        trainer.report = { _ in }
        XCTAssertThrowsError(try trainer.run()) { XCTAssertTrue("\($0)".contains("--meta dev: these cycles carry no dev"), "\($0)") }
    }

    /// --meta age|sex|loc read the per-patient metadata.txt as the SG-SCL repository's dataset does.
    func testPatientMetadataCodesFollowTheRepository() throws {
        let file = Paths.repositoryRoot.appendingPathComponent("manifests/icbhi/metadata.txt").path
        let age = try CycleMetadata.patientCodes(.age, metaFile: file)
        let sex = try CycleMetadata.patientCodes(.sex, metaFile: file)
        let loc = try CycleMetadata.patientCodes(.loc, metaFile: file)
        XCTAssertEqual(age.count, 126)
        // 101: 3.0 F Pr; 103: 70.0 F Ar; 108: 3.0 M Al; 110: 75.0 M Pr.
        XCTAssertEqual([101, 103, 108, 110].map { age[$0] }, [1, 0, 1, 0])
        XCTAssertEqual([101, 103, 108, 110].map { sex[$0] }, [1, 1, 0, 0])
        XCTAssertEqual([101, 103, 108, 110].map { loc[$0] }, [4, 2, 1, 4])
        XCTAssertEqual(Set(loc.values).subtracting(0...6), [])
        XCTAssertThrowsError(try CycleMetadata.patientCodes(.age, metaFile: "/nonexistent/metadata.txt")) {
            XCTAssertTrue("\($0)".contains("--meta age needs the per-patient metadata: cannot read /nonexistent/metadata.txt"), "\($0)")
        }
    }

    /// The whole-batch SpecAugment: one mask draw for every cycle, the second view on top of the first.
    func testBatchSpecAugmentMasksEveryCycleAlike() {
        var options = SyntheticCorpus.options(output: "", epochs: 1, method: .sgscl)
        options.seed = 3
        let frames = 40, bins = 20, batch = 3
        let x = (0..<(batch * frames * bins)).map { Float($0 % 97) }
        var views: [[Float]] = []
        for step in 0..<20 where views.isEmpty || views[0] == x {
            views = BatchSpecAugment.views(of: x, batch: batch, count: 2, options: options,
                                           at: StepPosition(epoch: 1, step: step, stepsPerEpoch: 20, epochs: 1), frames: frames, bins: bins)
        }
        XCTAssertNotEqual(views[0], x)
        for view in views {
            let changed = (0..<(batch * frames * bins)).map { view[$0] != x[$0] }
            let size = frames * bins
            XCTAssertEqual(Array(changed[0..<size]), Array(changed[size..<(2 * size)]))
        }
        // Every cell masked in the first view stays masked in the second.
        for i in x.indices where views[0][i] != x[i] { XCTAssertNotEqual(views[1][i], x[i]) }
    }
}
