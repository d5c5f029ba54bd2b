"""The drop-in ``icbhi_shards.paper.ICBHIDataset`` against the paper code's own ``ICBHIDataset``.

    python3 paper_parity.py PAPER_DIR ICBHI_DIR SAMPLE_DIR FEATURE_SET WORK_DIR

``PAPER_DIR``: the paper code (``../shared/third_party/patch-mix_contrastive_learning``);
``ICBHI_DIR``: the ICBHI side files (``official_split.txt``, ``patient_list_foldwise.txt``,
``metadata.txt``); ``SAMPLE_DIR``: recordings (``.wav`` + ``.txt``); ``FEATURE_SET``: what
``prep ingest SAMPLE_DIR`` + ``prep features`` made of them. Builds the paper's data folder in
``WORK_DIR`` and, for the official split and test folds 0-4, train and test: the same printed
summary, length, ``class_nums``, ``class_ratio``, file lists and per-file attributes, multiset of
``(label, metadata)``, and every item's image within REFERENCE.md's end-to-end parity (max abs
<= 5e-3, mean abs per item <= 1e-4), items matched by recording and cycle (the paper's order
follows the hash seed). Then the SG-SCL flavour against ``sgscl_harness``, the refusals, lazy
loading, and a DataLoader with two workers. Prints one JSON summary; exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import shutil
import sys
import time

import numpy as np

MAX_ABS, MEAN_ABS = 5e-3, 1e-4


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("paper_dir", "icbhi_dir", "sample_dir", "feature_set", "work_dir"):
        parser.add_argument(name)
    paths = parser.parse_args()

    # The paper's data folder: <data>/icbhi_dataset/{audio_test_data/, the side files}.
    data = os.path.join(paths.work_dir, "data")
    audio = os.path.join(data, "icbhi_dataset", "audio_test_data")
    os.makedirs(audio, exist_ok=True)
    for name in sorted(os.listdir(paths.sample_dir)):
        if name.endswith((".wav", ".txt")) and not os.path.exists(os.path.join(audio, name)):
            os.symlink(os.path.abspath(os.path.join(paths.sample_dir, name)), os.path.join(audio, name))
    for name in ("official_split.txt", "patient_list_foldwise.txt", "metadata.txt"):
        shutil.copyfile(os.path.join(paths.icbhi_dir, name), os.path.join(data, "icbhi_dataset", name))

    sys.path.insert(0, os.path.abspath(paths.paper_dir))
    started = time.time()
    import torch
    import main as paper_main  # the paper's main.py: its parse_args gives the arguments' defaults
    from util.icbhi_dataset import ICBHIDataset as PaperDataset
    from icbhi_shards import paper as dropin
    import sgscl_harness
    imports_s = time.time() - started

    def paper_args(*extra: str) -> argparse.Namespace:
        sys.argv = ["main.py", "--data_folder", data, "--save_dir", os.path.join(paths.work_dir, "save"), *extra]
        return paper_main.parse_args()

    os.environ["ICBHI_FEATURE_SET"] = paths.feature_set
    failures, worst_max, worst_mean, items, summary = [], 0.0, 0.0, 0, {"imports_s": round(imports_s, 2)}

    def check(condition: bool, what: str) -> None:
        if not condition:
            failures.append(what)

    def built(cls, train_flag, args, **kwargs):
        out = io.StringIO()
        begin = time.perf_counter()
        with contextlib.redirect_stdout(out):
            dataset = cls(train_flag=train_flag, transform=None, args=args, print_flag=True, **kwargs)
        return dataset, out.getvalue(), time.perf_counter() - begin

    def paper_keys(ds) -> list:
        """(stem, cycle ordinal) of every paper item, from its file order and per-file cycle counts."""
        return [(stem, k) for stem in ds.filenames for k in range(len(ds.filename_to_label[stem]))]

    def ours_keys(ds) -> list:
        seen = collections.Counter()
        keys = []
        for cycle_id in ds.cycle_ids:
            stem = cycle_id.rsplit("#", 1)[0]
            keys.append((stem, seen[stem]))
            seen[stem] += 1
        return keys

    paper_s = ours_s = 0.0
    per_fold, empty = {}, []
    paper_items_by_fold = {}
    for fold in ["official", "0", "1", "2", "3", "4"]:
        args = paper_args("--test_fold", fold)
        for train_flag in (True, False):
            where = f"test_fold {fold} {'train' if train_flag else 'test'}"
            ours, our_print, t_ours = built(dropin.ICBHIDataset, train_flag, args)
            try:
                theirs, their_print, t_paper = built(PaperDataset, train_flag, args)
            except IndexError:  # the paper code cannot build an empty set (its h, w come from item 0)
                check(len(ours) == 0, f"{where}: the paper code failed but the drop-in has {len(ours)} items")
                empty.append(where)
                continue
            paper_s, ours_s = paper_s + t_paper, ours_s + t_ours
            check(ours._reader._maps == {}, f"{where}: an fbank was read while building")
            check(their_print == our_print, f"{where}: printed summary differs:\n{their_print}---\n{our_print}")
            check(len(theirs) == len(ours), f"{where}: length {len(theirs)} vs {len(ours)}")
            check(np.array_equal(theirs.class_nums, ours.class_nums), f"{where}: class_nums {theirs.class_nums} vs {ours.class_nums}")
            check(np.allclose(theirs.class_ratio, ours.class_ratio, equal_nan=True), f"{where}: class_ratio")
            check(sorted(theirs.filenames) == ours.filenames, f"{where}: filenames")
            check(theirs.file_to_device == ours.file_to_device, f"{where}: file_to_device")
            check(theirs.device_to_id == ours.device_to_id, f"{where}: device_to_id")
            check({k: sorted(v) for k, v in theirs.device_id_to_patient.items()}
                  == {k: sorted(v) for k, v in ours.device_id_to_patient.items()}, f"{where}: device_id_to_patient")
            check(theirs.file_to_metadata.keys() == ours.file_to_metadata.keys()
                  and all(torch.equal(theirs.file_to_metadata[k], ours.file_to_metadata[k]) for k in ours.file_to_metadata),
                  f"{where}: file_to_metadata")
            check((theirs.h, theirs.w) == (ours.h, ours.w), f"{where}: h, w")
            check(sorted(theirs.labels) == sorted(ours.labels), f"{where}: labels")
            check({k: v for k, v in theirs.filename_to_label.items()} == ours.filename_to_label, f"{where}: filename_to_label")
            check([len(c) for c in theirs.classwise_cycle_list] == [len(c) for c in ours.classwise_cycle_list],
                  f"{where}: classwise_cycle_list")
            multiset = lambda ds: collections.Counter((int(item[1]), tuple(item[2].tolist())) for item in
                                                      (ds[i] for i in range(len(ds))))
            check(multiset(theirs) == multiset(ours), f"{where}: multiset of (label, metadata)")
            mine = {key: i for i, key in enumerate(ours_keys(ours))}
            for i, key in enumerate(paper_keys(theirs)):
                if key not in mine:
                    failures.append(f"{where}: paper item {key} missing from the drop-in")
                    continue
                image, label, meta = theirs[i]
                our_image, our_label, our_meta = ours[mine[key]]
                items += 1
                if not (isinstance(our_image, np.ndarray) and our_image.dtype == np.float32 and our_image.shape == image.shape):
                    failures.append(f"{where} {key}: image {type(our_image)} {getattr(our_image, 'shape', None)} vs {image.shape}")
                    continue
                difference = np.abs(our_image.astype(np.float64) - image.astype(np.float64))
                worst_max, worst_mean = max(worst_max, float(difference.max())), max(worst_mean, float(difference.mean()))
                check(float(difference.max()) <= MAX_ABS and float(difference.mean()) <= MEAN_ABS,
                      f"{where} {key}: max abs {difference.max():.3g}, mean {difference.mean():.3g}")
                check(label == our_label, f"{where} {key}: label {label} vs {our_label}")
                check(meta.dtype == our_meta.dtype == torch.float64 and torch.equal(meta, our_meta),
                      f"{where} {key}: metadata {meta} vs {our_meta}")
            paper_items_by_fold[(fold, train_flag)] = (theirs, paper_keys(theirs))
            per_fold[where] = len(ours)
    summary.update(empty_sets=empty, items=items, worst_max_abs=worst_max, worst_mean_abs=worst_mean, lengths=per_fold,
                   paper_build_s=round(paper_s, 3), dropin_build_s=round(ours_s, 3))

    # 2-class labels and a single stethoscope (stetho_id), official split.
    for extra in (["--n_cls", "2"], ["--stetho_id", "2"], ["--test_fold", "2", "--stetho_id", "0"]):
        args = paper_args(*extra)
        for train_flag in (True, False):
            ours, our_print, _ = built(dropin.ICBHIDataset, train_flag, args)
            where = f"{' '.join(extra)} {'train' if train_flag else 'test'}"
            try:
                theirs, their_print, _ = built(PaperDataset, train_flag, args)
            except IndexError:
                check(len(ours) == 0, f"{where}: the paper code failed but the drop-in has {len(ours)} items")
                empty.append(where)
                continue
            check(their_print == our_print, f"{where}: printed summary differs")
            check(len(theirs) == len(ours) and np.array_equal(theirs.class_nums, ours.class_nums), f"{where}: length/class_nums")
            check(collections.Counter((theirs.labels[i], tuple(theirs.metadata[i].tolist())) for i in range(len(theirs)))
                  == collections.Counter((ours.labels[i], tuple(ours.metadata[i].tolist())) for i in range(len(ours))),
                  f"{where}: multiset of (label, metadata)")

    # blank_region_clip (the paper resizes each image to n_mels rows with OpenCV): official train set.
    args = paper_args("--blank_region_clip")
    theirs, their_print, _ = built(PaperDataset, True, args)
    ours, our_print, _ = built(dropin.ICBHIDataset, True, args)
    mine = {key: i for i, key in enumerate(ours_keys(ours))}
    check((theirs.h, theirs.w) == (ours.h, ours.w), f"blank_region_clip: h, w {(theirs.h, theirs.w)} vs {(ours.h, ours.w)}")
    for i, key in enumerate(paper_keys(theirs)):
        a, b = theirs[i][0], ours[mine[key]][0]
        difference = np.abs(a.astype(np.float64) - b.astype(np.float64))
        check(a.shape == b.shape and difference.max() <= MAX_ABS and difference.mean() <= MEAN_ABS,
              f"blank_region_clip {key}: {a.shape} vs {b.shape}, max abs {difference.max():.3g}")

    # The SG-SCL flavour against the harness: every meta_mode, AST and another model, train and test.
    sgscl_items = 0
    for fold in ["official", "3"]:
        for mode, model in (("none", "ast"), ("age", "ast"), ("sex", "ast"), ("loc", "ast"), ("dev", "ast"),
                            ("label", "ast"), ("dev", "cnn6")):
            args = paper_args("--test_fold", fold, "--model", model)
            args.meta_mode, args.method = mode, "ce"
            args.domain_adaptation, args.domain_adaptation2 = mode != "none", False
            args.m_cls = {"none": 0, "age": 2, "sex": 2, "loc": 7, "dev": 4, "label": 4}[mode]
            args.meta_cls_list = [str(i) for i in range(args.m_cls)]
            for train_flag in (True, False):
                if (fold, train_flag) not in paper_items_by_fold:
                    continue
                theirs, keys = paper_items_by_fold[(fold, train_flag)]
                ours, _, _ = built(dropin.SGSCLICBHIDataset, train_flag, args)
                where = f"sg-scl {mode} {model} test_fold {fold} {'train' if train_flag else 'test'}"
                mine = {key: i for i, key in enumerate(ours_keys(ours))}
                check(len(ours) == len(theirs), f"{where}: length")
                expected_domain = np.zeros(args.m_cls)
                for i, key in enumerate(keys):
                    want = sgscl_harness.expected_item(theirs[i], args, train_flag)
                    got = ours[mine[key]]
                    sgscl_items += 1
                    check(len(got) == len(want) and got[1:] == want[1:], f"{where} {key}: {got[1:]} vs {want[1:]}")
                    difference = np.abs(got[0].astype(np.float64) - want[0].astype(np.float64))
                    check(got[0].shape == want[0].shape and difference.max() <= MAX_ABS and difference.mean() <= MEAN_ABS,
                          f"{where} {key}: image max abs {difference.max():.3g}")
                    if args.m_cls:
                        expected_domain[sgscl_harness.meta_label(theirs[i][2], theirs[i][1], mode)] += 1
                if args.m_cls:
                    check(np.array_equal(ours.domain_nums, expected_domain), f"{where}: domain_nums")
                check(np.array_equal(ours.class_nums, theirs.class_nums), f"{where}: class_nums")
    summary["sgscl_items"] = sgscl_items

    # Refusals: no feature set; options that contradict args; raw_augment for a training set.
    args = paper_args()
    del os.environ["ICBHI_FEATURE_SET"]
    try:
        dropin.ICBHIDataset(True, None, args, print_flag=False)
        failures.append("no feature set: not refused")
    except dropin.PaperDatasetError as error:
        check("ICBHI_FEATURE_SET" in str(error), f"no feature set: message {error}")
    args.feature_set = paths.feature_set  # args.feature_set works too
    args.n_mels, args.desired_length = 64, 4
    try:
        dropin.ICBHIDataset(True, None, args, print_flag=False)
        failures.append("n_mels 64: not refused")
    except dropin.PaperDatasetError as error:
        check("args.n_mels asks for 64 but the feature set's fbank_numMelBins is 128" in str(error)
              and "length_samples is 128000" in str(error), f"n_mels 64: message {error}")
    args.n_mels, args.desired_length, args.raw_augment = 128, 8, 2
    try:
        dropin.ICBHIDataset(True, None, args, print_flag=False)
        failures.append("raw_augment: not refused")
    except dropin.PaperDatasetError as error:
        check("raw_augment=2 needs waveforms" in str(error), f"raw_augment: message {error}")
        summary["refusal_example"] = str(error)
    test_set = dropin.ICBHIDataset(False, None, args, print_flag=False)  # no augmentation on the test set: served
    check(len(test_set) > 0 and test_set.audio_images[0][0][1] is None, "raw_augment test set")

    # A DataLoader with two workers and main.py's validation transform, as main.py builds it.
    os.environ["ICBHI_FEATURE_SET"] = paths.feature_set
    from torchvision import transforms
    args = paper_args()
    args.h, args.w = 798, 128
    val = dropin.ICBHIDataset(False, transforms.Compose([transforms.ToTensor(), transforms.Resize(size=(798, 128))]), args,
                              print_flag=False)
    loader = torch.utils.data.DataLoader(val, batch_size=8, shuffle=False, num_workers=2)
    shapes = [(tuple(x.shape), tuple(y.shape), tuple(m.shape), m.dtype) for x, y, m in loader]
    check(shapes[0] == ((8, 1, 798, 128), (8,), (8, 7), torch.float64), f"DataLoader batch {shapes[0]}")
    check(sum(s[0][0] for s in shapes) == len(val), "DataLoader covers the set")

    # The launcher tells the flavours apart by the checkout's util/icbhi_dataset.py.
    from icbhi_shards.run_paper_code import detect_flavour
    fork = os.path.join(paths.work_dir, "fork-like", "util")
    os.makedirs(fork, exist_ok=True)
    with open(os.path.join(fork, "icbhi_dataset.py"), "w") as handle:
        handle.write("# returns (image, (label, meta_label)) when training\n")
    check(detect_flavour(paths.paper_dir) == "paper", "detect_flavour: the paper code")
    check(detect_flavour(os.path.dirname(fork)) == "sg-scl", "detect_flavour: an SG-SCL-like checkout")

    summary["failures"] = failures
    print(json.dumps(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
