"""What the SG-SCL fork's ``ICBHIDataset`` items are, stated from the paper code's items.

The fork (``kaen2891/stethoscope-guided_supervised_contrastive_learning``, no licence: nothing of
it is copied here) builds its cycles exactly as the paper code does (same split files, same
torchaudio cut/pad, same fbank call) and differs in what an item holds. This harness states that
difference, so the SG-SCL flavour of ``icbhi_shards.paper`` can be checked against the paper
code's own dataset (vendored, MIT) with the fork absent:

* item: ``(image, label)``; for the training set when ``args.meta_mode != "none"``:
  ``(image, (label, meta_label))``. The test set never carries meta labels.
* ``image``: the paper's image when ``args.model == "ast"``; otherwise the raw log mel fbank
  normalised by its own mean and unbiased standard deviation: ``(raw - mean) / (2 * std)``.
* ``label``: 4-class when ``args.n_cls == 4`` or ``args.method == "mscl"``, else 2-class (the
  paper's label for the same ``n_cls``).
* ``meta_label`` from the paper's 7 metadata values ``m`` (age, sex, BMI, weight, height,
  chest location, device), by ``args.meta_mode``: ``age``: 0 if ``int(m[0]) >= 19`` else 1;
  ``sex``: 0 if ``int(m[1]) == 0`` else 1; ``loc``: ``int(m[5])``; ``dev``: ``int(m[6])``;
  ``label``: the label.
* ``domain_nums`` (when ``args.m_cls``): meta labels counted per class under
  ``--domain_adaptation``/``--domain_adaptation2``, zeros otherwise.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

AUDIOSET_MEAN, AUDIOSET_STD = -4.2677393, 4.5689974


def meta_label(metadata: Any, label: int, mode: str) -> Optional[int]:
    m = [float(v) for v in metadata]
    return {"none": None, "age": 0 if int(m[0]) >= 19 else 1, "sex": 0 if int(m[1]) == 0 else 1,
            "loc": int(m[5]), "dev": int(m[6]), "label": label}[mode]


def image(paper_image: np.ndarray, model: str) -> np.ndarray:
    if model == "ast":
        return paper_image
    raw = paper_image.astype(np.float64) * (2 * AUDIOSET_STD) + AUDIOSET_MEAN
    return ((raw - raw.mean()) / (raw.std(ddof=1) * 2)).astype(np.float32)


def expected_item(paper_item: Tuple[np.ndarray, int, Any], args: Any, train_flag: bool):
    """The SG-SCL item for the cycle whose paper-code item is ``paper_item`` (same ``args``)."""
    picture, label, metadata = paper_item
    meta = meta_label(metadata, label, args.meta_mode)
    x = image(picture, args.model)
    return (x, label) if meta is None or not train_flag else (x, (label, meta))


# ``args.raw_augment`` (training set): the fork builds ``raw_augment`` images per cycle when the
# dataset is built, in item order (file names sorted, then cycles), chained: each step hands the
# previous step's waveform, squeezed to 1-D numpy, to the paper's ``augment_raw_audio`` (one
# random nlpaug augmenter), cuts or pads the result with the paper's ``cut_pad_sample_torchaudio``
# (a 1-D result that was cut gets its channel axis back: the fork's one change there) and makes
# the paper's ``generate_fbank`` of it (AST normalisation; other models: the fbank's own mean and
# unbiased std). ``__getitem__`` then returns ``images[random.randint(0, raw_augment)]`` (image 0:
# the unaugmented one). Stated here with the vendored paper code's own functions.


def paper_cycle(paper_util: Any, data_folder: str, stem: str, k: int, sample_rate: int = 16000):
    """Annotation cycle ``k`` of ``stem`` as the paper and the fork slice it (torchaudio load,
    resample, whole-recording linear fade of ``sample_rate // 16``, then the slice): ``[1, samples]``."""
    import torchaudio
    import torchaudio.transforms as T

    data, rate = torchaudio.load(f"{data_folder}/{stem}.wav")
    if rate != sample_rate:
        data = T.Resample(rate, sample_rate)(data)
    fade = int(sample_rate / 16)
    data = T.Fade(fade_in_len=fade, fade_out_len=fade, fade_shape="linear")(data)
    start, end = _annotation(data_folder, stem, k)
    return paper_util._slice_data_torchaudio(start, end, data, sample_rate)


def _annotation(data_folder: str, stem: str, k: int) -> Tuple[float, float]:
    with open(f"{data_folder}/{stem}.txt", "r", encoding="utf-8") as handle:
        rows = [line.split() for line in handle if line.strip()]
    return float(rows[k][0]), float(rows[k][1])


def augmented_images(paper_util: Any, paper_augmentation: Any, base_audio: Any, args: Any) -> list:
    """The fork's ``raw_augment`` images of a cycle whose cut/padded waveform is ``base_audio`` ([1, samples])."""
    import torch

    audio, images = base_audio, []
    for _ in range(args.raw_augment):
        audio = paper_augmentation.augment_raw_audio(np.asarray(audio.squeeze(0)), args.sample_rate, args)
        audio = paper_util.cut_pad_sample_torchaudio(torch.tensor(audio), args)
        if audio.dim() == 1:
            audio = audio.unsqueeze(0)
        picture = paper_util.generate_fbank(audio, args.sample_rate, n_mels=args.n_mels)
        images.append(image(picture, args.model) if args.model == "ast" else _own_statistics(audio, args))
    return images


def _own_statistics(audio: Any, args: Any) -> np.ndarray:
    import torchaudio

    fbank = torchaudio.compliance.kaldi.fbank(audio, htk_compat=True, sample_frequency=args.sample_rate, use_energy=False,
                                              window_type="hanning", num_mel_bins=args.n_mels, dither=0.0, frame_shift=10)
    return ((fbank - fbank.mean()) / (fbank.std() * 2)).unsqueeze(-1).numpy()
