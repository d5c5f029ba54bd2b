"""Read the ICBHI 2017 feature sets written by ``prep features`` from Python.

A feature set is a directory with ``index.json`` and HDF5 shards (``train-00000.h5``, ...).
Each shard holds ``fbank`` (``[rows, frames, bins]``: one normalised Kaldi log mel filterbank per
breathing cycle, mel bins low to high; float32, or IEEE float16 for ``prep features --dtype
float16``; items are float32 either way) and one 1-D dataset per cycle
attribute: ``cycle_id``, ``recording``, ``patient``, ``label`` (0 normal, 1 crackle,
2 wheeze, 3 both), ``label2`` (0 normal, 1 abnormal), ``crackle``, ``wheeze``, ``split``,
``fold`` (-1: none), ``device``, ``location``, ``start``, ``end`` (seconds in the recording).

Needs h5py and numpy; PyTorch is optional (with it, items are tensors)::

    from icbhi_shards import FeatureSet, ShardDataset

    features = FeatureSet("cache/icbhi-16k-8s-fbank128-reference-3fa2c19b")
    print(features)                          # name, shape, rows per split
    print(features.class_counts("train"))    # {'normal': ..., 'crackle': ..., ...}

    train = ShardDataset(features, split="train")
    fbank, label, meta = train[0]            # [798, 128] float32, 0..3, dict
    print(meta["cycle_id"], meta["device"], fbank.shape)

    import torch
    loader = torch.utils.data.DataLoader(train, batch_size=32, shuffle=True, num_workers=4)
    for fbank, label, meta in loader:        # fbank [32, 798, 128]; meta: dict of lists/tensors
        ...

Shard files are opened lazily, once per process, so the dataset is safe to use with
DataLoader worker processes (fork or spawn). From the command line,
``python3 -m icbhi_shards <feature-set-dir> [--verify]`` prints a summary and, with
``--verify``, re-checks every shard's size, checksum and shapes against ``index.json``.

The package also holds ``icbhi_shards.paper`` (a drop-in for the Patch-Mix CL paper code's
``ICBHIDataset`` and its SG-SCL fork's, served from a feature set) and
``icbhi_shards.run_paper_code`` (runs an unmodified checkout of that code with the drop-in).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import h5py
import numpy as np

try:  # PyTorch is optional: without it items are numpy arrays.
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

__all__ = ["FORMAT", "CLASSES", "SPLITS", "DATASETS", "METADATA_FIELDS", "FormatError", "Shard", "RowRef", "FeatureSet",
           "ShardDataset"]

#: The ``format`` field of the index files this module reads.
FORMAT = "icbhi-feature-shards/1"
#: Class names by 4-class label (``label = crackle + 2 * wheeze``).
CLASSES = ("normal", "crackle", "wheeze", "both")
#: Splits a feature set may hold (``unassigned``: recordings outside the official split).
SPLITS = ("train", "test", "unassigned")
#: Every dataset of a shard, by name: the one table of them in this module (Python cannot import
#: Swift's, ``ShardDatasetName.icbhiLayout`` in Sources/FeatureStore/ShardDatasetName.swift;
#: ``ShardDatasetNameTests`` checks that the two list the same names in the same order).
DATASETS = ("fbank", "cycle_id", "recording", "patient", "label", "label2", "crackle", "wheeze", "split", "fold",
            "device", "location", "start", "end")
(FBANK, CYCLE_ID, RECORDING, PATIENT, LABEL, LABEL2, CRACKLE, WHEEZE, SPLIT, FOLD, DEVICE, LOCATION, START,
 END) = DATASETS
#: Per-row datasets returned in each item's metadata dict (besides ``label``).
METADATA_FIELDS = (CYCLE_ID, RECORDING, PATIENT, LABEL2, CRACKLE, WHEEZE, SPLIT, FOLD, DEVICE, LOCATION, START, END)
_STRING_FIELDS = (CYCLE_ID, RECORDING, SPLIT, DEVICE, LOCATION)


class FormatError(ValueError):
    """The directory or a shard is not a feature set this module understands."""


@dataclass(frozen=True)
class Shard:
    """One shard as ``index.json`` lists it."""

    file: str
    path: str
    split: str
    rows: int
    bytes: int
    checksum_algorithm: str  # "xxh64" (written now) or "sha256" (feature sets written before XXH64)
    checksum: str


@dataclass(frozen=True)
class RowRef:
    """Where one cycle lives: a shard and a row in it."""

    shard: Shard
    row: int


def _decode(values: np.ndarray) -> np.ndarray:
    """Fixed-length UTF-8 byte strings (how the shards store text) as an object array of str."""
    return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values], dtype=object)


class FeatureSet:
    """A feature set directory: ``index.json`` plus its shards.

    ``path`` is the directory or its ``index.json``. The index's format is checked and every
    listed shard must exist. Attributes: ``name``, ``id``, ``frames``, ``bins``,
    ``normalisation`` (``kind``, ``mean``, ``std``, ``scale``: stored = (fbank - mean) / (scale * std)),
    ``options`` (the options that define the set: ``int``, ``float``, ``bool`` or ``str`` as
    ``index.json`` types them; indexes written by older ``prep`` hold every value as a string,
    e.g. ``"128"``, and read as they are), ``dtype`` (how ``fbank`` is
    stored: ``"float32"`` or ``"float16"``), ``rows_by_split``, ``shards``.
    """

    def __init__(self, path: Union[str, os.PathLike]):
        path = os.fspath(path)
        directory = os.path.dirname(path) if path.endswith(".json") else path
        index_path = os.path.join(directory, "index.json")
        try:
            with open(index_path, "r", encoding="utf-8") as handle:
                index = json.load(handle)
        except FileNotFoundError:
            raise FormatError(f"{index_path}: missing: not a complete feature set (run `prep features`)") from None
        except json.JSONDecodeError as error:
            raise FormatError(f"{index_path}: not JSON: {error}") from None
        if index.get("format") != FORMAT:
            raise FormatError(f"{index_path}: format {index.get('format')!r}, expected {FORMAT!r}")
        self.directory = directory
        self.index: Dict[str, Any] = index
        self.name: str = index["feature_set"]
        self.id: str = index["id"]
        self.frames: int = int(index["frames"])
        self.bins: int = int(index["bins"])
        self.normalisation: Dict[str, Any] = dict(index["normalisation"])
        self.options: Dict[str, Union[str, int, float, bool]] = dict(index.get("options", {}))
        self.dtype: str = str(self.options.get("dtype", "float32"))
        if self.dtype not in ("float32", "float16"):
            raise FormatError(f"{index_path}: fbank dtype {self.dtype!r}, expected float32 or float16")
        self.rows_by_split: Dict[str, int] = {k: int(v) for k, v in index["rows_by_split"].items()}
        self.shards: List[Shard] = [
            Shard(file=s["file"], path=os.path.join(directory, s["file"]), split=s["split"], rows=int(s["rows"]),
                  bytes=int(s["bytes"]), checksum_algorithm="xxh64" if "xxh64" in s else "sha256",
                  checksum=s["xxh64"] if "xxh64" in s else s["sha256"])
            for s in index["shards"]
        ]
        missing = [s.path for s in self.shards if not os.path.exists(s.path)]
        if missing:
            raise FormatError(f"{directory}: shard(s) listed in index.json are missing: {', '.join(missing)}")

    def __repr__(self) -> str:
        rows = ", ".join(f"{k} {v}" for k, v in sorted(self.rows_by_split.items(), reverse=True))
        return (f"FeatureSet({self.name!r}: {self.frames} frames x {self.bins} bins {self.dtype}, {rows}; "
                f"{len(self.shards)} shards; normalisation {self.normalisation.get('kind')})")

    def __len__(self) -> int:
        return sum(s.rows for s in self.shards)

    @property
    def splits(self) -> List[str]:
        """Splits that have rows, in shard order."""
        return list(dict.fromkeys(s.split for s in self.shards))

    def shards_of(self, split: Optional[str] = None) -> List[Shard]:
        """Shards of one split (``None``: all), in index order."""
        if split is not None and split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: one of {', '.join(SPLITS)} (or None for all)")
        return [s for s in self.shards if split is None or s.split == split]

    def rows(self, split: Optional[str] = None) -> List[RowRef]:
        """Every row of a split (``None``: all), in stored order."""
        return [RowRef(shard, row) for shard in self.shards_of(split) for row in range(shard.rows)]

    def _column(self, name: str, split: Optional[str]) -> np.ndarray:
        parts = []
        for shard in self.shards_of(split):
            with h5py.File(shard.path, "r") as f:
                parts.append(f[name][()])
        if not parts:
            return np.array([], dtype=object if name in _STRING_FIELDS else np.int64)
        column = np.concatenate(parts)
        return _decode(column) if name in _STRING_FIELDS else column

    def labels(self, split: Optional[str] = None) -> np.ndarray:
        """4-class labels (int64) of a split's rows, in stored order."""
        return self._column(LABEL, split).astype(np.int64)

    def class_counts(self, split: Optional[str] = None) -> Dict[str, int]:
        """Rows per class name."""
        counts = np.bincount(self.labels(split), minlength=len(CLASSES))
        return {name: int(counts[i]) for i, name in enumerate(CLASSES)}

    def metadata(self, split: Optional[str] = None) -> Dict[str, np.ndarray]:
        """Every per-row dataset of a split as one array each (text as ``str``), plus
        ``label``, ``shard`` (file name) and ``row`` (row within the shard)."""
        columns = {name: self._column(name, split) for name in (LABEL,) + METADATA_FIELDS}
        refs = self.rows(split)
        columns["shard"] = np.array([r.shard.file for r in refs], dtype=object)
        columns["row"] = np.array([r.row for r in refs], dtype=np.int64)
        return columns

    def denormalise(self, fbank: np.ndarray) -> np.ndarray:
        """Stored (normalised) values back to raw log mel energies: ``x * scale * std + mean``."""
        n = self.normalisation
        return (fbank * np.float32(n["scale"] * n["std"]) + np.float32(n["mean"])).astype(np.float32)

    def verify(self, checksums: bool = True, sha256: Optional[bool] = None) -> List[str]:
        """Problems found (empty: sound): sizes, checksums, shapes and ownership against the index.

        ``sha256`` is the old name of ``checksums`` (kept so existing calls work).

        Checksums are XXH64 (``xxhsum -H1``; needs the ``xxhash`` module: Debian
        ``python3-xxhash`` or ``pip install xxhash``) or, for older feature sets, SHA-256.
        """
        if sha256 is not None:
            checksums = sha256
        problems = []
        for shard in self.shards:
            size = os.path.getsize(shard.path)
            if size != shard.bytes:
                problems.append(f"{shard.path}: {size} bytes, index says {shard.bytes}")
            if checksums:
                digest = _hasher(shard.checksum_algorithm)
                with open(shard.path, "rb") as handle:
                    for block in iter(lambda: handle.read(4 << 20), b""):
                        digest.update(block)
                if digest.hexdigest() != shard.checksum:
                    name = {"xxh64": "XXH64", "sha256": "SHA-256"}[shard.checksum_algorithm]
                    problems.append(f"{shard.path}: {name} differs from the index")
            with h5py.File(shard.path, "r") as f:
                if f[FBANK].shape != (shard.rows, self.frames, self.bins):
                    problems.append(f"{shard.path}: fbank shape {f['fbank'].shape}, "
                                    f"index says {(shard.rows, self.frames, self.bins)}")
                if f[FBANK].dtype != np.dtype(self.dtype):
                    problems.append(f"{shard.path}: fbank is {f['fbank'].dtype}, index says {self.dtype}")
                owner = f.attrs.get("feature_set_id")
                owner = owner.decode() if isinstance(owner, bytes) else owner
                if owner != self.id:
                    problems.append(f"{shard.path}: belongs to feature set {owner!r}, not {self.id!r}")
        return problems


def _hasher(algorithm: str) -> Any:
    """A streaming hasher for an index checksum algorithm."""
    if algorithm == "sha256":
        return hashlib.sha256()
    try:
        import xxhash
    except ImportError as error:
        raise ImportError("verifying XXH64 shard checksums needs the xxhash module: "
                          "apt install python3-xxhash (Debian) or pip install xxhash") from error
    return xxhash.xxh64()


class ShardDataset:
    """A PyTorch-style map dataset over one split of a feature set.

    ``dataset[i]`` is ``(fbank, label, metadata)``: ``fbank`` float32 ``[frames, bins]`` (a
    ``torch.Tensor`` when PyTorch is importable and ``as_tensor`` is not False, else a numpy
    array), ``label`` the 4-class label as int, ``metadata`` a dict of plain Python values
    (``cycle_id``, ``recording``, ``patient``, ``label2``, ``crackle``, ``wheeze``, ``split``,
    ``fold``, ``device``, ``location``, ``start``, ``end``, ``label_name``, ``shard``, ``row``).

    Args:
        path: a feature set directory (or its ``index.json``), or a ``FeatureSet``.
        split: ``"train"``, ``"test"``, ``"unassigned"``, or ``None`` for every row.
        normalised: True (default) gives the stored values, as the paper's model takes them;
            False gives raw log mel energies (``FeatureSet.denormalise``).
        transform: called on the numpy fbank before the tensor conversion (e.g. augmentation).
        as_tensor: None (default): tensors if PyTorch is importable; True: require PyTorch;
            False: always numpy.

    Labels and metadata are read once, up front (a few hundred kB for the full corpus); fbank rows
    are read on demand, one contiguous read each (float16 shards are widened to float32, exactly). Shard files are opened lazily and per process, so
    DataLoader workers each open their own handles.
    """

    def __init__(self, path: Union[str, os.PathLike, FeatureSet], split: Optional[str] = "train",
                 normalised: bool = True, transform: Optional[Callable[[np.ndarray], Any]] = None,
                 as_tensor: Optional[bool] = None):
        self.feature_set = path if isinstance(path, FeatureSet) else FeatureSet(path)
        if as_tensor and torch is None:
            raise ImportError("as_tensor=True needs PyTorch, which is not importable")
        self.split = split
        self.normalised = normalised
        self.transform = transform
        self.as_tensor = torch is not None if as_tensor is None else as_tensor
        self._rows: Sequence[RowRef] = self.feature_set.rows(split)
        columns = self.feature_set.metadata(split)
        #: 4-class labels of every row (int64), e.g. for a weighted sampler.
        self.labels: np.ndarray = columns[LABEL].astype(np.int64)
        self._metadata = columns
        self._files: Dict[str, h5py.File] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"ShardDataset({self.feature_set.name!r}, split={self.split!r}, rows={len(self)})"

    def _file(self, shard: Shard) -> h5py.File:
        if os.getpid() != self._pid:  # a forked worker: never use the parent's HDF5 handles
            self._files = {}
            self._pid = os.getpid()
        handle = self._files.get(shard.path)
        if handle is None:
            handle = h5py.File(shard.path, "r")
            fbank = handle[FBANK]
            if fbank.shape != (shard.rows, self.feature_set.frames, self.feature_set.bins):
                raise FormatError(f"{shard.path}: fbank shape {fbank.shape} does not match index.json")
            self._files[shard.path] = handle
        return handle

    def fbank(self, index: int) -> np.ndarray:
        """The row's fbank as float32 numpy ``[frames, bins]`` (normalised as configured, no transform;
        float16 shards widened exactly)."""
        ref = self._rows[index]
        values = np.asarray(self._file(ref.shard)[FBANK][ref.row], dtype=np.float32)
        return values if self.normalised else self.feature_set.denormalise(values)

    def metadata(self, index: int) -> Dict[str, Any]:
        """The row's metadata as plain Python values."""
        item = {name: self._metadata[name][index].item() if hasattr(self._metadata[name][index], "item")
                else self._metadata[name][index] for name in METADATA_FIELDS + ("shard", "row")}
        item["label_name"] = CLASSES[int(self.labels[index])]
        return item

    def __getitem__(self, index: int):
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an integer, not {type(index).__name__}")
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"row {index} out of range for {len(self)} rows")
        x = self.fbank(index)
        if self.transform is not None:
            x = self.transform(x)
        if self.as_tensor and isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        return x, int(self.labels[index]), self.metadata(index)

    def close(self) -> None:
        """Closes this process's shard handles (they reopen on the next access)."""
        for handle in self._files.values():
            handle.close()
        self._files = {}

    def __getstate__(self):  # pickled to spawned workers without open handles
        state = dict(self.__dict__)
        state["_files"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._pid = os.getpid()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Summarise (and verify) an ICBHI feature set.")
    parser.add_argument("feature_set", help="feature set directory (with index.json)")
    parser.add_argument("--verify", action="store_true", help="re-check sizes, checksums (XXH64 or SHA-256) and shapes")
    args = parser.parse_args(argv)
    features = FeatureSet(args.feature_set)
    print(features)
    for split in features.splits:
        print(f"  {split}: {features.class_counts(split)}")
    if args.verify:
        problems = features.verify()
        for problem in problems:
            print(f"  FAILED: {problem}")
        print("ok" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    return 0

