"""By hand, not in `make test`: how much nlpaug's augmenters amplify a float-rounding difference in the waveform.

    PYTHONPATH=python:.build/pytools python3 python/tests/augment_sensitivity.py [WAV]

Decodes and resamples one sample recording with torchaudio (as the paper code does), cuts/pads 4 s
of it to 8 s, and feeds each of ``augment_raw_audio``'s five augmenters that waveform and the same
waveform with +-3e-7 added to every sample (the size of the difference between the cache's
resampler and torchaudio's), with ``random``/``numpy.random`` seeded alike; prints the difference
of the resulting images. Measured 2026-12-06: Noise, Loudness, Vtlp 1.7e-3 max abs (mean <= 5.5e-5);
Speed 2.3e-2 (3.6e-4), Pitch 2.0e-2 (4.0e-4): librosa's phase vocoder is ill-conditioned in the
phases of near-silent bins. That is why the SG-SCL flavour's augmented images, made from the
cache's waveforms, are compared with the fork's exactly only when fed the fork's own waveforms.
"""

import random
import sys

import numpy as np
import torch
import torchaudio
import torchaudio.transforms as T

import nlpaug.augmenter.audio as naa
from icbhi_shards import augment


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/icbhi/sample/103_2b2_Ar_mc_LittC2SE.wav"
    x, rate = torchaudio.load(path)
    x = T.Resample(rate, 16000)(x)[:, 16000:16000 * 5]
    base = augment.cut_pad(x, 128000, "repeat")
    signs = np.random.default_rng(0).choice([-1.0, 1.0], size=base.shape).astype(np.float32)
    perturbed = base + torch.from_numpy(signs) * 3e-7
    print(f"waveform max abs difference {float((perturbed - base).abs().max()):.3g}")
    for name, make in (("Noise", lambda: naa.NoiseAug()), ("Speed", lambda: naa.SpeedAug()),
                       ("Loudness", lambda: naa.LoudnessAug(factor=(0.5, 2))),
                       ("Vtlp", lambda: naa.VtlpAug(sampling_rate=16000, zone=(0.0, 1.0))),
                       ("Pitch", lambda: naa.PitchAug(sampling_rate=16000, factor=(-1, 3)))):
        images = []
        for waveform in (base, perturbed):
            random.seed(1)
            np.random.seed(1)
            y = make().augment(np.asarray(waveform.squeeze(0)))[0]
            images.append(augment.kaldi_image(augment.cut_pad(torch.tensor(y), 128000, "repeat"), 128, True))
        d = np.abs(images[0].astype(np.float64) - images[1])
        print(f"{name}: image max abs {d.max():.3g}, mean {d.mean():.3g}")


if __name__ == "__main__":
    main()
