"""``args.raw_augment`` for the SG-SCL flavour: waveform augmentation from the cached cycle audio.

The SG-SCL fork (``kaen2891/stethoscope-guided_supervised_contrastive_learning``) builds, for
every training cycle, ``raw_augment`` augmented images once, when the dataset is built, in item
order, chained (augmentation ``k`` is applied to augmentation ``k - 1``'s output)::

    audio = the cycle, cut or padded to desired_length               # [1, samples]
    for k in 1..raw_augment:
        audio = augment_raw_audio(audio as a 1-D numpy array)        # one random nlpaug augmenter
        audio = cut or pad it again (a 1-D result becomes [1, samples])
        images[k] = generate_fbank(audio)                            # torchaudio Kaldi fbank

and its ``__getitem__`` picks ``images[random.randint(0, raw_augment)]`` (training set, not
``mean_std``). ``augment_raw_audio`` is the paper code's (``util/augmentation.py``, MIT): it
draws ``random.randint(0, 4)`` and applies one of ``NoiseAug()``, ``SpeedAug()``,
``LoudnessAug(factor=(0.5, 2))``, ``VtlpAug(sampling_rate, zone=(0.0, 1.0))``,
``PitchAug(sampling_rate, factor=(-1, 3))``; nlpaug draws from numpy's global generator. The
functions here do the same calls in the same order, so with the same seeds of ``random`` and
``numpy.random`` before the dataset is built, the drop-in draws exactly what the fork draws (and
leaves both generators where the fork leaves them). The cycle comes from the cache's
``audio16k/<resampler>/<stem>.h5`` (written by ``prep ingest``: the 16 kHz cycle, the whole
recording faded before slicing, as the fork slices it) instead of decoding the WAV again.

The paper code itself (commit 836b09f) passes the ``[1, samples]`` torch tensor to nlpaug, which
raises for every one of the five augmenters (nlpaug 1.1.11, librosa 0.10: librosa refuses
non-numpy input, ``NoiseAug`` makes an FFT of length 0): its ``raw_augment > 0`` cannot run, so
the paper flavour refuses it (see ``icbhi_shards.paper``).

Needs torch, torchaudio, nlpaug and librosa (what the fork imports).
"""

from __future__ import annotations

import math
import os
import random
from typing import Any, Dict, List

import h5py
import numpy as np

from . import FeatureSet
from .paper import AUDIOSET_MEAN, AUDIOSET_STD

__all__ = ["AugmentationError", "audio_directory", "CycleAudio", "cut_pad", "augment_raw_audio", "kaldi_image",
           "augmented_images"]


class AugmentationError(ValueError):
    """The cycle audio or a package that augmentation needs is missing."""


def requirements_problem() -> str:
    """Why augmentation cannot run here ('' when it can): a missing package."""
    missing = []
    for name in ("torch", "torchaudio", "nlpaug", "librosa"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    return f"needs {', '.join(missing)} (what the fork imports for it)" if missing else ""


def audio_directory(features: FeatureSet) -> str:
    """Where the feature set's 16 kHz cycle audio is: ``index.json``'s ``source.audio`` when it
    exists, else ``<cache>/audio16k/<resampler>`` next to the feature set (a moved cache)."""
    source = features.index.get("source", {})
    recorded = source.get("audio")
    if recorded and os.path.isdir(recorded):
        return recorded
    sibling = os.path.join(os.path.dirname(os.path.abspath(features.directory)), "audio16k",
                           source.get("resampler", "reference"))
    if os.path.isdir(sibling):
        return sibling
    raise AugmentationError(f"{features.directory}: its cycle audio is neither at {recorded!r} (index.json source.audio) "
                            f"nor at {sibling}: raw_augment needs the cache's audio16k/ files (run `prep ingest` again)")


class CycleAudio:
    """The cached 16 kHz cycles of a feature set's recordings: ``cycle(stem, k)`` is annotation cycle
    ``k`` of recording ``stem`` as float32 numpy ``[samples]``."""

    def __init__(self, features: FeatureSet):
        self.directory = audio_directory(features)
        self._recording: Dict[str, Dict[int, np.ndarray]] = {}

    def cycle(self, stem: str, k: int) -> np.ndarray:
        cycles = self._recording.get(stem)
        if cycles is None:
            path = os.path.join(self.directory, stem + ".h5")
            if not os.path.isfile(path):
                raise AugmentationError(f"{path}: missing: raw_augment needs the cycle audio of {stem} (run `prep ingest`)")
            with h5py.File(path, "r") as f:
                rate = int(f.attrs.get("sample_rate", 0))
                if rate != 16000:
                    raise AugmentationError(f"{path}: sample_rate {rate}, expected 16000")
                samples, offsets, indices = f["samples"][()], f["offsets"][()], f["cycle_index"][()]
            cycles = {int(index): samples[offsets[i]:offsets[i + 1]] for i, index in enumerate(indices)}
            self._recording = {stem: cycles}  # one recording at a time: items come in recording order
        if k not in cycles:
            raise AugmentationError(f"{self.directory}/{stem}.h5: no annotation cycle {k}")
        return cycles[k]


def cut_pad(audio: Any, desired_samples: int, pad: str, sample_rate: int = 16000) -> Any:
    """The fork's ``cut_pad_sample_torchaudio``: a torch tensor (``[samples]`` or ``[1, samples]``)
    cut to ``desired_samples``, or padded to it (``repeat``: tiled, then a linear fade-out over the
    last ``sample_rate // 16`` samples; ``zero``: centred in zeros); always ``[1, desired_samples]``."""
    import torch
    import torchaudio.transforms as T

    if audio.shape[-1] > desired_samples:
        audio = audio[..., :desired_samples]
        return audio.unsqueeze(0) if audio.dim() == 1 else audio
    if pad == "zero":
        padded = torch.zeros(1, desired_samples, dtype=torch.float32)
        diff = desired_samples - audio.shape[-1]
        padded[..., diff // 2:audio.shape[-1] + diff // 2] = audio
        return padded
    tiled = audio.repeat(1, math.ceil(desired_samples / audio.shape[-1]))[..., :desired_samples]
    return T.Fade(fade_in_len=0, fade_out_len=int(sample_rate / 16), fade_shape="linear")(tiled)


def augment_raw_audio(sample: np.ndarray, sample_rate: int) -> np.ndarray:
    """The paper code's ``augment_raw_audio`` (``util/augmentation.py``): one nlpaug augmenter, drawn
    with ``random.randint(0, 4)``, applied to the 1-D waveform."""
    import nlpaug.augmenter.audio as naa

    augmenters = [naa.NoiseAug(), naa.SpeedAug(), naa.LoudnessAug(factor=(0.5, 2)),
                  naa.VtlpAug(sampling_rate=sample_rate, zone=(0.0, 1.0)),
                  naa.PitchAug(sampling_rate=sample_rate, factor=(-1, 3))]
    sample = augmenters[random.randint(0, len(augmenters) - 1)].augment(sample)
    return sample[0] if isinstance(sample, list) else sample


def kaldi_image(audio: Any, n_mels: int, audioset: bool, sample_rate: int = 16000) -> np.ndarray:
    """The fork's ``generate_fbank``: torchaudio's Kaldi fbank of ``[1, samples]``, normalised with the
    AudioSet statistics (``audioset``) or the fbank's own mean and (unbiased) standard deviation;
    float32 numpy ``[frames, n_mels, 1]``."""
    import torchaudio

    fbank = torchaudio.compliance.kaldi.fbank(audio, htk_compat=True, sample_frequency=sample_rate, use_energy=False,
                                              window_type="hanning", num_mel_bins=n_mels, dither=0.0, frame_shift=10)
    mean, std = (AUDIOSET_MEAN, AUDIOSET_STD) if audioset else (fbank.mean(), fbank.std())
    return ((fbank - mean) / (std * 2)).unsqueeze(-1).numpy()


def augmented_images(cycle: np.ndarray, count: int, desired_samples: int, pad: str, n_mels: int, audioset: bool,
                     sample_rate: int = 16000) -> List[np.ndarray]:
    """The ``count`` chained augmented images of one cycle (the fork's ``images[1:]``)."""
    import torch

    audio = cut_pad(torch.from_numpy(np.ascontiguousarray(cycle, dtype=np.float32)).unsqueeze(0), desired_samples, pad,
                    sample_rate)
    images = []
    for _ in range(count):
        audio = augment_raw_audio(np.asarray(audio.squeeze(0)), sample_rate)
        audio = cut_pad(torch.tensor(audio), desired_samples, pad, sample_rate)
        images.append(kaldi_image(audio, n_mels, audioset, sample_rate))
    return images
