#!/usr/bin/python3
"""Reference timing for `train --method sgscl|dat`: one training step of the SG-SCL repository's
own code (main.train with its model, MetaCL / ReverseLayerF, whole-batch SpecAugment, Adam and
moving-average update), imported from a checkout through scripts/goldens/sgscl_reference.py (CPU,
a small AST of the preset's size), on random data of the shape `train --shards random` uses.

    PYTHONPATH=.build/sgscl-python /usr/bin/python3 scripts/bench_sgscl.py --repo /tmp/sgscl \\
        --method sgscl --model ast-tiny --batch-size 8 --steps 5 --threads 2

Prints one JSON line like scripts/bench_train.py: ms per step after one warm-up step, measured
between the batches main.train asks its loader for (so the whole loop body counts)."""
import argparse, contextlib, json, os, sys, tempfile, time
import numpy as np, torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'goldens'))
import sgscl_reference as ref

PRESETS = {'ast-tiny': (64, 2, 4, 16), 'ast-small': (192, 4, 3, 16), 'ast-base': (768, 12, 12, 10)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repo', required=True)
    ap.add_argument('--method', choices=['sgscl', 'dat'], required=True)
    ap.add_argument('--model', default='ast-tiny', choices=PRESETS)
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--threads', type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    D, depth, heads, stride = PRESETS[a.model]
    # The repository prints its model summary and progress to stdout: stderr here, the JSON line alone on stdout.
    quiet = contextlib.redirect_stdout(sys.stderr)
    quiet.__enter__()
    trainer = ref.load(a.repo, D, depth, heads)
    import util.augmentation as aug
    with tempfile.TemporaryDirectory() as save:
        # 8 s cycles (798 frames), the repository's recipe: lr 5e-5, weight decay 1e-6, ma_beta 0.5.
        args = ref.arguments(a.method, a.batch_size, 5e-5, 1e-6, 0.5, 8, save)
        torch.manual_seed(1); np.random.seed(1)
        args.transforms = aug.SpecAugment(args)
        model, classifier, projector, criterion, optimizer = ref.set_model(args, fstride=stride)
        B = a.batch_size
        x = torch.rand(2 * B, 1, 798, 128) * 2 - 1
        y = torch.arange(2 * B) % 4
        meta = (torch.arange(2 * B) * 3 + 1) % 4
        marks = []

        class Loader:
            def __len__(self): return 1 + a.steps
            def __iter__(self):
                for step in range(1 + a.steps):
                    marks.append((time.perf_counter(), time.process_time()))
                    s = slice((step % 2) * B, (step % 2 + 1) * B)
                    yield x[s].clone(), (y[s].clone(), meta[s].clone())
                marks.append((time.perf_counter(), time.process_time()))

        trainer.train(Loader(), model, classifier, projector, criterion, optimizer, 1, args, torch.cuda.amp.GradScaler())
    quiet.__exit__(None, None, None)
    wall = (marks[-1][0] - marks[1][0]) / a.steps * 1000
    cpu = (marks[-1][1] - marks[1][1]) / a.steps * 1000
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps(dict(impl='python-sgscl-repo', method=a.method, preset=a.model, batchSize=B, steps=a.steps,
                          threads=torch.get_num_threads(), msPerStep=wall, cpuMsPerStep=cpu, parameters=params,
                          torch=str(torch.__version__))))


if __name__ == '__main__':
    main()
