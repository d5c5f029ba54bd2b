import Foundation
import HDF5
import TorchCheckpoint
@testable import Training
import TestSupport
import TrainingTestSupport
import XCTest

/// Our checkpoints in the paper code's loading path (Python torch), checkpoints of the older
/// layout, and the paper loader's drop_last. The `train` binary with real-world checkpoints
/// (--init, --eval, corrupt files) is EndToEndTests.CheckpointCommandTests.
final class CheckpointInterchangeTests: XCTestCase {
    override func setUp() { Torch.threads = 1 }

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
