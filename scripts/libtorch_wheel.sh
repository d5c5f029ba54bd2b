# Sourced by check_libtorch.sh and gpu_smoke.sh: a current libtorch from PyPI's `torch` wheel.
# Installs torch==$TORCH_WHEEL_VERSION (on Linux the CUDA build, which pulls several GB of
# nvidia-* wheels that libtorch_cuda.so loads through its RPATH) into a virtual environment in
# $LIBTORCH_CACHE, outside the repository; reruns reuse it. Exports:
#   LIBTORCH_DIR        the wheel's torch/ folder (include/, lib/, share/cmake/), for Package.swift
#   LIBTORCH_CXX11_ABI  1 or 0, read off libc10.so's symbols (Package.swift compiles the bridge to match)
#   TORCH_PYTHON        the environment's python (the same torch, for Python reference runs)
#   TORCH_LABEL         e.g. "2.15.0+cu132 (CUDA 13.2 build)"
TORCH_WHEEL_VERSION=${TORCH_WHEEL_VERSION:-2.15.0}
LIBTORCH_CACHE=${LIBTORCH_CACHE:-$HOME/.cache/libtorch-check}
_venv=$LIBTORCH_CACHE/venv-torch-$TORCH_WHEEL_VERSION
mkdir -p "$LIBTORCH_CACHE"
_installed=$("$_venv/bin/pip" show torch 2>/dev/null | sed -n 's/^Version: //p' || true)
if [ "${_installed%%+*}" != "$TORCH_WHEEL_VERSION" ]; then
  echo "libtorch: installing PyPI torch==$TORCH_WHEEL_VERSION into $_venv (several GB with the CUDA wheels)" >&2
  rm -rf "$_venv"
  ${PYTHON:-python3} -m venv "$_venv"
  "$_venv/bin/pip" install --quiet --no-input --disable-pip-version-check "torch==$TORCH_WHEEL_VERSION" >&2
fi
TORCH_PYTHON=$_venv/bin/python
LIBTORCH_DIR=$("$TORCH_PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/torch
for f in include/torch/csrc/api/include/torch/torch.h lib/libtorch_cpu.so lib/libc10.so; do
  [ -e "$LIBTORCH_DIR/$f" ] || { echo "libtorch: $LIBTORCH_DIR/$f is missing: not a libtorch wheel layout" >&2; return 1; }
done
# The libstdc++ ABI the wheel was built with: cxx11-ABI builds export std::__cxx11 symbols.
# (grep -c, not -q: an early exit would break nm's pipe and fail the test under pipefail.)
if [ "$(nm -D --defined-only "$LIBTORCH_DIR/lib/libc10.so" | grep -c '__cxx11' || true)" -gt 0 ]; then
  LIBTORCH_CXX11_ABI=1
else
  LIBTORCH_CXX11_ABI=0
fi
_full=$(sed -n "s/^__version__ = '\(.*\)'/\1/p" "$LIBTORCH_DIR/version.py")
_cuda=$(sed -n "s/^cuda: Optional\[str\] = '\(.*\)'/\1/p; s/^cuda = '\(.*\)'/\1/p" "$LIBTORCH_DIR/version.py" | head -1)
if [ -e "$LIBTORCH_DIR/lib/libtorch_cuda.so" ]; then
  TORCH_LABEL="${_full:-$TORCH_WHEEL_VERSION} (CUDA ${_cuda:-?} build)"
else
  TORCH_LABEL="${_full:-$TORCH_WHEEL_VERSION} (CPU-only build)"
fi
export LIBTORCH_DIR LIBTORCH_CXX11_ABI TORCH_PYTHON TORCH_LABEL
unset _venv _installed _full _cuda
