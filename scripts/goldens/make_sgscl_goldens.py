"""Goldens for `--method sgscl` and `--method dat`: two whole training steps RUN by the SG-SCL
repository's own code (kaen2891/stethoscope-guided_supervised_contrastive_learning at
sgscl_reference.REPO_COMMIT): its main.set_model and main.train, models/ast.py, method/mcl.py
(MetaCL), models/functions.py (ReverseLayerF), util/augmentation.py (SpecAugment), util/misc.py
(Adam, update_moving_average), imported from a checkout through sgscl_reference.py (its shims:
CPU for .cuda(), a small AST, a copy of the AST's input standing in for autocast's cast).

    git --git-dir=<mirror> archive 66564609595090b61540595d3d27764c00553086 | tar -x -C /tmp/sgscl
    PYTHONPATH=.build/sgscl-python /usr/bin/python3 scripts/goldens/make_sgscl_goldens.py /tmp/sgscl \
        ../shared/golden/golden.h5 scripts/goldens

Besides the shims, recording wrappers only (values passed through unchanged): around the losses,
around the AST's forward (the input it saw, the reversal coefficient main.train passes), and
around util/augmentation.py's random draws (torch.randn, np.random.uniform, random.randint) and
around its freq_mask / time_mask (the mean they mask with).

Input: a batch of 8 (the published batch size; with 4 the projector's BatchNorm is so ill-conditioned
that the reference's own second-step loss moves by 2e-5 with OpenBLAS's thread count): two cycles
of golden.h5 per class (repeated where it has one), their first 198 frames (args.desired_length 2:
h = 198, so 12 x 19 patches with strides 10), meta (device) labels META; AST D 64, 2 blocks, 4 heads.
Two steps of one epoch (len(train_loader) 2, epoch 1 of args.epochs 50): lr 5e-5 (the published
lr of scripts/icbhi_sg_scl.sh and icbhi_dat_device.sh), weight decay 1e-6, ma_beta 0.5; SG-SCL with alpha 1, temperature 0.06, proj_dim 64 (= D, as 768 = D for
ast-base), target project1_project2block, meta_mode dev; DAT with alpha 1, meta_mode dev (4 domains).

Output <out>/sgscl_step.h5 and <out>/dat_step.h5: /input [8, 198, 128], /labels, /meta; per step
k: /step_k/{loss, ce, second} (second: MetaCL or the domain CE, before alpha), /step_k/draws_v
(per view v, the augmentation's draws in call order, rows (kind, value): kind 0 randn, 1 uniform
(its int() is the mask width), 2 randint (the start), 3 the masked value (the mean freq_mask and
time_mask take first, as float32)), /step_k/view_v_sum (float64 sum of the view
the AST saw), DAT /step_k/coefficient; /initial, /after_1, /after_2: every state entry trained,
named as in this project's model (v.*, mlp_head.*, projector.*, domain_head.*). Attributes: the
settings, the repository and its commit.
"""
import sys, os, types, random, tempfile
import numpy as np, torch, torch.nn as nn, h5py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgscl_reference as ref

repo, golden_h5, out = sys.argv[1], sys.argv[2], sys.argv[3]
D, DEPTH, HEADS, FRAMES, BINS, B = 64, 2, 4, 198, 128, 8
LR, WD, MA_BETA, T, ALPHA = 5e-5, 1e-6, 0.5, 0.06, 1.0
META = [3, 0, 3, 1, 2, 0, 1, 3]   # devices (Meditron 0, LittC2SE 1, Litt3200 2, AKGC417L 3)
torch.set_num_threads(1)
main = ref.load(repo, D, DEPTH, HEADS)
import timm
import util.augmentation as aug

draws = []
class Recorder:
    def __init__(self, inner, record): self.inner, self.record = inner, record
    def __getattr__(self, name):
        f = getattr(self.inner, name)
        if name not in self.record: return f
        kind = self.record[name]
        def wrapped(*a, **k):
            v = f(*a, **k)
            draws.append((kind, float(v)))
            return v
        return wrapped
aug.torch = Recorder(torch, {'randn': 0})
aug.np = types.SimpleNamespace(random=Recorder(np.random, {'uniform': 1}))
aug.random = Recorder(random, {'randint': 2})
# The masked value (mask 'mean'): the mean freq_mask / time_mask compute first, recorded as a draw
# (kind 3) so that the test masks with exactly the reference's float32 value.
def recording_mean(mask):
    def wrapped(self):
        draws.append((3, float(self.mel_spectrogram.mean())))
        return mask(self)
    return wrapped
aug.SpecAugment.freq_mask = recording_mean(aug.SpecAugment.freq_mask)
aug.SpecAugment.time_mask = recording_mean(aug.SpecAugment.time_mask)


def run(method):
    args = ref.arguments(method, B, LR, WD, MA_BETA, 2, tempfile.mkdtemp(prefix='sgscl-save-'), alpha=ALPHA, temperature=T,
                         proj_dim=D)
    random.seed(args.seed); np.random.seed(args.seed); torch.manual_seed(args.seed)
    args.transforms = aug.SpecAugment(args)
    model, classifier, projector, criterion, optimizer = ref.set_model(args)
    second = classifier[1]                             # SG-SCL: the projector; DAT: the domain head

    def state():
        s = {}
        for k, v in model.state_dict().items():
            if k.startswith('v.head') or k.startswith('mlp_head.') or k.startswith('domain_mlp_head.'):
                continue                               # the backbone's own heads: unused, never trained
            s[k] = v.detach().clone()
        for k, v in classifier[0].state_dict().items(): s['mlp_head.' + k] = v.detach().clone()
        for k, v in second.state_dict().items():
            if method == 'sgscl':
                if not k.startswith('projector.'): continue   # linear1/bn/linear2 alias projector.0/1/3
                s[k] = v.detach().clone()
            else:
                s['domain_head.' + k] = v.detach().clone()
        return s

    seen = []
    model.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0].detach().clone()))
    losses = []
    class Recording(nn.Module):
        def __init__(self, inner, slot): super().__init__(); self.inner, self.slot = inner, slot
        def forward(self, *a):
            v = self.inner(*a)
            losses[-1][self.slot] = v.item()
            return v
    criterion[0], criterion[1] = Recording(criterion[0], 'ce'), Recording(criterion[1], 'second')
    # Records alpha (the reversal coefficient) as main.train passes it to the AST.
    coefficients = []
    forward = model.forward
    def forward_recording(*a, **k):
        if k.get('training'): coefficients.append(k.get('alpha'))
        return forward(*a, **k)
    model.forward = forward_recording

    with h5py.File(golden_h5, 'r') as h:
        labels_all = h['cycles/label'][:]
        pick = [int(i) for c in (0, 1, 2, 3) for i in (list(np.where(labels_all == c)[0]) * 2)[:2]]
        x = torch.tensor(h['cycles/fbank'][:][pick][:, :FRAMES, :])
    y = torch.tensor(labels_all[pick], dtype=torch.long)
    meta = torch.tensor(META, dtype=torch.long)

    initial = state()
    snapshots, step_draws = [], []
    class Loader:                                      # two batches; a snapshot once step 1 (with its MA) is done
        def __len__(self): return 2
        def __iter__(self):
            for k in range(2):
                if k == 1:
                    snapshots.append(state())
                    step_draws.append(list(draws))
                draws.clear()
                losses.append({})
                yield x.clone().unsqueeze(1), (y.clone(), meta.clone())
    main.train(Loader(), model, classifier, projector, criterion, optimizer, 1, args, torch.cuda.amp.GradScaler())
    snapshots.append(state())
    step_draws.append(list(draws))

    path = os.path.join(out, f'{method}_step.h5')
    with h5py.File(path, 'w') as h:
        h.attrs.update(dict(repo='kaen2891/stethoscope-guided_supervised_contrastive_learning', commit=ref.REPO_COMMIT,
                            method=method, lr=LR, weight_decay=WD, ma_beta=MA_BETA, temperature=T, alpha=ALPHA,
                            embed_dim=D, depth=DEPTH, heads=HEADS, fstride=10, tstride=10, frames=FRAMES, bins=BINS,
                            epoch=1, epochs=50, steps_per_epoch=2, meta_mode='dev', cycles=str(pick),
                            torch=str(torch.__version__), timm=str(timm.__version__)))
        h.create_dataset('input', data=x.numpy()); h.create_dataset('labels', data=y.numpy())
        h.create_dataset('meta', data=meta.numpy())
        views_per_step = 2 if method == 'sgscl' else 1
        for k in range(2):
            g = h.create_group(f'step_{k + 1}')
            l = losses[k]
            total = l['ce'] + args.alpha * l['second']
            for name, v in (('loss', total), ('ce', l['ce']), ('second', l['second'])):
                g.create_dataset(name, data=v)
            # Each SpecAugment call draws randn, then (if applied) the mean and 2 x (uniform, randint) for
            # the frequency masks, the mean and 2 x (uniform, randint) for the time masks.
            per_view, rows = [], list(step_draws[k])
            for v in range(views_per_step):
                take = 1 + (10 if 1.0 >= rows[0][1] else 0)
                per_view.append(rows[:take]); rows = rows[take:]
            assert not rows, rows
            for v, r in enumerate(per_view):
                g.create_dataset(f'draws_{v + 1}', data=np.array(r, dtype=np.float64))
                g.create_dataset(f'view_{v + 1}_sum', data=seen[k * views_per_step + v].double().sum().item())
            if method == 'dat':
                g.create_dataset('coefficient', data=float(coefficients[k]))
        for name, s in (('initial', initial), ('after_1', snapshots[0]), ('after_2', snapshots[1])):
            g = h.create_group(name)
            for key, v in s.items():
                g.create_dataset(key, data=v.numpy())
    print(method, [(round(l['ce'], 6), round(l['second'], 6)) for l in losses], 'coefficients', coefficients[:2],
          'max |change| step 1: %.3g' % max((snapshots[0][k].double() - initial[k].double()).abs().max().item()
                                            for k in initial if initial[k].is_floating_point()))


os.makedirs(out, exist_ok=True)
for method in sys.argv[4:] or ['sgscl', 'dat']:
    argv = list(sys.argv)
    run(method)
    sys.argv = argv
