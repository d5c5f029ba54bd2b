# Sourced by gpu_smoke.sh (before libtorch_wheel.sh): picks the PyPI torch wheel whose CUDA build
# this machine's NVIDIA driver can run, unless TORCH_WHEEL_VERSION is set (then it is only checked).
#
# PyPI's Linux torch wheel bundles one CUDA build per torch version (read off each wheel's
# torch/version.py, 2026-12-06; only PyPI is reachable from our machines, so the +cuXYZ builds of
# download.pytorch.org are not an option). A driver runs a CUDA build no newer than the "CUDA
# Version" nvidia-smi prints (the newest CUDA it supports); CUDA 13 builds also drop GPUs below
# compute capability 7.5 (Maxwell, Pascal, Volta). The rule here is the conservative one: the
# newest torch whose CUDA <= the driver's, and CUDA 12 for GPUs below 7.5.
#
# Exports TORCH_WHEEL_VERSION, TORCH_WHEEL_CUDA (the build's CUDA), DRIVER_VERSION and
# DRIVER_CUDA (from nvidia-smi); returns 1 with one line saying why when nothing fits.
# NVIDIA_SMI names the nvidia-smi to ask (tests give a fake one).

# torch version -> CUDA of its PyPI wheel, newest first.
TORCH_CUDA_TABLE="2.15.0 13.2
2.14.1 13.0
2.10.0 12.8
2.7.1 12.6
2.6.0 12.4
2.4.1 12.1"

# 0 if version a <= b (dotted numbers).
_version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$1" ]; }

_smi=${NVIDIA_SMI:-nvidia-smi}
if ! _header=$("$_smi" 2>/dev/null); then
  echo "torch wheel: $_smi failed or is missing: no NVIDIA driver to pick a CUDA build for" >&2
  return 1
fi
DRIVER_CUDA=$(printf '%s\n' "$_header" | sed -n 's/.*CUDA Version: *\([0-9][0-9.]*\).*/\1/p' | head -1)
DRIVER_VERSION=$("$_smi" --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
_cap=$("$_smi" --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | sort -V | head -1)
[ -n "$DRIVER_CUDA" ] || { echo "torch wheel: nvidia-smi printed no 'CUDA Version' (driver ${DRIVER_VERSION:-?})" >&2; return 1; }

_ceiling=$DRIVER_CUDA
if [ -n "$_cap" ] && ! _version_le 7.5 "$_cap"; then
  _version_le 12.9 "$_ceiling" && _ceiling=12.9   # CUDA 13 builds do not run below compute capability 7.5
fi
if [ -n "${TORCH_WHEEL_VERSION:-}" ]; then
  TORCH_WHEEL_CUDA=$(printf '%s\n' "$TORCH_CUDA_TABLE" | awk -v v="$TORCH_WHEEL_VERSION" '$1 == v {print $2}')
  if [ -n "$TORCH_WHEEL_CUDA" ] && ! _version_le "$TORCH_WHEEL_CUDA" "$_ceiling"; then
    echo "torch wheel: TORCH_WHEEL_VERSION=$TORCH_WHEEL_VERSION is a CUDA $TORCH_WHEEL_CUDA build; driver ${DRIVER_VERSION:-?} supports CUDA $DRIVER_CUDA${_cap:+ (GPU compute capability $_cap)}: it will not run (unset it to pick one that fits)" >&2
    return 1
  fi
else
  TORCH_WHEEL_VERSION=
  while read -r _torch _cuda; do
    if _version_le "$_cuda" "$_ceiling"; then TORCH_WHEEL_VERSION=$_torch; TORCH_WHEEL_CUDA=$_cuda; break; fi
  done <<< "$TORCH_CUDA_TABLE"
  if [ -z "$TORCH_WHEEL_VERSION" ]; then
    echo "torch wheel: driver ${DRIVER_VERSION:-?} supports CUDA $DRIVER_CUDA, older than every PyPI wheel here (oldest: CUDA 12.1): update the driver" >&2
    return 1
  fi
fi
echo "torch wheel: driver ${DRIVER_VERSION:-?} supports CUDA $DRIVER_CUDA${_cap:+, GPU compute capability $_cap}: torch $TORCH_WHEEL_VERSION (CUDA ${TORCH_WHEEL_CUDA:-?} build)" >&2
export TORCH_WHEEL_VERSION TORCH_WHEEL_CUDA DRIVER_VERSION DRIVER_CUDA
unset _smi _header _cap _ceiling _torch _cuda
