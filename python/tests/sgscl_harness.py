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
