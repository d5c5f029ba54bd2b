"""Runs the SG-SCL repository's own training code on CPU (kaen2891/stethoscope-guided_supervised_
contrastive_learning; its checkout's path is the first argument of the scripts that import this).
That repository has no licence: nothing of it is copied here, it is imported from the checkout.

Shims, all outside the repository's code:
- `.cuda()` of tensors and modules returns them unchanged (CPU). torch.cuda.amp's autocast and
  GradScaler disable themselves without CUDA: fp32 steps, the scaler's step is optimizer.step().
- timm.create_model returns a distilled ViT of the requested small size in place of DeiT-base, and
  the backbone's final_feat_dim (hard-coded 768) is set to its width: the same code, a small AST.
- A forward pre-hook hands the AST a copy of its input. The repository's SpecAugment masks the
  batch in place, so its second view is drawn on top of the first; on CUDA the first forward pass
  has already consumed an autocast float16 copy of the first view by then. The copy stands in for
  that cast (on CPU in fp32 autograd would otherwise refuse the in-place change).
- nlpaug (only for raw-audio augmentation, off) is an empty module: its import chain needs a
  downloader package.
Needs timm 0.4.5 and wget beside Debian's python3-torch 1.13, torchvision and torchaudio:
`pip install --no-deps --target .build/sgscl-python timm==0.4.5 wget`, then PYTHONPATH=.build/sgscl-python.
"""
import sys, os, types, random
from functools import partial
import numpy as np, torch, torch.nn as nn

REPO_COMMIT = '66564609595090b61540595d3d27764c00553086'
SIZE = dict(D=64, depth=2, heads=4)   # set by load()


def load(repo, embed_dim, depth, heads):
    """Imports the repository's main (with the shims); returns it."""
    SIZE.update(D=embed_dim, depth=depth, heads=heads)
    torch.Tensor.cuda = lambda self, *a, **k: self
    nn.Module.cuda = lambda self, *a, **k: self
    for name in ('nlpaug', 'nlpaug.augmenter', 'nlpaug.augmenter.audio'):
        sys.modules[name] = types.ModuleType(name)
    sys.modules['nlpaug'].augmenter = sys.modules['nlpaug.augmenter']
    sys.modules['nlpaug.augmenter'].audio = sys.modules['nlpaug.augmenter.audio']
    sys.path.insert(0, repo)
    import timm
    from timm.models.vision_transformer import DistilledVisionTransformer
    assert timm.__version__ == '0.4.5', timm.__version__
    timm.create_model = lambda name, pretrained=False, **k: DistilledVisionTransformer(
        img_size=224, patch_size=16, embed_dim=SIZE['D'], depth=SIZE['depth'], num_heads=SIZE['heads'], mlp_ratio=4,
        qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6))
    import models
    ast = models._backbone_class_map['ast']
    def small_ast(**kw):
        m = ast(**kw)
        m.final_feat_dim = SIZE['D']
        return m
    models._backbone_class_map['ast'] = small_ast
    import main
    return main


def arguments(method, batch, lr, wd, ma_beta, desired_length, save_dir, alpha=1.0, temperature=0.06, proj_dim=None,
              epochs=50, fstride=10):
    """main.parse_args on the flags of scripts/icbhi_sg_scl.sh or icbhi_dat_device.sh, with the given
    sizes (no ImageNet/AudioSet weights: a small AST from scratch)."""
    import main
    sys.argv = ['main.py', '--dataset', 'icbhi', '--seed', '1', '--class_split', 'lungsound', '--n_cls', '4',
                '--epochs', str(epochs), '--batch_size', str(batch), '--optimizer', 'adam', '--learning_rate', str(lr),
                '--weight_decay', str(wd), '--cosine', '--model', 'ast', '--test_fold', 'official',
                '--desired_length', str(desired_length), '--n_mels', '128', '--ma_update', '--ma_beta', str(ma_beta),
                '--method', 'ce', '--meta_mode', 'dev', '--save_dir', save_dir]
    if method == 'sgscl':
        sys.argv += ['--domain_adaptation2', '--alpha', str(alpha), '--proj_dim', str(proj_dim or SIZE['D']),
                     '--temperature', str(temperature), '--target_type', 'project1_project2block']
    else:
        sys.argv += ['--domain_adaptation', '--alpha', str(alpha)]
    args = main.parse_args()
    args.h, args.w = int(desired_length * 100 - 2), 128   # what set_loader sets
    return args


def set_model(args, fstride=10):
    """main.set_model (the AST's strides are models/ast.py's defaults, 10/10, unless fstride is given);
    the input-copying pre-hook installed."""
    import main, models
    if fstride != 10:
        ast = models._backbone_class_map['ast']
        models._backbone_class_map['ast'] = lambda **kw: ast(fstride=fstride, tstride=fstride, **kw)
    model, classifier, projector, criterion, optimizer = main.set_model(args)
    if fstride != 10:
        models._backbone_class_map['ast'] = ast
    model.register_forward_pre_hook(lambda m, inputs: (inputs[0].clone(),) + tuple(inputs[1:]))
    return model, classifier, projector, criterion, optimizer
