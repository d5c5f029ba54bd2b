"""`make bench` rows for issue #23: the paper code's ICBHIDataset against the feature-set drop-in.

    PYTHONPATH=python:.build/pytools python3 scripts/bench_paper.py PAPER_DIR CORPUS FEATURE_SET WORK

``CORPUS``: ICBHI-shaped recordings (``prep synth``); ``FEATURE_SET``: ``prep ingest CORPUS`` +
``prep features`` of it. Each side runs in its own process (so its peak RSS is its own): build
train + test as ``main.py`` does (official split; wall and CPU seconds, since the machine may be
shared), then one epoch of the training set through a
``torch.utils.data.DataLoader`` (batch 128, shuffled, ``transform=None``: the dataset's own cost,
not the augmentation's) with ``num_workers`` 0 (twice: the first epoch may read the shards from
disk, the next finds them in the page cache) and 2. Then, in the paper's process, the drop-in's
training set next to the paper's: ``BENCH_PAPER_ROUNDS`` (6) epochs each with 0 workers,
alternating ours-paper and paper-ours (the same load and allocator state for both; median,
fastest and slowest, wall and CPU, the load average on stderr). Prints tab-separated rows
``name, ours, paper, unit, peak-MB`` for scripts/bench.sh, and the details on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from statistics import median

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(side: str, paper_dir: str, data: str, feature_set: str) -> None:
    """One side: imports, build train + test, DataLoader epochs; one JSON line on stdout."""
    sys.path.insert(0, paper_dir)
    import torch
    import main as paper_main
    if side == "paper":
        from util.icbhi_dataset import ICBHIDataset
    else:
        os.environ["ICBHI_FEATURE_SET"] = feature_set
        from icbhi_shards.paper import ICBHIDataset
    sys.argv = ["main.py", "--data_folder", data, "--save_dir", os.path.join(os.path.dirname(data), "save")]
    args = paper_main.parse_args()
    after_imports = rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    train = ICBHIDataset(train_flag=True, transform=None, args=args, print_flag=False)
    test = ICBHIDataset(train_flag=False, transform=None, args=args, print_flag=False)
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    build_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"side": side, "train": len(train), "test": len(test), "build_s": build_s, "build_cpu_s": build_cpu_s, "rss_after_imports_mb": after_imports,
              "build_peak_mb": build_peak, "rss_after_build_mb": rss_mb(), "torch_threads": torch.get_num_threads()}
    for run, workers in (("first0", 0), ("0", 0), ("2", 2)):  # the first epoch may read shards from disk
        seconds, cpu_seconds, result["batches"] = epoch(train, workers)
        result[f"epoch_s_workers{run}"] = seconds
        result[f"epoch_cpu_s_workers{run}"] = cpu_seconds  # this process only
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if side == "paper":
        # Side by side in this one process (the same load, the same allocator state): the drop-in's
        # training set next to the paper's, epochs alternating ours-paper / paper-ours.
        os.environ["ICBHI_FEATURE_SET"] = feature_set
        from icbhi_shards.paper import ICBHIDataset as DropIn
        ours = DropIn(train_flag=True, transform=None, args=args, print_flag=False)
        epoch(ours, 0)  # the first touch of its memory map, as the paper's first epoch above
        rounds: dict = {"ours": [], "paper": []}
        for r in range(ALTERNATING_ROUNDS):
            for name in (("ours", "paper") if r % 2 == 0 else ("paper", "ours")):
                seconds, cpu_seconds, _ = epoch(ours if name == "ours" else train, 0)
                rounds[name].append((seconds, cpu_seconds, os.getloadavg()[0]))
        result["alternating"] = rounds
    print(json.dumps(result), flush=True)


#: Epochs of each side in the alternating comparison (both orders, half each).
ALTERNATING_ROUNDS = int(os.environ.get("BENCH_PAPER_ROUNDS", "6"))


def epoch(dataset, workers: int):
    """One shuffled epoch through a DataLoader (batch 128): wall s, CPU s of this process, batches."""
    import torch

    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=128, shuffle=True, num_workers=workers, drop_last=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    batches = 0
    for images, labels, metadata in loader:
        batches += 1
    return time.perf_counter() - started, time.process_time() - cpu_started, batches


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("paper_dir")
    parser.add_argument("corpus")
    parser.add_argument("feature_set")
    parser.add_argument("work")
    parser.add_argument("--child", choices=["paper", "ours"])
    options = parser.parse_args()
    data = os.path.join(options.work, "data")
    if options.child:
        child(options.child, os.path.abspath(options.paper_dir), data, os.path.abspath(options.feature_set))
        return 0

    # The paper's data folder: symlinks to the corpus, the side files prep ingest uses.
    audio = os.path.join(data, "icbhi_dataset", "audio_test_data")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(audio)
    for name in os.listdir(options.corpus):
        if name.endswith((".wav", ".txt")) and name != "README.txt":
            os.symlink(os.path.abspath(os.path.join(options.corpus, name)), os.path.join(audio, name))
    for name in ("official_split.txt", "patient_list_foldwise.txt", "metadata.txt"):
        shutil.copyfile(os.path.join(ROOT, "manifests", "icbhi", name), os.path.join(data, "icbhi_dataset", name))

    results = {}
    for side in ("ours", "paper"):
        print(f"   bench_paper: {side} ...", file=sys.stderr, flush=True)
        run = subprocess.run([sys.executable, os.path.abspath(__file__), options.paper_dir, options.corpus,
                              options.feature_set, options.work, "--child", side], capture_output=True, text=True)
        if run.returncode != 0:
            print(run.stdout, run.stderr, file=sys.stderr)
            return 1
        results[side] = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"   bench_paper: {json.dumps(results[side])}", file=sys.stderr, flush=True)
    ours, paper = results["ours"], results["paper"]
    if (ours["train"], ours["test"]) != (paper["train"], paper["test"]):
        print(f"bench_paper: different sets: ours {ours['train']}/{ours['test']}, paper {paper['train']}/{paper['test']}",
              file=sys.stderr)
        return 1
    n = f"{ours['train']} + {ours['test']} cycles"
    rows = [
        (f"paper ICBHIDataset train+test ({n})", ours["build_s"], paper["build_s"], "s", round(ours["build_peak_mb"])),
        ("  the same, CPU seconds of the process", ours["build_cpu_s"], paper["build_cpu_s"], "s", ""),
        ("  peak RSS building train+test", ours["build_peak_mb"], paper["build_peak_mb"], "MB", ""),
        ("  RSS growth building train+test", ours["build_peak_mb"] - ours["rss_after_imports_mb"],
         paper["build_peak_mb"] - paper["rss_after_imports_mb"], "MB", ""),
        (f"  DataLoader 1st epoch ({ours['batches']} x 128), 0 workers", ours["epoch_s_workersfirst0"],
         paper["epoch_s_workersfirst0"], "s", round(ours["peak_mb"])),
        ("  DataLoader next epoch, 0 workers", ours["epoch_s_workers0"], paper["epoch_s_workers0"], "s", ""),
        ("  the same, CPU seconds", ours["epoch_cpu_s_workers0"], paper["epoch_cpu_s_workers0"], "s", ""),
        ("  DataLoader epoch, 2 workers", ours["epoch_s_workers2"], paper["epoch_s_workers2"], "s", ""),
    ]
    alternating = paper.get("alternating")
    if alternating:
        k = len(alternating["ours"])
        for column, label in ((0, "wall"), (1, "CPU")):
            a = [r[column] for r in alternating["ours"]]
            b = [r[column] for r in alternating["paper"]]
            rows.append((f"  epoch, 0 workers, one process, alternating ({k} each), median {label}", median(a), median(b), "s", ""))
            rows.append((f"    fastest {label}", min(a), min(b), "s", ""))
            rows.append((f"    slowest {label}", max(a), max(b), "s", ""))
        loads = [r[2] for side in ("ours", "paper") for r in alternating[side]]
        print(f"   bench_paper: alternating epochs, ours (wall, CPU, load): {alternating['ours']}", file=sys.stderr)
        print(f"   bench_paper: alternating epochs, paper (wall, CPU, load): {alternating['paper']}", file=sys.stderr)
        print(f"   bench_paper: load average during the alternating epochs {min(loads):.1f}-{max(loads):.1f}", file=sys.stderr)
    for name, a, b, unit, peak in rows:
        print(f"{name}\t{a:.3f}\t{b:.3f}\t{unit}\t{peak}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
