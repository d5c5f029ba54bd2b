"""Run an unmodified checkout of the paper code (or of a fork) with the feature-set ``ICBHIDataset``.

    python -m icbhi_shards.run_paper_code PAPER_DIR [--feature-set FS] [--cpu] [--flavour F] -- <main.py arguments>

``PAPER_DIR`` is a checkout of ``raymin0223/patch-mix_contrastive_learning`` or of
``kaen2891/stethoscope-guided_supervised_contrastive_learning`` (SG-SCL, DAT, ...). The launcher
puts ``icbhi_shards.paper``'s drop-in in ``sys.modules`` as ``util.icbhi_dataset`` before
``main.py`` imports it, then runs ``PAPER_DIR/main.py`` as ``__main__`` with the arguments after
``--`` (the current directory stays where it is, as with ``python PAPER_DIR/main.py``). No file
of the checkout is changed; every other module (``util.icbhi_util``, the models, the losses) is
the checkout's own, and any other name ``util.icbhi_dataset`` defines is taken from the
checkout's file when it is asked for.

Options:

``--feature-set FS``
    the feature set directory (sets ``ICBHI_FEATURE_SET``; without it the variable must be set).
``--flavour paper|sg-scl|auto``
    which ``ICBHIDataset`` the checkout has: ``auto`` (default) reads the checkout's
    ``util/icbhi_dataset.py``: the SG-SCL flavour returns meta labels (``meta_label``), the paper's does not.
``--cpu``
    run on a CPU-only PyTorch: ``Tensor.cuda()`` and ``Module.cuda()`` return the object
    unchanged, ``torch.cuda.amp.autocast`` is a no-op context, ``torch.cuda.amp.GradScaler`` is
    created disabled, and ``torch.load`` maps to the CPU unless told otherwise. The paper code
    calls ``.cuda()`` unconditionally; this is how the project's tests run it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import runpy
import sys
import types
from typing import List, Optional, Sequence

from .paper import FLAVOURS, dataset_class

__all__ = ["detect_flavour", "install_dataset", "install_cpu_shims", "main"]


def detect_flavour(paper_dir: str) -> str:
    """``"sg-scl"`` when the checkout's ``util/icbhi_dataset.py`` builds meta labels, else ``"paper"``."""
    path = os.path.join(paper_dir, "util", "icbhi_dataset.py")
    try:
        with open(path, "r", encoding="utf-8") as handle:
            source = handle.read()
    except OSError as error:
        raise SystemExit(f"run_paper_code: {path}: {error.strerror}: not a checkout of the paper code") from None
    return "sg-scl" if "meta_label" in source else "paper"


def install_dataset(paper_dir: str, flavour: str) -> types.ModuleType:
    """Registers the drop-in as ``util.icbhi_dataset`` (``PAPER_DIR`` must be first on ``sys.path``).

    The checkout's ``util`` package itself is imported as usual; names other than
    ``ICBHIDataset`` are looked up in the checkout's own ``util/icbhi_dataset.py``, loaded (under
    another module name) only if one is asked for.
    """
    import util  # the checkout's package (its __init__ runs as it would)

    original_path = os.path.join(paper_dir, "util", "icbhi_dataset.py")
    module = types.ModuleType("util.icbhi_dataset", f"icbhi_shards drop-in ({flavour} flavour) for {original_path}")
    module.__file__ = original_path
    module.__package__ = "util"
    module.ICBHIDataset = dataset_class(flavour)
    original: List[types.ModuleType] = []

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if not original:
            spec = importlib.util.spec_from_file_location("util._icbhi_dataset_original", original_path)
            loaded = importlib.util.module_from_spec(spec)
            loaded.__package__ = "util"
            sys.modules[spec.name] = loaded
            spec.loader.exec_module(loaded)
            original.append(loaded)
        return getattr(original[0], name)

    module.__getattr__ = __getattr__
    sys.modules["util.icbhi_dataset"] = module
    util.icbhi_dataset = module
    return module


def install_cpu_shims() -> None:
    """Lets code written for CUDA run on a CPU-only PyTorch (see ``--cpu``)."""
    import torch

    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self

    class _NoAutocast(contextlib.ContextDecorator):
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    real_scaler = torch.cuda.amp.GradScaler

    def _scaler(*args, **kwargs):
        kwargs["enabled"] = False
        return real_scaler(*args, **kwargs)

    torch.cuda.amp.autocast = _NoAutocast
    torch.cuda.amp.GradScaler = _scaler
    real_load = torch.load

    def _load(*args, **kwargs):
        if len(args) < 2:
            kwargs.setdefault("map_location", "cpu")
        return real_load(*args, **kwargs)

    torch.load = _load


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ours, theirs = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(
        prog="python -m icbhi_shards.run_paper_code",
        description="Run an unmodified checkout of the paper code (or SG-SCL fork) on a feature set "
                    "written by `prep features`: arguments after -- go to its main.py.")
    parser.add_argument("paper_dir", help="checkout of the paper code (holds main.py and util/icbhi_dataset.py)")
    parser.add_argument("--feature-set", help="feature set directory (default: $ICBHI_FEATURE_SET)")
    parser.add_argument("--flavour", choices=FLAVOURS + ("auto",), default="auto",
                        help="the checkout's ICBHIDataset flavour (default: detected)")
    parser.add_argument("--cpu", action="store_true", help="run on a CPU-only PyTorch (.cuda() becomes a no-op)")
    parser.add_argument("--main", default="main.py", help="the script to run, relative to PAPER_DIR (default main.py)")
    options = parser.parse_args(ours)

    paper_dir = os.path.abspath(options.paper_dir)
    script = os.path.join(paper_dir, options.main)
    if not os.path.isfile(script):
        parser.error(f"{script} does not exist: PAPER_DIR must be a checkout of the paper code")
    if options.feature_set:
        os.environ["ICBHI_FEATURE_SET"] = os.path.abspath(options.feature_set)
    if not os.environ.get("ICBHI_FEATURE_SET"):
        parser.error("no feature set: give --feature-set or set ICBHI_FEATURE_SET")
    flavour = detect_flavour(paper_dir) if options.flavour == "auto" else options.flavour
    print(f"run_paper_code: {script} ({flavour} flavour) with the feature set {os.environ['ICBHI_FEATURE_SET']}"
          + (" on the CPU" if options.cpu else ""), flush=True)

    sys.path.insert(0, paper_dir)  # as `python PAPER_DIR/main.py` would
    install_dataset(paper_dir, flavour)
    if options.cpu:
        install_cpu_shims()
    sys.argv = [script] + theirs
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
