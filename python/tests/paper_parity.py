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
            check(not ours._reader.is_open(), f"{where}: an fbank was read while building")
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

    # The SG-SCL flavour's raw_augment, against the harness's statement of the fork (the paper
    # code's own augment_raw_audio, cut_pad_sample_torchaudio and generate_fbank), official split.
    summary.update(sgscl_augmentation(paper_args, paper_items_by_fold, ours_keys, built, data, check))

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
        check("raw_augment=2 is not served for the paper code" in str(error), f"raw_augment: message {error}")
        summary["refusal_example"] = str(error)
    # Why: the paper code's own dataset cannot build a training set with raw_augment (it hands
    # nlpaug a torch tensor). Should it ever build, the refusal is out of date.
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            PaperDataset(train_flag=True, transform=None, args=paper_args("--raw_augment", "1"), print_flag=True)
        failures.append("the paper code's ICBHIDataset now builds with --raw_augment 1: serve it instead of refusing")
    except Exception as error:  # noqa: BLE001 - which error depends on the augmenter drawn
        summary["paper_raw_augment_fails_with"] = f"{type(error).__name__}: {error}"[:160]
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


def sgscl_augmentation(paper_args, paper_items_by_fold, ours_keys, built, data, check) -> dict:
    """``--raw_augment 2`` in the SG-SCL flavour, official training set, with ``random`` and
    ``numpy.random`` seeded alike before each side builds:

    1. fed the paper's own cycle waveforms (torchaudio's decode and resampler, patched in for the
       cache's), the drop-in's augmented images equal the harness's bit for bit, and both leave
       the generators in the same state (the same draws, in the same order);
    2. ``__getitem__`` after the same ``random.seed`` picks the same image (original or augmented);
    3. from the cache's own cycle audio (its resampler: within float rounding of torchaudio's),
       the same draws; the images' difference is measured and reported (librosa's phase vocoder
       in SpeedAug/PitchAug amplifies a 1e-7 waveform difference)."""
    import random

    import numpy as np
    import torch
    import sgscl_harness
    from icbhi_shards import augment, paper as dropin
    from util import augmentation as paper_augmentation
    from util import icbhi_util as paper_util

    args = paper_args("--raw_augment", "2")
    args.meta_mode, args.method, args.domain_adaptation, args.domain_adaptation2, args.m_cls = "none", "ce", False, False, 0
    theirs, keys = paper_items_by_fold[("official", True)]
    base = dict(zip(keys, (theirs.audio_data[i][0] for i in range(len(theirs)))))
    audio_folder = os.path.join(data, "icbhi_dataset", "audio_test_data")
    result = {}

    def expected(order):  # the harness: the fork's chain over the items in the fork's order
        random.seed(11)
        np.random.seed(11)
        images = [sgscl_harness.augmented_images(paper_util, paper_augmentation, base[key], args) for key in order]
        return images, (random.random(), float(np.random.random()))

    def drop_in():
        random.seed(11)
        np.random.seed(11)
        ours, _, seconds = built(dropin.SGSCLICBHIDataset, True, args)
        return ours, (random.random(), float(np.random.random())), seconds

    original_cycle = augment.CycleAudio.cycle
    augment.CycleAudio.cycle = lambda self, stem, k: sgscl_harness.paper_cycle(paper_util, audio_folder, stem, k)[0].numpy()
    try:
        ours, state, _ = drop_in()
    finally:
        augment.CycleAudio.cycle = original_cycle
    order = ours_keys(ours)
    want, want_state = expected(order)
    check(len(ours) == len(theirs) and len(ours.augmented_images) == len(ours), "sg-scl raw_augment: length")
    check(state == want_state, f"sg-scl raw_augment: the generators end at {state}, the fork's at {want_state}")
    exact = all(np.array_equal(a, b) for mine, theirs_ in zip(ours.augmented_images, want) for a, b in zip(mine, theirs_))
    check(exact, "sg-scl raw_augment: augmented images from the paper's waveforms differ from the harness's")
    random.seed(5)
    picked = [ours[i][0] for i in range(len(ours))]
    random.seed(5)
    for i, key in enumerate(order):
        choice = random.randint(0, args.raw_augment)
        reference = theirs[keys.index(key)][0] if choice == 0 else want[i][choice - 1]
        difference = np.abs(picked[i].astype(np.float64) - reference.astype(np.float64))
        check(difference.max() <= MAX_ABS and difference.mean() <= MEAN_ABS,
              f"sg-scl raw_augment {key}: __getitem__ pick {choice} max abs {difference.max():.3g}")

    ours, state, seconds = drop_in()  # from the cache
    check(state == want_state, f"sg-scl raw_augment from the cache: the generators end at {state}, the fork's at {want_state}")
    differences = [np.abs(a.astype(np.float64) - b.astype(np.float64))
                   for mine, theirs_ in zip(ours.augmented_images, want) for a, b in zip(mine, theirs_)]
    check(all(np.isfinite(d).all() for d in differences) and len(differences) == len(ours) * args.raw_augment,
          "sg-scl raw_augment from the cache: images")
    waveform = max(float(np.abs(augment.CycleAudio(ours.feature_set).cycle(*key_of(c))
                                - sgscl_harness.paper_cycle(paper_util, audio_folder, *key_of(c))[0].numpy()).max())
                   for c in ours.cycle_ids)
    check(waveform <= 1e-5, f"sg-scl raw_augment: cached cycle audio differs from the paper's by {waveform:.3g}")
    result.update(sgscl_augmented_items=len(ours), sgscl_augmented_exact_from_paper_waveforms=exact,
                  sgscl_cycle_waveform_max_abs=waveform,
                  sgscl_augmented_from_cache_max_abs=max(float(d.max()) for d in differences),
                  sgscl_augmented_from_cache_worst_mean_abs=max(float(d.mean()) for d in differences),
                  sgscl_augmented_build_s=round(seconds, 2))
    return result


def key_of(cycle_id: str):
    stem, k = cycle_id.rsplit("#", 1)
    return stem, int(k)


if __name__ == "__main__":
    sys.exit(main())
