"""A drop-in for the ``ICBHIDataset`` of the Patch-Mix CL paper code and of its forks, served from a feature set.

The paper code (``raymin0223/patch-mix_contrastive_learning``) and every follow-up built on it share
``util/icbhi_dataset.py``, whose ``ICBHIDataset(train_flag, transform, args, print_flag=True,
mean_std=False)`` decodes, resamples, fades, cuts, pads and computes a Kaldi fbank for every
breathing cycle on every run, and keeps every fbank in memory. The classes here take the same
arguments and give the same items, attributes and printed summary, but read the fbanks that
``prep features`` already computed, one row when it is asked for::

    os.environ["ICBHI_FEATURE_SET"] = "cache/icbhi-16k-8s-fbank128-reference-3fa2c19b"
    from icbhi_shards.paper import ICBHIDataset          # instead of util.icbhi_dataset
    train = ICBHIDataset(train_flag=True, transform=train_transform, args=args, print_flag=True)

or, without touching the paper code at all, ``python -m icbhi_shards.run_paper_code``.

Two flavours:

* ``ICBHIDataset`` (flavour ``"paper"``, the paper code at commit 836b09f): items are
  ``(audio_image, label, metadata)``.
* ``SGSCLICBHIDataset`` (flavour ``"sg-scl"``, ``kaen2891/stethoscope-guided_supervised_contrastive_learning``,
  the base of SG-SCL and DAT): items are ``(audio_image, label)``, or ``(audio_image, (label,
  meta_label))`` for the training set when ``args.meta_mode`` is not ``"none"``.

What the items are (both flavours, as their ``__getitem__`` returns them):

* ``audio_image``: float32 numpy ``[frames, n_mels, 1]`` (``[798, 128, 1]`` for 8 s), the value
  of the paper's ``generate_fbank``: the Kaldi fbank normalised with the AudioSet statistics
  ``(fbank + 4.2677393) / (2 * 4.5689974)``; then ``transform`` applied. The SG-SCL flavour with
  ``args.model != "ast"`` normalises each image by its own mean and (unbiased) standard
  deviation instead, as that fork does. ``args.blank_region_clip`` (paper flavour) is applied as
  the paper does it (needs OpenCV, as the paper does).
* ``label``: ``crackle + 2 * wheeze`` for ``args.n_cls == 4``, ``crackle or wheeze`` for 2.
* ``metadata`` (paper flavour): a float64 tensor of 7 values ``[age, sex, adult_BMI,
  child_weight, child_height, chest_location, device]`` from the patient's row of the paper's
  ``metadata.txt`` (sex: 0 for ``M``, else 1; chest location ``Tc Al Ar Pl Pr Ll Lr`` -> 0..6:
  the patient's row, not the recording's file name) and the device of the file name
  (``Meditron LittC2SE Litt3200 AKGC417L`` -> 0..3); missing values are -1. One tensor per
  recording, shared by its cycles, as in the paper code.
* ``meta_label`` (SG-SCL flavour), by ``args.meta_mode``: ``age`` 0 when ``int(age) >= 19``
  else 1 (missing age, -1, counts as a child), ``sex`` 0 for male else 1, ``loc`` the chest
  location id, ``dev`` the device id, ``label`` the class label.

Which cycles: every cycle of the feature set's recordings that the paper code would take:
``args.test_fold == "official"`` (anything but ``"0"``..``"4"``): recordings listed ``train`` or
``test`` in ``official_split.txt``; ``"0"``..``"4"``: patients of ``patient_list_foldwise.txt``
in (test) or not in (train) that fold; ``args.stetho_id >= 0`` (paper flavour) keeps one device.
Those files, and ``metadata.txt``, are read from ``<args.data_folder>/icbhi_dataset/`` when they
are there (where the paper code reads them), else from the copies in this package (the ones
``prep ingest`` uses). Items come in file-name order, then cycle order; the paper code's order
follows Python's set iteration (the hash seed), so compare items by content, not by position.

The feature set comes from ``args.feature_set`` if ``args`` has that attribute, else the
environment variable ``ICBHI_FEATURE_SET``. It must have been made with the options the paper
code computes with (16 kHz, ``--length`` = ``desired_length``, ``--pad`` = ``pad_types``,
``--num-mel-bins`` = ``n_mels``, the paper's fbank options, AudioSet normalisation, the
``reference`` resampler): any difference is refused, naming both values.

``args.raw_augment > 0`` (training set):

* SG-SCL flavour: served as that fork does it, from the cache's 16 kHz cycle audio
  (``audio16k/``): when the dataset is built, ``raw_augment`` chained nlpaug augmentations per
  cycle, each cut/padded again and turned into a torchaudio Kaldi fbank, held in memory (as the
  fork holds them: about 400 kB per image, and the build takes what the fork's augmentation
  takes); ``__getitem__`` picks ``random.randint(0, raw_augment)`` (0: the cached fbank). The
  draws from ``random`` and ``numpy.random`` are the fork's, in its order: seeded alike, both
  sides draw the same augmentations and leave the generators in the same state. See
  ``icbhi_shards.augment``; needs torchaudio, nlpaug and librosa.
* paper flavour: refused with a message. The paper code's own dataset cannot run it: it hands
  nlpaug the cycle as a ``[1, samples]`` torch tensor, and each of the five augmenters raises on
  that (librosa takes numpy arrays only; ``NoiseAug`` makes an FFT of length 0), so there is no
  behaviour to reproduce (``mean_std=True`` sets, where the paper skips augmentation, are served).

``args.class_split != "lungsound"`` is refused. ``args.concat_aug_scale`` has no effect, as in
the paper code and the fork (the call is commented out in the one and absent from the other).
``audio_data`` and ``cycle_list`` (the waveforms) are not held: they are sequences of the right
length whose items raise an error saying so.

Memory and speed: only the per-row labels and ids are read when the dataset is built; each fbank
is read when its item is asked for: a view of a copy-on-write memory map of the shard when it
stores ``fbank`` contiguously, as ``prep features`` writes it (no copy until the batch is stacked,
as with the paper's in-memory arrays; the mapped pages are page cache, shared and reclaimable),
h5py otherwise. An item costs under 1 microsecond of Python on top of that view. Safe with
``DataLoader`` workers (fork or spawn).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Sequence
from typing import Any, Callable, Dict, List, Optional, Tuple

import h5py
import numpy as np

from . import CRACKLE, FBANK, LABEL, WHEEZE, FeatureSet, Shard, torch

__all__ = ["ICBHIDataset", "SGSCLICBHIDataset", "PaperDatasetError", "FLAVOURS", "dataset_class",
           "resolve_feature_set", "DEVICE_TO_ID", "CHEST_LOCATION_TO_ID", "META_MODES"]

#: Flavours of ``util/icbhi_dataset.py`` served here.
FLAVOURS = ("paper", "sg-scl")
#: The paper code's device ids (its ``device_to_id``).
DEVICE_TO_ID = {"Meditron": 0, "LittC2SE": 1, "Litt3200": 2, "AKGC417L": 3}
#: The paper code's chest location ids (``metadata.txt``'s last column).
CHEST_LOCATION_TO_ID = {"Tc": 0, "Al": 1, "Ar": 2, "Pl": 3, "Pr": 4, "Ll": 5, "Lr": 6}
#: ``args.meta_mode`` values of the SG-SCL fork.
META_MODES = ("none", "age", "sex", "loc", "dev", "label")
#: The AudioSet statistics of the paper's ``generate_fbank``: ``(fbank - mean) / (2 * std)``.
AUDIOSET_MEAN, AUDIOSET_STD = -4.2677393, 4.5689974
#: The fixed options of the paper's ``generate_fbank`` (torchaudio ``compliance.kaldi.fbank`` with
#: ``htk_compat=True, use_energy=False, window_type='hanning', dither=0.0, frame_shift=10``, the
#: rest torchaudio's defaults), as a feature set's ``index.json`` names them.
PAPER_FBANK_OPTIONS: Dict[str, Any] = {
    "fbank_frameLengthMs": 25.0, "fbank_frameShiftMs": 10.0, "fbank_windowType": "hanning",
    "fbank_removeDCOffset": True, "fbank_preemphasisCoefficient": 0.97, "fbank_roundToPowerOfTwo": True,
    "fbank_snipEdges": True, "fbank_lowFreq": 20.0, "fbank_highFreq": 0.0, "fbank_useEnergy": False,
    "fbank_htkCompat": True, "fbank_usePower": True, "fbank_useLogFbank": True, "fbank_dither": 0.0,
}
_TEST_FOLDS = ["0", "1", "2", "3", "4"]
_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
# Strings pandas.read_csv reads as NaN by default (the paper reads metadata.txt with pandas).
_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
       "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}


class PaperDatasetError(ValueError):
    """The drop-in cannot serve what ``args`` asks for (no feature set, contradicting options, ...)."""


# ----------------------------------------------------------------------------------------------
# Inputs: the feature set, the ICBHI side files, the options check


def resolve_feature_set(args: Any) -> FeatureSet:
    """The feature set named by ``args.feature_set`` (if ``args`` has it) or ``$ICBHI_FEATURE_SET``."""
    path = getattr(args, "feature_set", None) if hasattr(args, "feature_set") else None
    source = "args.feature_set"
    if not path:
        path, source = os.environ.get("ICBHI_FEATURE_SET"), "ICBHI_FEATURE_SET"
    if not path:
        raise PaperDatasetError(
            "no feature set: set the environment variable ICBHI_FEATURE_SET (or args.feature_set) to a directory "
            "written by `prep features`, e.g. cache/icbhi-16k-8s-fbank128-reference-<id>")
    try:
        return FeatureSet(path)
    except (OSError, ValueError) as error:
        raise PaperDatasetError(f"{source}={path}: {error}") from None


def _side_file(args: Any, name: str) -> str:
    """``<args.data_folder>/icbhi_dataset/<name>`` when it exists (what the paper code reads), else the packaged copy."""
    folder = getattr(args, "data_folder", None)
    if folder:
        path = os.path.join(folder, "icbhi_dataset", name)
        if os.path.isfile(path):
            return path
    return os.path.join(_DATA, name)


def _na_float(text: str) -> float:
    return math.nan if text.strip() in _NA else float(text)


def read_metadata_table(path: str) -> Dict[int, List[Any]]:
    """The paper's ``metadata.txt`` (``patient age sex adult_BMI child_weight child_height
    chest_location``, tab-separated, ``NA`` for missing) as the paper code reads it with pandas:
    patient -> ``[age, sex, adult_BMI, child_weight, child_height, chest_location]`` with numbers
    as floats (NaN for missing), sex as its text (or NaN), the location as its id (or NaN)."""
    table: Dict[int, List[Any]] = {}
    with open(path, "r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 7:
                raise PaperDatasetError(f"{path}:{number}: {len(fields)} fields, expected 7 (patient and 6 values)")
            location = fields[6].strip()
            table[int(fields[0])] = [
                _na_float(fields[1]), math.nan if fields[2].strip() in _NA else fields[2].strip(),
                _na_float(fields[3]), _na_float(fields[4]), _na_float(fields[5]),
                math.nan if location in _NA else CHEST_LOCATION_TO_ID.get(location, location)]
    return table


def _metadata_vector(row: List[Any], device_id: int, where: str) -> np.ndarray:
    """The paper's 7 metadata values: the row, sex 0 for ``M`` else 1, NaN -> -1, then the device id."""
    info = list(row)
    info[1] = 0 if info[1] == "M" else 1
    if isinstance(info[5], str):
        raise PaperDatasetError(f"{where}: chest location {info[5]!r} is none of {', '.join(CHEST_LOCATION_TO_ID)}")
    values = np.array(info, dtype=np.float64)
    values[np.isnan(values)] = -1
    return np.append(values, device_id)


def _option(options: Dict[str, Any], key: str) -> Any:
    """An ``index.json`` option, typed (older indexes hold every value as a string)."""
    value = options.get(key)
    if isinstance(value, str):
        if value in ("true", "false"):
            return value == "true"
        try:
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
        except ValueError:
            return value
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return bool(a) == bool(b) if isinstance(a, (bool, int)) and isinstance(b, (bool, int)) else False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)
    return a == b


def _check(features: FeatureSet, args: Any, flavour: str, train_flag: bool, mean_std: bool) -> None:
    """Every way the feature set or ``args`` contradicts what the paper code would compute, as one error."""
    problems: List[str] = []
    options = features.options

    def compare(what: str, wanted: Any, key: str) -> None:
        have = _option(options, key)
        if not _same(have, wanted):
            problems.append(f"{what} asks for {wanted!r} but the feature set's {key} is {have!r}")

    sample_rate = getattr(args, "sample_rate", None)
    if sample_rate != 16000:
        problems.append(f"args.sample_rate is {sample_rate!r}: the paper's generate_fbank needs 16000 "
                        "('input audio sampling rate must be 16kHz')")
    else:
        compare("args.sample_rate", 16000.0, "fbank_sampleFrequency")
        desired = getattr(args, "desired_length", None)
        compare(f"args.desired_length={desired!r} s", None if desired is None else desired * sample_rate,
                "length_samples")
        pad = getattr(args, "pad_types", None)
        if pad not in ("repeat", "zero"):
            problems.append(f"args.pad_types is {pad!r}: the paper's cut_pad_sample_torchaudio pads 'repeat' or 'zero' only")
        else:
            compare("args.pad_types", pad, "pad")
            if pad == "repeat":
                compare("the paper's fade-out after repeat padding", sample_rate // 16, "pad_fade_out_samples")
    compare("args.n_mels", getattr(args, "n_mels", None), "fbank_numMelBins")
    for key, wanted in PAPER_FBANK_OPTIONS.items():
        compare("the paper's generate_fbank", wanted, key)
    audioset = flavour == "paper" or getattr(args, "model", "ast") == "ast"
    norm = features.normalisation
    if audioset and not (norm.get("kind") == "audioset" and _same(norm.get("mean"), AUDIOSET_MEAN)
                         and _same(norm.get("std"), AUDIOSET_STD) and _same(norm.get("scale"), 2)):
        problems.append(f"the paper's generate_fbank normalises with AudioSet's statistics (prep features --norm audioset) "
                        f"but the feature set's normalisation is {norm.get('kind')!r}")
    resampler = features.index.get("source", {}).get("resampler", _option(options, "resampler"))
    if resampler not in (None, "reference"):
        problems.append(f"the paper resamples with torchaudio's default resampler (prep ingest --resampler reference) "
                        f"but the feature set was made with {resampler!r}")
    class_split = getattr(args, "class_split", "lungsound")
    if class_split != "lungsound":
        problems.append(f"args.class_split is {class_split!r}: only 'lungsound' (crackle/wheeze labels) is served")
    n_cls = getattr(args, "n_cls", None)
    four = n_cls == 4 or (flavour == "sg-scl" and getattr(args, "method", None) == "mscl")
    if not four and n_cls != 2:
        problems.append(f"args.n_cls is {n_cls!r}: lungsound labels have 4 classes (normal, crackle, wheeze, both) or 2")
    if flavour == "sg-scl" and getattr(args, "meta_mode", "none") not in META_MODES:
        problems.append(f"args.meta_mode is {getattr(args, 'meta_mode', None)!r}: one of {', '.join(META_MODES)}")
    raw_augment = getattr(args, "raw_augment", 0) or 0
    if raw_augment and train_flag and flavour == "paper" and not mean_std:
        problems.append(f"args.raw_augment={raw_augment} is not served for the paper code: its own ICBHIDataset cannot run it "
                        "(util/icbhi_dataset.py hands each cycle to nlpaug as a [1, samples] torch tensor, and every one "
                        "of augment_raw_audio's five augmenters raises on that: librosa accepts numpy arrays only, NoiseAug "
                        "makes an FFT of length 0), so there is no behaviour to reproduce; use --raw_augment 0 (the "
                        "paper's default and its reported setting), or the SG-SCL fork, whose dataset converts the "
                        "waveform first and whose flavour serves raw_augment from the cached cycle audio")
    elif raw_augment and train_flag and flavour == "sg-scl":
        from . import augment

        missing = augment.requirements_problem()
        if missing:
            problems.append(f"args.raw_augment={raw_augment} {missing}")
        else:
            try:
                augment.audio_directory(features)
            except augment.AugmentationError as error:
                problems.append(f"args.raw_augment={raw_augment}: {error}")
    if problems:
        raise PaperDatasetError(f"feature set {features.directory} cannot stand in for the paper's ICBHIDataset:\n  - "
                                + "\n  - ".join(problems))


# ----------------------------------------------------------------------------------------------
# Reading rows


class _RowReader:
    """Reads the fbank rows of one dataset's items.

    A shard whose ``fbank`` is stored contiguously (as ``prep features`` writes it without
    ``--compress``: one block, 4 KiB aligned, after the row datasets) is memory-mapped
    copy-on-write once per process, as a plain ``[rows, frames, bins, 1]`` array: an item is a
    view of it (no copy until the ``DataLoader`` stacks its batch, as with the paper's in-memory
    arrays; like those, a transform that writes into the array in place changes what this process
    sees next time, and the file never). The mapped pages are page cache: shared between
    processes, reclaimable, counted in the RSS of the processes that touched them. On the first
    read of a shard the kernel is asked to read the whole mapping ahead (``MADV_WILLNEED``: a
    training epoch reads every row, in shuffled order, which its own readahead cannot guess).
    Maps survive ``fork`` (``DataLoader`` workers use the parent's); chunked (``--compress``)
    shards are read through h5py, opened per process. Nothing open when pickled.

    Item ``i`` is row ``row_of[i]`` of ``shards[shard_of[i]]``; ``item(i)`` gives it as
    ``[frames, bins, 1]`` float32 (float16 widened exactly, into a new array)."""

    def __init__(self, features: FeatureSet, shards: List[Shard], shard_of: List[int], row_of: List[int]):
        self.features = features
        self.shards = shards
        self._items = list(zip(shard_of, row_of))
        self._maps: List[Optional[np.ndarray]] = [None] * len(shards)
        self._h5: Dict[int, Any] = {}
        self._h5_pid: Optional[int] = None

    def item(self, index: int) -> np.ndarray:
        shard, row = self._items[index]
        rows = self._maps[shard]
        if rows is None:
            rows = self._open(shard)
        values = rows[row]
        return values if values.dtype == np.float32 else _widen(values)

    def _open(self, k: int) -> Any:
        shard = self.shards[k]
        if self._h5_pid != os.getpid():  # a forked worker: never use the parent's HDF5 handles
            self._h5, self._h5_pid = {}, os.getpid()
        if k in self._h5:
            return self._h5[k]
        handle = h5py.File(shard.path, "r")
        dataset = handle[FBANK]
        shape = (shard.rows, self.features.frames, self.features.bins)
        if dataset.shape != shape:
            handle.close()
            raise PaperDatasetError(f"{shard.path}: fbank shape {dataset.shape} does not match index.json {shape}")
        offset = dataset.id.get_offset() if dataset.chunks is None else None
        if offset is not None and dataset.dtype.byteorder in ("<", "=", "|"):
            mapped = np.memmap(shard.path, dtype=dataset.dtype.newbyteorder("<"), mode="c", offset=offset,
                               shape=shape + (1,))
            handle.close()
            _read_ahead(mapped)
            self._maps[k] = mapped.view(np.ndarray)  # plain indexing (the view keeps the map alive)
            return self._maps[k]
        self._h5[k] = _H5Rows(handle, dataset)
        return self._h5[k]

    def is_open(self) -> bool:
        """Whether this process has read any row."""
        return any(m is not None for m in self._maps) or bool(self._h5)

    def close(self) -> None:
        """Unmaps and closes this process's files (they reopen on the next read)."""
        for source in self._h5.values():
            source.handle.close()
        self._maps, self._h5 = [None] * len(self.shards), {}

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_maps=[None] * len(self.shards), _h5={}, _h5_pid=None)
        return state


def _widen(values: np.ndarray) -> np.ndarray:
    """float16 -> float32 (exact), into a new array: through torch when it is there (its conversion is
    vectorised: about 5x numpy's ``astype`` for a [798, 128] row)."""
    if torch is None:
        return values.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(values)).to(torch.float32).numpy()


class _H5Rows:
    """A chunked shard's ``fbank`` through h5py: ``rows[r]`` is ``[frames, bins, 1]``."""

    def __init__(self, handle: Any, dataset: Any):
        self.handle, self.dataset = handle, dataset

    def __getitem__(self, row: int) -> np.ndarray:
        return self.dataset[row][..., np.newaxis]


def _read_ahead(mapped: np.memmap) -> None:
    """Asks the kernel to read a mapped shard into the page cache now, asynchronously (best effort)."""
    import mmap

    handle = getattr(mapped, "_mmap", None)
    if handle is not None and hasattr(handle, "madvise") and hasattr(mmap, "MADV_WILLNEED"):
        try:
            handle.madvise(mmap.MADV_WILLNEED)
        except OSError:
            pass


class _Images(Sequence):
    """``audio_images`` without holding them: item ``i`` is what the paper code keeps there."""

    def __init__(self, dataset: "ICBHIDataset"):
        self._dataset = dataset

    def __len__(self) -> int:
        return len(self._dataset)

    def __getitem__(self, index: int):
        return self._dataset._audio_images_entry(index)


class _Waveforms(Sequence):
    """``audio_data`` / ``cycle_list``: the right length; the waveforms themselves are not served."""

    def __init__(self, dataset: "ICBHIDataset", name: str):
        self._dataset, self._name = dataset, name

    def __len__(self) -> int:
        return len(self._dataset)

    def __getitem__(self, index: int):
        raise PaperDatasetError(f"{self._name}[{index}]: the drop-in serves fbanks from the feature set, not waveforms "
                                "(their cycle audio is in the cache's audio16k/ files)")


# ----------------------------------------------------------------------------------------------
# The datasets


class ICBHIDataset:
    """The paper code's ``ICBHIDataset`` (``util/icbhi_dataset.py``), served from a feature set.

    Same constructor, items, attributes and printed summary; see the module's documentation.
    Attributes the paper code has: ``data_folder``, ``train_flag``, ``split``, ``transform``,
    ``args``, ``mean_std``, ``sample_rate``, ``desired_length``, ``pad_types``, ``nfft``, ``hop``,
    ``n_mels``, ``f_min``, ``f_max``, ``dump_images``, ``file_to_device``, ``device_to_id``,
    ``device_id_to_patient``, ``file_to_metadata``, ``filenames``, ``metadata``, ``labels``,
    ``filename_to_label``, ``classwise_cycle_list`` (``(None, label, metadata)`` per cycle: no
    waveform), ``class_nums``, ``class_ratio``, ``audio_images`` (computed per item), ``h``, ``w``;
    ``audio_data`` and ``cycle_list`` have the right length but hold no waveforms. Added:
    ``feature_set`` and ``cycle_ids`` (``<stem>#<k>`` per item).
    """

    flavour = "paper"

    def __init__(self, train_flag: bool, transform: Optional[Callable[[np.ndarray], Any]], args: Any,
                 print_flag: bool = True, mean_std: bool = False):
        features = resolve_feature_set(args)
        _check(features, args, self.flavour, train_flag, mean_std)
        test_fold = args.test_fold
        self.feature_set = features
        self.data_folder = os.path.join(getattr(args, "data_folder", "") or "", "icbhi_dataset/audio_test_data")
        self.train_flag = train_flag
        self.split = "train" if train_flag else "test"
        self.transform = transform
        self.args = args
        self.mean_std = mean_std
        self.sample_rate = args.sample_rate
        self.n_mels = args.n_mels
        self._set_spectrogram_attributes(args)

        # Every recording of the feature set, as the paper lists the data folder's files.
        columns = features.metadata(None)
        recordings = sorted(set(columns["recording"]))
        self.device_to_id = dict(DEVICE_TO_ID)
        self.device_id_to_patient: Dict[int, List[str]] = {0: [], 1: [], 2: [], 3: []}
        self.file_to_device: Dict[str, int] = {}
        for stem in recordings:
            device = stem.strip().split("_")[-1]
            if device not in DEVICE_TO_ID:
                raise PaperDatasetError(f"recording {stem}: device {device!r} is none of {', '.join(DEVICE_TO_ID)}")
            self.file_to_device[stem] = DEVICE_TO_ID[device]
            patient = stem.split("_")[0]
            if patient not in self.device_id_to_patient[DEVICE_TO_ID[device]]:
                self.device_id_to_patient[DEVICE_TO_ID[device]].append(patient)
        metadata_path = _side_file(args, "metadata.txt")
        table = read_metadata_table(metadata_path)
        self.file_to_metadata: Dict[str, Any] = {}
        for stem in recordings:
            patient = int(stem.split("_")[0])
            if patient not in table:
                raise PaperDatasetError(f"recording {stem}: patient {patient} has no row in {metadata_path}")
            vector = _metadata_vector(table[patient], self.file_to_device[stem], f"{metadata_path}, patient {patient}")
            self.file_to_metadata[stem] = torch.tensor(vector) if torch is not None else vector

        # The split, exactly as the paper decides it.
        patient_dict: Dict[str, str] = {}
        if test_fold in _TEST_FOLDS:
            with open(_side_file(args, "patient_list_foldwise.txt"), "r", encoding="utf-8") as handle:
                for line in handle.read().splitlines():
                    idx, fold = line.strip().split(" ")
                    if train_flag and int(fold) != int(test_fold):
                        patient_dict[idx] = fold
                    elif not train_flag and int(fold) == int(test_fold):
                        patient_dict[idx] = fold
            if print_flag:
                print("*" * 20)
                print("Train and test 80-20% split with test_fold {}".format(test_fold))
                print("Patience number in {} dataset: {}".format(self.split, len(patient_dict)))
        else:
            with open(_side_file(args, "official_split.txt"), "r", encoding="utf-8") as handle:
                for line in handle.read().splitlines():
                    fpath, fold = line.strip().split("\t")
                    if train_flag and fold == "train":
                        patient_dict[fpath] = fold
                    elif not train_flag and fold == "test":
                        patient_dict[fpath] = fold
            if print_flag:
                print("*" * 20)
                print("Train and test 60-40% split with test_fold {}".format(test_fold))
                print("File number in {} dataset: {}".format(self.split, len(patient_dict)))

        self.filenames: List[str] = []
        for stem in recordings:
            idx = stem.split("_")[0] if test_fold in _TEST_FOLDS else stem
            if idx in patient_dict and self._keeps_device(self.file_to_device[stem]):
                self.filenames.append(stem)
        if print_flag:
            print("*" * 20)
            print("Extracting individual breathing cycles..")

        # Rows of those recordings, in file then cycle order.
        chosen = set(self.filenames)
        rows = [i for i, stem in enumerate(columns["recording"]) if stem in chosen]
        rows.sort(key=lambda i: (columns["recording"][i], int(str(columns["cycle_id"][i]).rsplit("#", 1)[1])))
        four = args.n_cls == 4 or (self.flavour == "sg-scl" and getattr(args, "method", None) == "mscl")
        label_column = columns[LABEL] if four else (columns[CRACKLE].astype(np.int64) | columns[WHEEZE].astype(np.int64))
        refs = features.rows(None)
        shards = list(dict.fromkeys(refs[i].shard for i in rows))
        shard_number = {shard.path: k for k, shard in enumerate(shards)}
        self.cycle_ids: List[str] = [str(columns["cycle_id"][i]) for i in rows]
        self.labels: List[int] = [int(label_column[i]) for i in rows]
        self.metadata: List[Any] = [self.file_to_metadata[columns["recording"][i]] for i in rows]
        self._reader = _RowReader(features, shards, [shard_number[refs[i].shard.path] for i in rows],
                                  [refs[i].row for i in rows])
        self.h, self.w = features.frames, features.bins
        self._clip = bool(getattr(args, "blank_region_clip", False))
        self._finish(args, print_flag)

    # -- flavour hooks -------------------------------------------------------------------------

    def _set_spectrogram_attributes(self, args: Any) -> None:
        self.desired_length = args.desired_length
        self.pad_types = args.pad_types
        self.nfft = getattr(args, "nfft", 1024)
        self.hop = self.nfft // 2
        self.f_min = 50
        self.f_max = 2000
        self.dump_images = False

    def _keeps_device(self, device_id: int) -> bool:
        stetho_id = getattr(self.args, "stetho_id", -1)
        return stetho_id < 0 or device_id == stetho_id

    def _finish(self, args: Any, print_flag: bool) -> None:
        self.filename_to_label: Dict[str, List[int]] = {stem: [] for stem in self.filenames}
        self.classwise_cycle_list: List[List[Tuple[Any, int, Any]]] = [[] for _ in range(args.n_cls)]
        for cycle_id, label, meta in zip(self.cycle_ids, self.labels, self.metadata):
            self.filename_to_label[cycle_id.rsplit("#", 1)[0]].append(label)
            self.classwise_cycle_list[label].append((None, label, meta))
        self.audio_data = _Waveforms(self, "audio_data")
        self.cycle_list = _Waveforms(self, "cycle_list")
        self.class_nums = np.zeros(args.n_cls)
        for label in self.labels:
            self.class_nums[label] += 1
        self.class_ratio = self.class_nums / sum(self.class_nums) * 100
        if print_flag:
            print("[Preprocessed {} dataset information]".format(self.split))
            print("total number of audio data: {}".format(len(self.labels)))
            for i, (n, p) in enumerate(zip(self.class_nums, self.class_ratio)):
                print("Class {} {:<9}: {:<4} ({:.1f}%)".format(i, "(" + args.cls_list[i] + ")", int(n), p))
        self.audio_images = _Images(self)
        if getattr(args, "blank_region_clip", False) and len(self) > 0:
            self.h, self.w, _ = self.audio_image(0).shape

    def audio_image(self, index: int) -> np.ndarray:
        """Item ``index``'s image before ``transform``: float32 ``[frames, n_mels, 1]``, the paper's ``generate_fbank``."""
        image = self._reader.item(index)
        if self._clip:
            image = _blank_region_clip(image, self.n_mels)
        return image

    def _audio_images_entry(self, index: int):
        return ([self.audio_image(index)] + [None] * (getattr(self.args, "raw_augment", 0) or 0), self.labels[index])

    # -- the Dataset protocol ------------------------------------------------------------------

    def __getitem__(self, index: int):
        audio_image = self.audio_image(index)
        if self.transform is not None:
            audio_image = self.transform(audio_image)
        return audio_image, self.labels[index], self.metadata[index]

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.split}, {len(self)} cycles, test_fold={self.args.test_fold!r}, "
                f"feature set {self.feature_set.name!r})")


def _blank_region_clip(image: np.ndarray, n_mels: int) -> np.ndarray:
    """The paper's ``blank_region_clip``: drop the leading rows whose values are mostly below 10,
    then resize back to ``n_mels`` rows with OpenCV (bilinear), as its ``__init__`` does."""
    import cv2  # the paper code needs OpenCV for this too

    copy = image.copy()
    copy[copy < 10] = 0
    row = 0
    for row in range(copy.shape[0]):
        if len(np.where(copy[row, :] == 0)[0]) / len(copy[row, :]) < 0.80:
            break
    if row + 1 < image.shape[0]:
        image = image[row + 1:, :, :]
    image = cv2.resize(image, (image.shape[1], n_mels), interpolation=cv2.INTER_LINEAR)
    return image[..., np.newaxis]


class SGSCLICBHIDataset(ICBHIDataset):
    """The SG-SCL fork's ``ICBHIDataset`` (``kaen2891/stethoscope-guided_supervised_contrastive_learning``),
    served from a feature set.

    Items: ``(audio_image, label)``; for the training set with ``args.meta_mode != "none"``,
    ``(audio_image, (label, meta_label))``. Its ``generate_fbank`` uses the AudioSet statistics for
    ``args.model == "ast"`` and each image's own mean and standard deviation otherwise; labels
    are 4-class for ``n_cls == 4`` or ``method == "mscl"``. Extra attributes as in that fork:
    ``meta_labels`` (per item), ``domain_nums`` and ``domain_ratio`` (when ``args.m_cls``; counted
    under ``--domain_adaptation``/``--domain_adaptation2``). ``stetho_id`` is not used (the fork
    does not), nor ``blank_region_clip``.
    """

    flavour = "sg-scl"

    def _set_spectrogram_attributes(self, args: Any) -> None:
        pass

    def _keeps_device(self, device_id: int) -> bool:
        return True

    def _finish(self, args: Any, print_flag: bool) -> None:
        mode = getattr(args, "meta_mode", "none")
        self.meta_labels: List[Optional[int]] = [_meta_label(meta, label, mode) for meta, label in zip(self.metadata, self.labels)]
        self.audio_data = _Waveforms(self, "audio_data")
        self.cycle_list = _Waveforms(self, "cycle_list")
        adapting = getattr(args, "domain_adaptation", False) or getattr(args, "domain_adaptation2", False)
        m_cls = getattr(args, "m_cls", 0)
        self.class_nums = np.zeros(args.n_cls)
        if m_cls:
            self.domain_nums = np.zeros(m_cls)
        for label, meta_label in zip(self.labels, self.meta_labels):
            self.class_nums[label] += 1
            if adapting:
                self.domain_nums[meta_label] += 1
        self.class_ratio = self.class_nums / sum(self.class_nums) * 100
        if m_cls:
            with np.errstate(invalid="ignore", divide="ignore"):
                self.domain_ratio = self.domain_nums / sum(self.domain_nums) * 100
        if print_flag:
            print("[Preprocessed {} dataset information]".format(self.split))
            print("total number of audio data: {}".format(len(self.labels)))
            print("*" * 25)
            print("For the Label Distribution")
            for i, (n, p) in enumerate(zip(self.class_nums, self.class_ratio)):
                print("Class {} {:<9}: {:<4} ({:.1f}%)".format(i, "(" + args.cls_list[i] + ")", int(n), p))
            if adapting:
                print("*" * 25)
                print("For the Meta Label Distribution")
                for i, (n, p) in enumerate(zip(self.domain_nums, self.domain_ratio)):
                    print("Class {} {:<9}: {:<4} ({:.1f}%)".format(i, "(" + args.meta_cls_list[i] + ")", int(n), p))
        self._raw_augment = getattr(args, "raw_augment", 0) or 0
        #: Per item, the ``raw_augment`` augmented images (training set only), made now as the fork makes them.
        self.augmented_images: List[List[np.ndarray]] = self._augment() if self._raw_augment and self.train_flag else []
        self.audio_images = _Images(self)

    def _augment(self) -> List[List[np.ndarray]]:
        """The fork's augmented images of every item, in item order (which is the fork's: file names
        sorted, then cycles), drawing from ``random`` and ``numpy.random`` exactly as it does."""
        from . import augment

        cycles = augment.CycleAudio(self.feature_set)
        desired = int(_option(self.feature_set.options, "length_samples"))
        pad = str(_option(self.feature_set.options, "pad"))
        audioset = getattr(self.args, "model", "ast") == "ast"
        images = []
        for cycle_id in self.cycle_ids:
            stem, k = cycle_id.rsplit("#", 1)
            images.append(augment.augmented_images(cycles.cycle(stem, int(k)), self._raw_augment, desired, pad,
                                                   self.n_mels, audioset, self.sample_rate))
        return images

    def audio_image(self, index: int) -> np.ndarray:
        """Item ``index``'s image before ``transform``: the fork's ``generate_fbank`` value."""
        values = self._reader.item(index)
        if getattr(self.args, "model", "ast") != "ast":
            raw = self.feature_set.denormalise(values)
            values = ((raw - raw.mean(dtype=np.float64)) / (raw.std(ddof=1, dtype=np.float64) * 2)).astype(np.float32)
        return values

    def _audio_images_entry(self, index: int):
        image = self.audio_image(index)
        augmented = self.augmented_images[index] if self.augmented_images else [image] * self._raw_augment
        return ([image] + list(augmented), self.labels[index], self.meta_labels[index])

    def __getitem__(self, index: int):
        if self._raw_augment and self.train_flag and not self.mean_std:
            choice = random.randint(0, self._raw_augment)  # as the fork draws it, original included
            audio_image = self.audio_image(index) if choice == 0 else self.augmented_images[index][choice - 1]
        else:
            audio_image = self.audio_image(index)
        if self.transform is not None:
            audio_image = self.transform(audio_image)
        label, meta_label = self.labels[index], self.meta_labels[index]
        if meta_label is None or not self.train_flag:
            return audio_image, label
        return audio_image, (label, meta_label)


def _meta_label(metadata: Any, label: int, mode: str) -> Optional[int]:
    """The SG-SCL fork's meta label of a cycle from its 7 metadata values, by ``args.meta_mode``."""
    values = [float(v) for v in metadata]
    if mode == "none":
        return None
    if mode == "age":
        return 0 if int(values[0]) >= 19 else 1
    if mode == "sex":
        return 0 if int(values[1]) == 0 else 1
    if mode == "loc":
        return int(values[-2])
    if mode == "dev":
        return int(values[-1])
    return label  # "label"


def dataset_class(flavour: str) -> type:
    """The drop-in class of a flavour: ``"paper"`` or ``"sg-scl"``."""
    classes = {"paper": ICBHIDataset, "sg-scl": SGSCLICBHIDataset}
    if flavour not in classes:
        raise ValueError(f"unknown flavour {flavour!r}: one of {', '.join(FLAVOURS)}")
    return classes[flavour]
