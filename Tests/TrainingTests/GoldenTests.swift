import Foundation
import HDF5
import Training
import TestSupport
import TrainingTestSupport
import XCTest

/// The libtorch bridge against the reference goldens (REFERENCE.md; golden.h5 made by
/// ../shared/tools/make_goldens.py with PyTorch 1.13).
final class GoldenTests: XCTestCase {
    func testPatchMixContrastiveLossMatchesGolden() throws {
        let file = try HDF5File(path: Paths.golden, mode: .readOnly)
        let (clean, shape) = try file.read("/patchmix_loss/proj_clean", as: Float.self)
        let (mixed, _) = try file.read("/patchmix_loss/proj_mixed", as: Float.self)
        let (labels, _) = try file.read("/patchmix_loss/labels", as: Int64.self)
        let (index, _) = try file.read("/patchmix_loss/index", as: Int64.self)
        let lam = try XCTUnwrap(try file.attribute("lam", on: "/patchmix_loss")?.doubleValue)
        let temperature = try XCTUnwrap(try file.attribute("temperature", on: "/patchmix_loss")?.doubleValue)
        for (mode, key) in [(NegativePair.all, "loss_all"), (.diff_label, "loss_diff_label")] {
            let expected = try XCTUnwrap(try file.attribute(key, on: "/patchmix_loss")?.doubleValue)
            let loss = try patchMixContrastiveLoss(
                projClean: clean, projMixed: mixed, batch: shape[0], dim: shape[1], labels: labels, index: index,
                lam: Float(lam), temperature: Float(temperature), negativePair: mode)
            // Tolerance: 1e-5 relative (the acceptance).
            XCTAssertEqual(loss, expected, accuracy: abs(expected) * 1e-5, "\(mode)")
        }
    }

    static let astTiny = ModelConfig(embedDim: 64, depth: 2, heads: 4, mlpHidden: 256, fstride: 10, tstride: 10,
                                     numClasses: 527)

    func testAudioSetLayoutInitReproducesGoldenFeatures() throws {
        let file = try HDF5File(path: Paths.golden, mode: .readOnly)
        let (input, inputShape) = try file.read("/ast_tiny/input_fbank", as: Float.self)
        let (expected, _) = try file.read("/ast_tiny/features", as: Float.self)
        let (expectedLogits, _) = try file.read("/ast_tiny/audioset_head_logits", as: Float.self)
        XCTAssertEqual(inputShape, [2, 798, 128])
        Torch.manualSeed(7)
        let model = try ASTModel(config: Self.astTiny)
        XCTAssertEqual(model.fDim, 12)
        XCTAssertEqual(model.tDim, 79)
        let report = try LoadedCheckpoint(path: Paths.astTinyCheckpoint)
            .load(into: model, policy: .initialise(posEmbed: .aligned, loadHead: true)).description
        XCTAssertTrue(report.contains("12x101 -> 12x79 (aligned)"), report)
        let features = try model.features(x: input, batch: 2)
        // Tolerance: 1e-4 absolute (the acceptance).
        let worst = maxAbsDifference(features, expected, "features")
        XCTAssertLessThanOrEqual(worst, 1e-4)
        let logits = try model.logits(x: input, batch: 2)
        let worstLogit = maxAbsDifference(logits, expectedLogits, "logits")
        XCTAssertLessThanOrEqual(worstLogit, 1e-4)
    }

    func testInitWithoutHeadKeepsANewHeadOfAnotherSize() throws {
        var config = Self.astTiny
        config.numClasses = 4
        let model = try ASTModel(config: config)
        let report = try LoadedCheckpoint(path: Paths.astTinyCheckpoint)
            .load(into: model, policy: .initialise(posEmbed: .aligned)).description
        XCTAssertTrue(report.contains("head new"), report)
        let file = try HDF5File(path: Paths.golden, mode: .readOnly)
        let (input, _) = try file.read("/ast_tiny/input_fbank", as: Float.self)
        let (expected, _) = try file.read("/ast_tiny/features", as: Float.self)
        let features = try model.features(x: input, batch: 2)
        XCTAssertLessThanOrEqual(maxAbsDifference(features, expected, "features"), 1e-4)
    }

    func testLoaderNamesMissingKeysAndShapeMismatches() throws {
        let dir = try Paths.temporaryDirectory("broken-init")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ReferencePython.run("""
            import sys, torch
            sd = torch.load(sys.argv[1])
            a = dict(sd); del a['module.v.blocks.1.mlp.fc2.bias']; torch.save(a, sys.argv[2] + '/missing.pth')
            b = dict(sd); b['module.v.norm.weight'] = torch.ones(65); torch.save(b, sys.argv[2] + '/shape.pth')
            """, [Paths.astTinyCheckpoint, dir])
        let model = try ASTModel(config: Self.astTiny)
        func load(_ name: String) throws {
            try LoadedCheckpoint(path: dir + "/" + name).load(into: model, policy: .initialise(posEmbed: .paper))
        }
        XCTAssertThrowsError(try load("missing.pth")) { error in
            XCTAssertTrue("\(error)".contains("missing.pth: cannot load into the model (state dict): missing keys: v.blocks.1.mlp.fc2.bias"), "\(error)")
        }
        XCTAssertThrowsError(try load("shape.pth")) { error in
            XCTAssertTrue("\(error)".contains("shape.pth: cannot load into the model (state dict): shape mismatches: v.norm.weight (file module.v.norm.weight [65], model [64])"), "\(error)")
        }
        XCTAssertThrowsError(try load("nonexistent.pth")) { error in
            XCTAssertTrue("\(error)".contains("nonexistent.pth: cannot open"), "\(error)")
        }
    }

    /// The loader accepts the real AudioSet AST key layout and shapes (ast-base, 12 x 101 grid),
    /// written the way the real file was (CheckpointFixtures.writeFullSizeAudioSetLayout: about
    /// 350 MB in a temporary directory, not committed). The memory the load takes is measured by
    /// `train --inspect-checkpoint` on the same file (EndToEndTests.TrainCommandTests).
    func testLoaderAcceptsFullSizeAudioSetLayout() throws {
        let dir = try Paths.temporaryDirectory("ast-base-layout")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audioset_layout.pth"
        try CheckpointFixtures.writeFullSizeAudioSetLayout(to: path)
        let model = try ASTModel(config: ModelPreset.astBase.model)
        XCTAssertEqual(model.numPatches, 948)
        let report = try LoadedCheckpoint(path: path).load(into: model, policy: .initialise(posEmbed: .paper)).description
        XCTAssertTrue(report.contains("pos_embed grid 12x101 -> 12x79 (paper: 79x12 in patch order)"), report)
        XCTAssertTrue(report.contains("head new"), report)
        // ast-base with strides 16: the grid is cut from the middle on both axes.
        var strided = ModelPreset.astBase.model
        strided.fstride = 16
        strided.tstride = 16
        let small = try ASTModel(config: strided)
        let smallReport = try LoadedCheckpoint(path: path).load(into: small, policy: .initialise(posEmbed: .aligned)).description
        XCTAssertTrue(smallReport.contains("12x101 -> 8x49 (aligned)"), smallReport)
    }
}
