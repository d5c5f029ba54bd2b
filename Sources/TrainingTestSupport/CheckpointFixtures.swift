import TestSupport

/// The shared checkpoint goldens (`../shared/golden`, located by TestSupport) and the large
/// checkpoint the tests generate rather than commit.
public enum CheckpointFixtures {
    public static var directory: String { Fixtures.shared("golden/checkpoints") }
    /// The AudioSet AST key layout as a DataParallel OrderedDict, zip and legacy formats.
    public static var audioSetZip: String { directory + "/audioset_dataparallel_zip.pth" }
    public static var audioSetLegacy: String { directory + "/audioset_dataparallel_legacy.pth" }
    /// The paper code's save_model() checkpoint (epoch 37, patchmix_cl).
    public static var officialCheckpoint: String { directory + "/official_patchmix_cl_best.pth" }
    /// The AudioSet layout at ast-tiny size, a plain dict.
    public static var astTinyCheckpoint: String { Fixtures.shared("golden/ast_tiny_audioset_layout.pth") }
    /// The three AudioSet-layout files: DataParallel OrderedDict (zip, legacy) and a plain dict.
    public static var audioSetLayouts: [String] { [audioSetZip, audioSetLegacy, astTinyCheckpoint] }

    /// Writes the real AudioSet AST key layout and shapes (ast-base, 12 x 101 grid, 527-class
    /// head) the way the real file was (DataParallel state dict: an OrderedDict with _metadata,
    /// zip format; about 350 MB, so generated into a scratch directory, never committed).
    /// `pos_embed` row r holds r, every other value 0.01. Needs Debian's python3-torch (skips
    /// the test visibly without it).
    public static func writeFullSizeAudioSetLayout(to path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try Fixtures.python("""
            import sys, collections, torch, torch.nn as nn
            D, depth = 768, 12
            sd = {}
            def p(k, *shape): sd[k] = torch.full(shape, 0.01)
            p('v.cls_token', 1, 1, D); p('v.dist_token', 1, 1, D)
            sd['v.pos_embed'] = torch.arange(1214, dtype=torch.float32).view(1, 1214, 1).expand(1, 1214, D).clone()
            p('v.patch_embed.proj.weight', D, 1, 16, 16); p('v.patch_embed.proj.bias', D)
            for i in range(depth):
                b = f'v.blocks.{i}.'
                for n in ['norm1', 'norm2']: p(b + n + '.weight', D); p(b + n + '.bias', D)
                p(b + 'attn.qkv.weight', 3 * D, D); p(b + 'attn.qkv.bias', 3 * D)
                p(b + 'attn.proj.weight', D, D); p(b + 'attn.proj.bias', D)
                p(b + 'mlp.fc1.weight', 4 * D, D); p(b + 'mlp.fc1.bias', 4 * D)
                p(b + 'mlp.fc2.weight', D, 4 * D); p(b + 'mlp.fc2.bias', D)
            p('v.norm.weight', D); p('v.norm.bias', D)
            p('v.head.weight', 1000, D); p('v.head.bias', 1000); p('v.head_dist.weight', 1000, D); p('v.head_dist.bias', 1000)
            p('mlp_head.0.weight', D); p('mlp_head.0.bias', D); p('mlp_head.1.weight', 527, D); p('mlp_head.1.bias', 527)
            root = nn.Module()
            for key, value in sd.items():
                *names, leaf = key.split('.')
                m = root
                for name in names:
                    if not hasattr(m, name): m.add_module(name, nn.Module())
                    m = getattr(m, name)
                m.register_parameter(leaf, nn.Parameter(value))
            state = nn.DataParallel(root).state_dict()   # keys module.*, OrderedDict with _metadata
            assert isinstance(state, collections.OrderedDict) and hasattr(state, '_metadata')
            torch.save(state, sys.argv[1])
            """, [path], file: file, line: line)
    }
}
