import Foundation
import HDF5
import TorchCheckpoint
@testable import Training
import XCTest

/// The `train` binary with real-world checkpoints: --init from each AudioSet format, --eval of
/// the paper code's checkpoint, preset disagreements, corrupted files; and our checkpoints in
/// the paper code's loading path (Python torch).
final class CheckpointInterchangeTests: XCTestCase {
    override func setUp() { Torch.threads = 1 }

    /// log.jsonl with its timing fields zeroed.
    func logWithoutTimings(_ directory: String) throws -> [EpochRecord] {
        let text = try String(contentsOfFile: directory + "/log.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            var record = try JSONDecoder().decode(EpochRecord.self, from: Data(line.utf8))
            record.trainSeconds = 0
            record.evalSeconds = 0
            record.dataWaitFraction = 0
            return record
        }
    }

    func testOneEpochFromEachAudioSetFormatGivesTheSameLog() throws {
        let root = try Paths.temporaryDirectory("init-formats")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let shards = root + "/shards"
        try SyntheticShards.write(to: shards, train: SyntheticCorpus.make(count: 24, seed: 1), test: SyntheticCorpus.make(count: 10, seed: 2))
        func run(_ checkpoint: String, _ name: String, _ extra: [String] = []) throws -> String {
            let out = root + "/" + name
            let result = try Products.run("train", ["--shards", shards, "--init", checkpoint, "--epochs", "1", "--batch-size", "4",
                                                    "--heads", "4", "--threads", "1", "--seed", "3", "--device", "cpu", "--output", out] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("model from \(checkpoint): D 64, 2 blocks, 4 heads, strides 10/10"), result.stdout)
            return out
        }
        let runs = try zip(Paths.audioSetLayouts, ["zip", "legacy", "plain"]).map { try run($0, $1) }
        let logs = try runs.map(logWithoutTimings)
        XCTAssertEqual(logs[0].count, 1)
        XCTAssertEqual(logs[0][0].posEmbed, .paper)
        XCTAssertEqual(logs[0][0].steps, 6)
        XCTAssertTrue(try String(contentsOfFile: runs[0] + "/log.jsonl", encoding: .utf8).contains(#""posEmbed":"paper""#))
        XCTAssertEqual(logs[0], logs[1])
        XCTAssertEqual(logs[0], logs[2])
        let meta = try CheckpointMeta.read(path: runs[0] + "/last.pth")
        XCTAssertEqual(meta.options.posEmbed, .paper)
        XCTAssertEqual(meta.options.model.heads, 4)
        XCTAssertTrue(meta.initialization?.contains("pos_embed grid 12x101 -> 4x9 (paper: 9x4 in patch order)") == true, meta.initialization ?? "nil")
        // The other init is recorded as such and is a different starting point.
        let aligned = try logWithoutTimings(try run(Paths.audioSetZip, "aligned", ["--pos-embed", "aligned"]))
        XCTAssertEqual(aligned[0].posEmbed, .aligned)
        XCTAssertNotEqual(aligned[0].trainLoss, logs[0][0].trainLoss)
    }

    /// --init from one of our own checkpoints takes its stated shape (strides 16, 4 heads), head and projector.
    func testInitFromOurCheckpointKeepsItsShape() throws {
        let root = try Paths.temporaryDirectory("init-ours")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let shards = root + "/shards"
        try SyntheticShards.write(to: shards, train: SyntheticCorpus.make(count: 16, seed: 1), test: SyntheticCorpus.make(count: 6, seed: 2))
        let common = ["--shards", shards, "--epochs", "1", "--batch-size", "4", "--threads", "1", "--device", "cpu"]
        let first = try Products.run("train", common + ["--model", "ast-tiny", "--output", root + "/a"])
        XCTAssertEqual(first.status, 0, first.stderr)
        for extra in [[], ["--model", "ast-tiny"]] {
            let second = try Products.run("train", common + ["--init", root + "/a/last.pth", "--output", root + "/b"] + extra)
            XCTAssertEqual(second.status, 0, second.stderr)
            XCTAssertTrue(second.stdout.contains("D 64, 2 blocks, 4 heads, strides 16/16"), second.stdout)
            XCTAssertTrue(second.stdout.contains("head loaded, projector loaded"), second.stdout)
            try? FileManager.default.removeItem(atPath: root + "/b")
        }
    }

    func testPresetThatDisagreesWithTheCheckpointIsAnError() throws {
        let root = try Paths.temporaryDirectory("preset-mismatch")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try SyntheticShards.write(to: root + "/shards", train: SyntheticCorpus.make(count: 8, seed: 1), test: SyntheticCorpus.make(count: 4, seed: 2))
        let result = try Products.run("train", ["--shards", root + "/shards", "--model", "ast-tiny", "--init", Paths.audioSetZip,
                                                "--epochs", "1", "--output", root + "/out", "--device", "cpu"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("--model ast-tiny (D 64, 2 blocks, MLP 256, strides 16/16) disagrees with \(Paths.audioSetZip) (D 64, 2 blocks, MLP 256, strides 10/10)"), result.stderr)
    }

    /// `train --eval` of the paper code's save_model() checkpoint on real ICBHI features (the
    /// golden cycles' fbanks): shape from the tensors, the same numbers as the library path.
    func testEvalOfThePaperCodeCheckpointOnRealFeatures() throws {
        let root = try Paths.temporaryDirectory("eval-official")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let golden = try HDF5File(path: Paths.golden, mode: .readOnly)
        // The first 12 golden cycles (four real recordings) keep the test fast.
        let (fbank, shape) = try golden.read("/cycles/fbank", as: Float.self)
        let (labels, _) = try golden.read("/cycles/label", as: Int8.self)
        let n = 12
        let cycles = InMemoryCycles(frames: shape[1], bins: shape[2], labels: labels.prefix(n).map(Int.init),
                                    features: Array(fbank.prefix(n * shape[1] * shape[2])))
        try SyntheticShards.write(to: root + "/shards", train: cycles, test: cycles, featureSet: "golden-cycles")
        let result = try Products.run("train", ["--eval", "--checkpoint", Paths.officialCheckpoint, "--heads", "4",
                                                "--shards", root + "/shards", "--threads", "1", "--device", "cpu"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("paper: D 64, 2 blocks, 4 heads, strides 10/10, 4 classes"), result.stdout)
        XCTAssertTrue(result.stdout.contains("(epoch 37) on 12 test cycles of golden-cycles"), result.stdout)
        let file = try LoadedCheckpoint(path: Paths.officialCheckpoint)
        let model = try ASTModel(config: try file.architecture().modelConfig(frames: 798, bins: 128, heads: 4, numClasses: 4))
        try file.load(into: model, policy: .evaluate)
        let s = try evaluate(model: model, source: cycles, classes: 4).score
        XCTAssertTrue(result.stdout.contains(String(format: "Sp %.2f  Se %.2f  Score %.2f", s.specificity, s.sensitivity, s.score)), result.stdout)
    }

    /// Truncated, empty, foreign and wrong-content files: one clear line naming the file, exit 1.
    func testCorruptCheckpointsFailCleanly() throws {
        let root = try Paths.temporaryDirectory("corrupt")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try SyntheticShards.write(to: root + "/shards", train: SyntheticCorpus.make(count: 8, seed: 1), test: SyntheticCorpus.make(count: 4, seed: 2))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Paths.audioSetZip))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: root + "/truncated.pth"))
        try Data().write(to: URL(fileURLWithPath: root + "/empty.pth"))
        try ReferencePython.run("""
            import sys, torch, zipfile
            d = sys.argv[1]
            torch.save([1, 2, 3], d + '/list.pth')
            torch.save({'weights': torch.ones(3)}, d + '/other.pth')
            with zipfile.ZipFile(d + '/random.pth', 'w') as z: z.writestr('a/b.txt', 'x')
            """, [root])
        let cases = [("truncated.pth", "no end-of-central-directory record"), ("empty.pth", "empty file"),
                     ("list.pth", "holds a list, not a state dict"), ("other.pth", "holds no AST weights"),
                     ("random.pth", "without <name>/data.pkl")]
        for (name, message) in cases {
            let path = root + "/" + name
            var runs = [["--eval", "--checkpoint", path]]
            if name == "truncated.pth" || name == "list.pth" { runs.append(["--init", path, "--epochs", "1", "--output", root + "/out"]) }
            for arguments in runs {
                let result = try Products.run("train", ["--shards", root + "/shards", "--device", "cpu"] + arguments)
                XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
                let lines = result.stderr.split(separator: "\n")
                XCTAssertEqual(lines.count, 1, result.stderr)
                XCTAssertTrue(result.stderr.hasPrefix("train: error: \(path): ") && result.stderr.contains(message), result.stderr)
            }
        }
    }

    /// Our checkpoint through the paper code's loading logic (main.py --pretrained_ckpt:
    /// model.load_state_dict(ckpt['model'], strict=False), classifier.load_state_dict(ckpt['classifier'])),
    /// on an AST built like models/ast.py's: every key we write exists there with its shape, only
    /// the paper model's unused heads are missing, and the logits equal ours.
    func testOurCheckpointLoadsInThePaperCode() throws {
        let out = try Paths.temporaryDirectory("paper-load")
        defer { try? FileManager.default.removeItem(atPath: out) }
        Torch.manualSeed(5)
        let model = try ASTModel(config: CheckpointGoldenTests.tiny)
        try LoadedCheckpoint(path: Paths.officialCheckpoint).load(into: model, policy: .evaluate)
        try model.configureOptimizer(learningRate: 1e-4, weightDecay: 0)
        try model.saveCheckpoint(path: out + "/ours.pth", meta: "{}")
        let golden = try HDF5File(path: Paths.golden, mode: .readOnly)
        let (input, _) = try golden.read("/ast_tiny/input_fbank", as: Float.self)
        try input.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: out + "/input.f32")) }
        try ReferencePython.run("""
            import sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
            d = sys.argv[1]
            dim, heads, depth, P = 64, 4, 2, 948
            class Block(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.norm1 = nn.LayerNorm(dim, eps=1e-6); self.norm2 = nn.LayerNorm(dim, eps=1e-6)
                    self.attn = nn.Module(); self.attn.qkv = nn.Linear(dim, 3 * dim); self.attn.proj = nn.Linear(dim, dim)
                    self.mlp = nn.Module(); self.mlp.fc1 = nn.Linear(dim, 4 * dim); self.mlp.fc2 = nn.Linear(4 * dim, dim)
                def forward(self, x):
                    B, N, _ = x.shape; hd = dim // heads
                    qkv = self.attn.qkv(self.norm1(x)).reshape(B, N, 3, heads, hd).permute(2, 0, 3, 1, 4)
                    att = ((qkv[0] @ qkv[1].transpose(-2, -1)) * hd ** -0.5).softmax(dim=-1)
                    x = x + self.attn.proj((att @ qkv[2]).transpose(1, 2).reshape(B, N, dim))
                    return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))
            class AST(nn.Module):   # models/ast.py's parameter names and shapes (tiny)
                def __init__(self):
                    super().__init__()
                    self.v = nn.Module()
                    self.v.cls_token = nn.Parameter(torch.zeros(1, 1, dim)); self.v.dist_token = nn.Parameter(torch.zeros(1, 1, dim))
                    self.v.pos_embed = nn.Parameter(torch.zeros(1, 2 + P, dim))
                    self.v.patch_embed = nn.Module(); self.v.patch_embed.proj = nn.Conv2d(1, dim, 16, stride=10)
                    self.v.blocks = nn.ModuleList([Block() for _ in range(depth)])
                    self.v.norm = nn.LayerNorm(dim, eps=1e-6)
                    self.v.head = nn.Linear(dim, 1000); self.v.head_dist = nn.Linear(dim, 1000)
                    self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4))
                def forward(self, x):
                    x = x.unsqueeze(1).transpose(2, 3)
                    B = x.shape[0]
                    x = self.v.patch_embed.proj(x).flatten(2).transpose(1, 2)
                    x = torch.cat((self.v.cls_token.expand(B, -1, -1), self.v.dist_token.expand(B, -1, -1), x), dim=1) + self.v.pos_embed
                    for blk in self.v.blocks: x = blk(x)
                    x = self.v.norm(x)
                    return (x[:, 0] + x[:, 1]) / 2
            ckpt = torch.load(d + '/ours.pth', map_location='cpu')
            model = AST(); classifier = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4))
            # main.py's --pretrained_ckpt path
            state = {k.replace('module.', '').replace('backbone.', ''): v for k, v in ckpt['model'].items()}
            missing, unexpected = model.load_state_dict(state, strict=False)
            assert not unexpected, unexpected
            assert sorted(missing) == sorted(k for k in model.state_dict() if k.startswith(('v.head', 'mlp_head'))), missing
            # strict on the keys both have: the same set, the same shapes
            both = {k: v for k, v in model.state_dict().items() if k in state}
            assert set(both) == set(state)
            model.load_state_dict({**model.state_dict(), **state}, strict=True)
            classifier.load_state_dict(ckpt['classifier'], strict=True)
            model.eval(); classifier.eval()
            x = torch.from_numpy(np.fromfile(d + '/input.f32', dtype=np.float32).reshape(2, 798, 128))
            with torch.no_grad():
                np.asarray(classifier(model(x)), dtype=np.float32).tofile(d + '/logits.f32')
            """, [out])
        let logits = try Data(contentsOf: URL(fileURLWithPath: out + "/logits.f32")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let diff = maxAbsDifference(logits, try model.logits(x: input, batch: 2))
        XCTAssertLessThanOrEqual(diff, 1e-5)
        print("our checkpoint in the paper's loading code: logits max |diff| \(diff)")
    }

    /// Checkpoints of the older layout (format /1: everything under `model`) still resume.
    func testOlderCheckpointLayoutStillLoads() throws {
        let out = try Paths.temporaryDirectory("old-layout")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let data = SyntheticCorpus.make(count: 32, seed: 4)
        var options = SyntheticCorpus.options(output: out, epochs: 1)
        options.maBeta = 0.5
        let trainer = try Trainer(options: options, train: data, test: data)
        trainer.report = { _ in }
        try trainer.run()
        try ReferencePython.run("""
            import json, sys, torch
            ck = torch.load(sys.argv[1] + '/last.pth')
            meta = json.loads(ck['meta']); meta['format'] = 'icbhi-ast-checkpoint/1'
            model = dict(ck['model'])
            model.update({'mlp_head.' + k: v for k, v in ck['classifier'].items()})
            model.update({'projector.' + k: v for k, v in ck['projector'].items()})
            torch.save({'model': model, 'optimizer': ck['optimizer'], 'meta': json.dumps(meta)}, sys.argv[1] + '/old.pth')
            """, [out])
        let old = try LoadedCheckpoint(path: out + "/old.pth")
        XCTAssertEqual(old.layout, .project)
        XCTAssertEqual(try CheckpointMeta.read(old).format, "icbhi-ast-checkpoint/1")
        let model = try ASTModel(config: options.model)
        try model.configureOptimizer(learningRate: 1e-3, weightDecay: 0)
        let report = try old.load(into: model, policy: .restore)
        XCTAssertTrue(report.headLoaded && report.projectorLoaded, "\(report)")
        try old.loadOptimizer(into: model)
        let probe = Array(data.features.prefix(2 * SyntheticCorpus.frames * SyntheticCorpus.bins))
        XCTAssertEqual(try model.logits(x: probe, batch: 2), try trainer.model.logits(x: probe, batch: 2))
        XCTAssertEqual(try model.state("projector.1.running_var"), try trainer.model.state("projector.1.running_var"))
    }

    /// drop_last as the paper's loader by default; --keep-last-batch keeps the incomplete batch.
    func testLastIncompleteBatchIsDroppedUnlessKept() throws {
        let data = SyntheticCorpus.make(count: 40, seed: 7)
        for (drop, steps) in [(true, 2), (false, 3)] {
            let out = try Paths.temporaryDirectory("drop-last")
            defer { try? FileManager.default.removeItem(atPath: out) }
            var options = SyntheticCorpus.options(output: out, epochs: 1)
            options.dropLastBatch = drop
            let trainer = try Trainer(options: options, train: data, test: data)
            trainer.report = { _ in }
            XCTAssertEqual(try trainer.run().first?.steps, steps, "dropLastBatch \(drop): 40 cycles in batches of 16")
        }
    }
}
