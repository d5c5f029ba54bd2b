#!/usr/bin/python3
"""Reference timing for `predict`: the paper code's model forward in Python PyTorch on the same
windows and checkpoint, in batches of the same size.

    /usr/bin/python3 scripts/bench_predict.py REC.wav CHECKPOINT.pth --heads 4 --batch-size 8 --threads 1 [--compare predict.csv]

The windows are `predict`'s (8 s every 4 s from 0 up to the first reaching the end, the last one
repeat-padded), made with the paper's preprocessing in torchaudio (resample, fade, repeat-pad +
fade-out, Kaldi fbank, AudioSet normalisation). The model is REFERENCE.md's AST as
scripts/bench_train.py writes it (the paper's models/ast.py needs timm, which Debian lacks; the
math is the same, checked by the goldens). Only the forward passes are timed. Prints one JSON
line; with --compare, also the max abs difference to predict's probabilities for these windows."""
import argparse, csv, json, math, os, sys, time

import torch
import torchaudio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import Net  # noqa: E402


def windows(wav, window=8.0, hop=4.0, length=128000):
    x, sr = torchaudio.load(wav)
    x = x.mean(0, keepdim=True)
    if sr != 16000:
        x = torchaudio.transforms.Resample(sr, 16000)(x)
    x = torchaudio.transforms.Fade(1000, 1000, 'linear')(x)[0]
    n, w, h = x.shape[0], int(round(window * 16000)), int(round(hop * 16000))
    spans, start = [], 0
    while start < n:
        spans.append((start, min(start + w, n)))
        if start + w >= n:
            break
        start += h
    feats = []
    for a, b in spans:
        c = x[a:b]
        if c.shape[0] >= length:
            c = c[:length]
        else:  # the paper's repeat padding, then a linear fade-out over the last 1,000 samples
            c = c.repeat(math.ceil(length / c.shape[0]))[:length]
            c = torchaudio.transforms.Fade(0, 1000, 'linear')(c.unsqueeze(0))[0]
        fb = torchaudio.compliance.kaldi.fbank(c.unsqueeze(0), htk_compat=True, sample_frequency=16000, use_energy=False,
                                               window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)
        feats.append((fb - (-4.2677393)) / (4.5689974 * 2))
    return spans, torch.stack(feats)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('wav')
    ap.add_argument('checkpoint')
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--compare')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ckpt = torch.load(args.checkpoint, map_location='cpu')
    model = ckpt['model']
    D = model['v.cls_token'].shape[-1]
    depth = len({k.split('.')[2] for k in model if k.startswith('v.blocks.')})
    net = Net(D, depth, args.heads, 10, 10)
    state = {k: v for k, v in model.items() if k.startswith('v.')}
    state.update({'mlp_head.' + k: v for k, v in ckpt['classifier'].items()})
    missing = net.load_state_dict(state, strict=False).missing_keys
    assert all(k.startswith('projector.') for k in missing), missing
    net.eval()
    spans, x = windows(args.wav)
    probs = []
    with torch.no_grad():
        net.mlp_head(net.v(x[:args.batch_size]))  # warm-up
        t0 = time.perf_counter()
        for i in range(0, x.shape[0], args.batch_size):
            probs.append(net.mlp_head(net.v(x[i:i + args.batch_size])).softmax(-1))
        seconds = time.perf_counter() - t0
    probs = torch.cat(probs).double()
    out = {'windows': len(spans), 'forward_s': round(seconds, 3), 'windows_per_s': round(len(spans) / seconds, 2),
           'batch': args.batch_size, 'threads': args.threads, 'torch': torch.__version__}
    if args.compare:
        rows = [r for r in csv.reader(open(args.compare))][1:]
        theirs = torch.tensor([[float(v) for v in r[3:-1]] for r in rows], dtype=torch.float64)
        out['max_abs_diff_to_predict'] = float((theirs - probs).abs().max()) if theirs.shape == probs.shape else 'row mismatch'
    print(json.dumps(out))


if __name__ == '__main__':
    main()
