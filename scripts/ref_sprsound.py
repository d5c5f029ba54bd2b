#!/usr/bin/python3
"""SPRSound reference for `make bench` (issue #22, item 6): the same steps as
`prep ingest --corpus sprsound` + `prep features`, written plainly with torchaudio, one thread.

usage: ref_sprsound.py <SPRSound tree> [--length SECONDS]
env: REF_THREADS (torch threads, default 1), REF_STAGE=ingest (stop before the fbank).

Per recording (every <stem>.json below the tree, its WAV beside it or in the sibling *_wav
folder, first copy of a stem only): load, resample to 16 kHz, fade the whole recording
(1,000 samples each end), slice every event [int(start*16000), int(end*16000)) clamped, plus the
whole recording as the record item; each item cut/tiled to the length with the fade-out, Kaldi
fbank (128 bins, 25/10 ms, hanning), AudioSet normalisation. Prints counts and seconds.
"""
import glob, json, math, os, sys, time
import torch, torchaudio
from torchaudio import transforms as T

SR = 16000
MEAN, STD = -4.2677393, 4.5689974
TYPES = ["Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"]


def wav_for(root, json_path):
    rel = os.path.relpath(json_path, root)
    folders, name = os.path.split(rel)
    stem = name[:-5]
    parts = folders.split(os.sep) if folders else []
    swapped = [p[:-5] + "_wav" if p.endswith("_json") else p for p in parts]
    for candidate in (parts, swapped):
        path = os.path.join(root, *candidate, stem + ".wav")
        if os.path.exists(path):
            return path
    return None


def fix_length(chunk, target, fade_len):
    if chunk.shape[-1] > target:
        return chunk[..., :target]
    ratio = math.ceil(target / chunk.shape[-1])
    chunk = chunk.repeat(1, ratio)[..., :target]
    return T.Fade(fade_in_len=0, fade_out_len=fade_len, fade_shape='linear')(chunk)


def main():
    root = sys.argv[1]
    length = float(sys.argv[sys.argv.index('--length') + 1]) if '--length' in sys.argv else 8.0
    target = int(round(length * SR))
    torch.set_num_threads(int(os.environ.get("REF_THREADS", "1")))
    fade_len = int(SR / 16)
    t0 = time.perf_counter()
    seen, items, recordings = set(), 0, 0
    for json_path in sorted(glob.glob(os.path.join(root, '**', '*.json'), recursive=True)):
        stem = os.path.basename(json_path)[:-5]
        wav = wav_for(root, json_path)
        if stem in seen or wav is None:
            continue
        seen.add(stem)
        with open(json_path) as f:
            annotation = json.load(f)
        events = sorted((float(e["start"]) / 1000, float(e["end"]) / 1000) for e in annotation.get("event_annotation", [])
                        if e.get("type") in TYPES and float(e["end"]) > float(e["start"]) >= 0)
        data, sr = torchaudio.load(wav)
        if sr != SR:
            data = T.Resample(sr, SR)(data)
        data = T.Fade(fade_in_len=fade_len, fade_out_len=fade_len, fade_shape='linear')(data)
        n = data.shape[1]
        chunks = []
        for start, end in events:
            a, b = min(int(start * SR), n), min(int(end * SR), n)
            if b > a:
                chunks.append(data[:, a:b])
        chunks.append(data)   # the record item: the whole recording
        for chunk in chunks:
            fixed = fix_length(chunk, target, fade_len)
            if os.environ.get('REF_STAGE') != 'ingest':
                fb = torchaudio.compliance.kaldi.fbank(fixed, htk_compat=True, sample_frequency=SR, use_energy=False,
                                                       window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)
                fb = (fb - MEAN) / (STD * 2)
            items += 1
        recordings += 1
    dt = time.perf_counter() - t0
    print(f"recordings={recordings} items={items} seconds={dt:.3f} items_per_s={items / dt:.1f}", flush=True)


if __name__ == '__main__':
    main()
