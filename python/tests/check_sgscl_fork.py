"""By hand, not in `make test`: the SG-SCL flavour against a checkout of the real fork.

    PYTHONPATH=python:.build/pytools python3 python/tests/check_sgscl_fork.py FORK_DIR DATA_FOLDER FEATURE_SET

``FORK_DIR``: a checkout of ``kaen2891/stethoscope-guided_supervised_contrastive_learning`` (no
licence: it is not vendored; nothing of it is copied here, it is only run). ``DATA_FOLDER``: the
paper-style data folder (``icbhi_dataset/audio_test_data`` + side files) of the recordings
``FEATURE_SET`` was made from. For several splits, meta modes, models and the domain-adaptation
flags, builds the fork's ``ICBHIDataset`` and ``icbhi_shards.paper.SGSCLICBHIDataset`` with the
same ``args`` (the fork's own ``parse_args``) and compares the printed summary, length,
``class_nums``, ``domain_nums`` and every item in order (the fork sorts its file names, so the
order is deterministic): labels and meta labels equal, images within max abs 5e-3 / mean 1e-4.
Then ``--raw_augment`` (see ``raw_augment_against_the_fork``). Needs ``python/tests`` on
``PYTHONPATH`` too (the harness's cycle slicer).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

import numpy as np


def main() -> int:
    fork_dir, data, feature_set = (os.path.abspath(p) for p in sys.argv[1:4])
    sys.path.insert(0, fork_dir)
    import main as fork_main
    from util.icbhi_dataset import ICBHIDataset as ForkDataset
    from icbhi_shards.paper import SGSCLICBHIDataset

    os.environ["ICBHI_FEATURE_SET"] = feature_set
    failures, compared, worst = [], 0, 0.0
    configs = [(fold, extra) for fold in ("official", "1", "3", "4") for extra in (
        ["--n_cls", "4"], ["--n_cls", "2"], ["--n_cls", "4", "--meta_mode", "dev", "--domain_adaptation"],
        ["--n_cls", "4", "--meta_mode", "age", "--domain_adaptation2"], ["--n_cls", "4", "--meta_mode", "sex"],
        ["--n_cls", "4", "--meta_mode", "loc", "--domain_adaptation"], ["--n_cls", "4", "--meta_mode", "label", "--domain_adaptation"],
        ["--n_cls", "4", "--model", "cnn6", "--meta_mode", "dev", "--domain_adaptation"])]
    for fold, extra in configs:
        sys.argv = ["main.py", "--data_folder", data, "--save_dir", "/tmp/sgscl-check-save", "--test_fold", fold, *extra]
        args = fork_main.parse_args()
        for train_flag in (True, False):
            where = f"{fold} {' '.join(extra)} {'train' if train_flag else 'test'}"
            outputs = []
            built = []
            for cls in (ForkDataset, SGSCLICBHIDataset):
                out = io.StringIO()
                try:
                    with contextlib.redirect_stdout(out):
                        built.append(cls(train_flag=train_flag, transform=None, args=args, print_flag=True))
                except Exception as error:  # noqa: BLE001 - reported, compared below
                    built.append(error)
                outputs.append(out.getvalue())
            theirs, ours = built
            if isinstance(theirs, Exception) or isinstance(ours, Exception):
                if type(theirs) is not type(ours):
                    failures.append(f"{where}: fork {theirs!r} vs drop-in {ours!r}")
                continue
            if outputs[0] != outputs[1]:
                failures.append(f"{where}: printed summary differs:\n{outputs[0]}---\n{outputs[1]}")
            if len(theirs) != len(ours) or not np.array_equal(theirs.class_nums, ours.class_nums):
                failures.append(f"{where}: length/class_nums {len(theirs)} {theirs.class_nums} vs {len(ours)} {ours.class_nums}")
                continue
            if hasattr(theirs, "domain_nums") and not np.array_equal(theirs.domain_nums, ours.domain_nums):
                failures.append(f"{where}: domain_nums {theirs.domain_nums} vs {ours.domain_nums}")
            for i in range(len(theirs)):
                a, b = theirs[i], ours[i]
                compared += 1
                if len(a) != len(b) or a[1] != b[1]:
                    failures.append(f"{where} item {i}: {a[1:]} vs {b[1:]}")
                    continue
                difference = np.abs(np.asarray(a[0], dtype=np.float64) - b[0].astype(np.float64))
                worst = max(worst, float(difference.max()))
                if a[0].shape != b[0].shape or difference.max() > 5e-3 or difference.mean() > 1e-4:
                    failures.append(f"{where} item {i}: image max abs {difference.max():.3g}, mean {difference.mean():.3g}")
    augmentation = raw_augment_against_the_fork(fork_main, ForkDataset, SGSCLICBHIDataset, data, failures)
    print(json.dumps({"configs": len(configs), "items_compared": compared, "worst_max_abs": worst,
                      "raw_augment": augmentation, "failures": failures[:20], "failure_count": len(failures)}))
    return 1 if failures else 0


def raw_augment_against_the_fork(fork_main, ForkDataset, SGSCLICBHIDataset, data, failures) -> list:
    """``--raw_augment`` 1 and 2 (training sets: official, AST and cnn6; fold 1), ``random`` and
    ``numpy.random`` seeded alike before each side builds: the generators end in the same state;
    fed the fork's own waveforms, the drop-in's augmented images equal the fork's bit for bit; from
    the cache's cycle audio, their difference is reported; ``__getitem__`` after the same
    ``random.seed`` picks the same image."""
    import random

    import sgscl_harness
    from icbhi_shards import augment
    from util import icbhi_util as fork_util

    audio_folder = os.path.join(data, "icbhi_dataset", "audio_test_data")
    results = []
    for count, model, fold in ((1, "ast", "official"), (2, "ast", "official"), (2, "cnn6", "official"), (2, "ast", "1")):
        sys.argv = ["main.py", "--data_folder", data, "--save_dir", "/tmp/sgscl-check-save", "--test_fold", fold,
                    "--n_cls", "4", "--raw_augment", str(count), "--model", model]
        args = fork_main.parse_args()

        def seeded(cls):
            random.seed(11)
            np.random.seed(11)
            with contextlib.redirect_stdout(io.StringIO()):
                dataset = cls(train_flag=True, transform=None, args=args, print_flag=True)
            return dataset, (random.random(), float(np.random.random()))

        theirs, their_state = seeded(ForkDataset)
        original = augment.CycleAudio.cycle
        augment.CycleAudio.cycle = lambda self, stem, k: sgscl_harness.paper_cycle(fork_util, audio_folder, stem, k)[0].numpy()
        try:
            ours, our_state = seeded(SGSCLICBHIDataset)
        finally:
            augment.CycleAudio.cycle = original
        where = f"raw_augment {count} {model} test_fold {fold}"
        if our_state != their_state:
            failures.append(f"{where}: generators end at {our_state}, the fork's at {their_state}")
        exact = len(theirs) == len(ours) and all(
            np.array_equal(theirs.audio_images[i][0][j], ours.augmented_images[i][j - 1])
            for i in range(len(theirs)) for j in range(1, count + 1))
        if not exact:
            failures.append(f"{where}: augmented images from the fork's waveforms differ")
        cached, cached_state = seeded(SGSCLICBHIDataset)
        if cached_state != their_state:
            failures.append(f"{where} (cache): generators end at {cached_state}, the fork's at {their_state}")
        differences = [np.abs(theirs.audio_images[i][0][j].astype(np.float64) - cached.augmented_images[i][j - 1])
                       for i in range(len(theirs)) for j in range(1, count + 1)]
        picks = []
        for dataset in (theirs, cached):
            random.seed(5)
            picks.append([dataset[i][0] for i in range(len(dataset))])
        pick = max(float(np.abs(a.astype(np.float64) - b).max()) for a, b in zip(*picks))
        results.append({"config": where, "items": len(theirs), "exact_from_fork_waveforms": exact,
                        "from_cache_max_abs": max(float(d.max()) for d in differences),
                        "from_cache_worst_mean_abs": max(float(d.mean()) for d in differences),
                        "getitem_pick_max_abs": pick})
    return results


if __name__ == "__main__":
    sys.exit(main())
