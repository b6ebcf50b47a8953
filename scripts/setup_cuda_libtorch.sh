#!/usr/bin/env bash
# Makes a CUDA build of LibTorch 2.x available for compiling and linking,
# without installing PyTorch: it downloads PyPI's torch wheel (built for CUDA
# 13.0 on Linux x86_64) once and unpacks the C++ part of it.
#
#   scripts/setup_cuda_libtorch.sh [PREFIX]      (default PREFIX: /opt/ddp-tutorial-ci)
#
# Progress goes to stderr; stdout gets one line, the CMake prefix to pass as
# -DCMAKE_PREFIX_PATH, e.g. /opt/ddp-tutorial-ci/torch-2.11.0-cu130/torch:
#
#   prefix=$(scripts/setup_cuda_libtorch.sh)
#   cmake -S . -B build-cuda -G Ninja -DCMAKE_PREFIX_PATH="$prefix" ...
#
# Use that folder (the one holding include/, lib/ and share/), not
# torch.utils.cmake_prefix_path (its share/cmake): TorchConfig.cmake looks up
# libc10.so with find_library(... PATHS <torch>/lib), and PATHS come after the
# system folders, so with Debian's libtorch-dev installed it would take
# /usr/lib/x86_64-linux-gnu/libc10.so (1.13) instead. find_library searches
# <each CMAKE_PREFIX_PATH entry>/lib first, so the torch folder avoids that.
#
# Layout under PREFIX (a copy of what pip would put in site-packages, reduced
# to what compiling and linking need):
#   wheels/                          the downloaded wheels (kept: no second download)
#   torch-<version>-<cuda>/torch/    include/ share/ lib/ version.py of the torch wheel
#   torch-<version>-<cuda>/nvidia/   the few CUDA libraries libtorch_cuda.so needs
#                                    that a CUDA toolkit does not ship (see below)
#   torch-<version>.stamp            written last; re-running is then a no-op
#
# Why the nvidia/ folder: the wheel's libraries expect their CUDA dependencies
# from the nvidia-* pip packages, and find them through their own RPATH
# ($ORIGIN/../../nvidia/<package>/lib). A local CUDA toolkit (/usr/local/cuda
# with cuDNN and NCCL) provides most of them, but not cuSPARSELt
# (libcusparseLt.so.0), NVSHMEM (libnvshmem_host.so.3) or cuFile
# (libcufile.so.0). GNU ld checks, when it links an executable, that the
# shared libraries' own undefined symbols resolve, so without those three the
# link of any program using libtorch_cuda.so fails with "undefined reference to
# cusparseLt...". Unpacking just those libraries (about 240 MB) from their
# pinned wheels, where that RPATH looks, makes the link succeed with no extra
# linker flags, and keeps the check complete (unlike -Wl,--allow-shlib-undefined,
# which would also stop ld from checking anything else in those libraries).
# Their versions are read from the torch wheel's own requirements, so the torch
# version below is the only pin.
#
# Needs: a Python 3 with pip (only to download), network access to PyPI, and
# about 2.5 GB of disk space. Running the result needs a CUDA toolkit as well;
# compiling only needs its headers (nvcc, cuda_runtime.h, nccl.h).
set -euo pipefail

TORCH_PIN=2.11.0   # the PyPI version of torch to check against (Linux wheel: CUDA 13.0)

PREFIX=${1:-/opt/ddp-tutorial-ci}
WHEEL_PYTHON_VERSION=3.11   # any CPython the wheel exists for: only the C++ part is used
# torch is manylinux_2_28; the nvidia-* wheels are manylinux2014 (= manylinux_2_17).
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64)

log() { echo "setup_cuda_libtorch.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

if ! mkdir -p "$PREFIX" 2>/dev/null || [[ ! -w "$PREFIX" ]]; then
  die "cannot write to $PREFIX: run as root, or pass a writable folder: $0 <PREFIX>"
fi
PREFIX=$(cd "$PREFIX" && pwd)
STAMP="$PREFIX/torch-$TORCH_PIN.stamp"
WHEELS="$PREFIX/wheels"

# One setup at a time per PREFIX (two builds starting together).
exec 9>"$PREFIX/.setup.lock"
flock 9

# Prints the CMake prefix when a previous run finished; fails otherwise.
finished_prefix() {
  [[ -f "$STAMP" ]] || return 1
  local dir
  dir=$(head -n1 "$STAMP")
  [[ -f "$dir/torch/share/cmake/Torch/TorchConfig.cmake" ]] || return 1
  echo "$dir/torch"
}

if torch_prefix=$(finished_prefix); then
  log "LibTorch $TORCH_PIN (CUDA) already set up"
  log "CMake prefix path: $torch_prefix"
  echo "$torch_prefix"
  exit 0
fi

# A Python with pip, only to download. Any works (the wheel is chosen with
# --python-version/--platform), e.g. a pyenv python3 or Debian's python3-pip.
find_python_with_pip() {
  local candidate
  for candidate in python3 /usr/bin/python3 python; do
    if command -v "$candidate" >/dev/null && "$candidate" -m pip --version >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}
if ! PYTHON=$(find_python_with_pip); then
  if ((EUID == 0)) && command -v apt-get >/dev/null; then
    log "no python3 with pip: installing Debian's python3-pip"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 update >/dev/null &&
           DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o Dpkg::Use-Pty=0 install python3-pip >/dev/null; }; then
      die "apt-get install python3-pip failed"
    fi
  fi
  PYTHON=$(find_python_with_pip) || die "no python3 with pip found (on Debian: apt-get install python3-pip)"
fi

pip_download() {   # pip_download <requirement>: one wheel, no dependencies, into $WHEELS
  local platform_args=() p
  for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done
  "$PYTHON" -m pip download --no-deps --only-binary=:all: \
    --python-version "$WHEEL_PYTHON_VERSION" "${platform_args[@]}" \
    --no-cache-dir --progress-bar off --disable-pip-version-check --no-input \
    -d "$WHEELS" "$1" >&2 || die "pip download $1 failed"
}

# Wheel helper: reading metadata and unpacking selected files (no unzip needed).
wheel_tool() {
  "$PYTHON" - "$@" <<'PY'
import fnmatch, os, re, sys, zipfile

def requires(wheel):
    """Prints 'name version' for each Requires-Dist pinned with ==."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        for line in z.read(meta).decode().splitlines():
            m = re.match(r"Requires-Dist:\s*([A-Za-z0-9._-]+)(\[[^\]]*\])?\s*==\s*([^;\s]+)", line)
            if m:
                print(m.group(1).lower().replace("_", "-"), m.group(3))

def torch_version(wheel):
    """Prints the wheel's torch/version.py __version__ and cuda (or None)."""
    with zipfile.ZipFile(wheel) as z:
        text = z.read("torch/version.py").decode()
    version = re.search(r"__version__\s*=\s*'([^']+)'", text).group(1)
    cuda = re.search(r"^cuda[^=]*=\s*(.+)$", text, re.M).group(1).strip().strip("'\"")
    print(version, cuda)

def extract(wheel, dest, *patterns):
    """Extracts the members matching any pattern, keeping their permissions."""
    count = 0
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if info.is_dir() or not any(fnmatch.fnmatch(info.filename, p) for p in patterns):
                continue
            path = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)
            count += 1
    if count == 0:
        sys.exit(f"nothing in {wheel} matches {patterns}")
    print(count)

{"requires": requires, "torch_version": torch_version, "extract": extract}[sys.argv[1]](*sys.argv[2:])
PY
}

find_wheel() {   # find_wheel <distribution name with underscores> <pinned version>
  local version=${2%.\*}   # a pin like 1.15.1.6.* matches 1.15.1.6 and 1.15.1.6.x
  { compgen -G "$WHEELS/$1-$version-*.whl" || compgen -G "$WHEELS/$1-$version.*-*.whl"; } |
    head -n1 || true
}

mkdir -p "$WHEELS"
SECONDS=0

# 1. The torch wheel (about 530 MB).
torch_wheel=$(find_wheel torch "$TORCH_PIN")
if [[ -z "$torch_wheel" ]]; then
  log "downloading torch==$TORCH_PIN (about 530 MB) with $PYTHON -m pip"
  pip_download "torch==$TORCH_PIN"
  torch_wheel=$(find_wheel torch "$TORCH_PIN")
  [[ -n "$torch_wheel" ]] || die "pip did not leave a torch-$TORCH_PIN wheel in $WHEELS"
  log "downloaded $(basename "$torch_wheel") in ${SECONDS}s"
else
  log "using $torch_wheel"
fi

read -r full_version cuda_version < <(wheel_tool torch_version "$torch_wheel") ||
  die "cannot read torch/version.py from $torch_wheel (a broken download? delete it and re-run)"
[[ "$cuda_version" != None ]] ||
  die "$(basename "$torch_wheel") is a CPU-only build ($full_version); a CUDA build is needed"
TARGET="$PREFIX/torch-${full_version//+/-}"   # e.g. torch-2.11.0-cu130
log "torch $full_version, built for CUDA $cuda_version"

# 2. The CUDA libraries a toolkit lacks, at the versions torch requires.
#    cuFile's version is pinned by the cuda-toolkit metapackage torch requires.
declare -A pins=()
requirements=$(wheel_tool requires "$torch_wheel") || die "cannot read the requirements of $torch_wheel"
while read -r name version; do pins[$name]=$version; done <<<"$requirements"
if [[ -n "${pins[cuda-toolkit]:-}" ]]; then
  toolkit_wheel=$(find_wheel cuda_toolkit "${pins[cuda-toolkit]}")
  if [[ -z "$toolkit_wheel" ]]; then
    pip_download "cuda-toolkit==${pins[cuda-toolkit]}"
    toolkit_wheel=$(find_wheel cuda_toolkit "${pins[cuda-toolkit]}")
    [[ -n "$toolkit_wheel" ]] || die "pip did not leave a cuda-toolkit wheel in $WHEELS"
  fi
  requirements=$(wheel_tool requires "$toolkit_wheel") ||
    die "cannot read the requirements of $toolkit_wheel"
  while read -r name version; do
    [[ -n "${pins[$name]:-}" ]] || pins[$name]=$version
  done <<<"$requirements"
fi

nvidia_wheels=()
nvidia_patterns=()
for lib in "nvidia-cusparselt:libcusparseLt.so*" "nvidia-nvshmem:libnvshmem_host.so*" \
           "nvidia-cufile:libcufile.so*"; do
  want=${lib%%:*}
  name=
  for candidate in "${!pins[@]}"; do
    # nvidia-cusparselt-cu13, nvidia-nvshmem-cu13, nvidia-cufile, ...
    if [[ "$candidate" == "$want" || "$candidate" == "$want"-cu* ]]; then name=$candidate; fi
  done
  if [[ -z "$name" ]]; then
    log "note: torch $TORCH_PIN does not require $want; skipping it"
    continue
  fi
  file_name=${name//-/_}
  wheel=$(find_wheel "$file_name" "${pins[$name]}")
  if [[ -z "$wheel" ]]; then
    log "downloading $name==${pins[$name]}"
    pip_download "$name==${pins[$name]}"
    wheel=$(find_wheel "$file_name" "${pins[$name]}")
    [[ -n "$wheel" ]] || die "pip did not leave a $name wheel in $WHEELS"
  fi
  nvidia_wheels+=("$wheel")
  nvidia_patterns+=("nvidia/*/lib/${lib#*:}")
done
log "downloads done after ${SECONDS}s"

# 3. Unpack into a temporary folder, then move it into place and stamp it, so
#    an interrupted run never leaves a half-unpacked LibTorch behind.
unpack_start=$SECONDS
tmp="$TARGET.partial.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
log "unpacking the C++ part of $(basename "$torch_wheel") into $TARGET"
wheel_tool extract "$torch_wheel" "$tmp" \
  'torch/include/*' 'torch/share/*' 'torch/lib/*' 'torch/version.py' >/dev/null ||
  die "unpacking $torch_wheel failed (a broken download? delete it and re-run)"
for i in "${!nvidia_wheels[@]}"; do
  wheel_tool extract "${nvidia_wheels[$i]}" "$tmp" "${nvidia_patterns[$i]}" >/dev/null ||
    die "unpacking ${nvidia_patterns[$i]} from ${nvidia_wheels[$i]} failed"
done
[[ -f "$tmp/torch/share/cmake/Torch/TorchConfig.cmake" ]] ||
  die "no torch/share/cmake/Torch/TorchConfig.cmake in $torch_wheel"
rm -rf "$TARGET"
mv "$tmp" "$TARGET"
trap - EXIT
echo "$TARGET" > "$STAMP"
log "unpacked in $((SECONDS - unpack_start))s ($(du -sh "$TARGET" | cut -f1)); total ${SECONDS}s"

torch_prefix=$(finished_prefix) || die "setup finished but $STAMP does not check out"
log "CMake prefix path: $torch_prefix"
echo "$torch_prefix"
