#!/usr/bin/env bash
# Installs the Debian (bookworm) packages this project needs, skipping those
# already installed. Safe to run again: with nothing missing it changes nothing
# and needs no network.
#
#   scripts/install_deps.sh              # all: build, run and test (as root, or with sudo)
#   scripts/install_deps.sh --run-only   # only what building and running the stages needs
#                                        # (scripts/quickstart.sh); the rest comes later with
#                                        # scripts/run_tests.sh
#
# What each package is for. To build and run:
#   libtorch-dev libopenblas0-openmp    LibTorch (C++) and the BLAS it runs on: the
#                                       OpenMP build, whose threads are LibTorch's own
#                                       (the pthreads build's threads fight LibTorch's
#                                       spinning OpenMP threads: tutorial's job 4x slower
#                                       on 2 cores); chosen as libblas.so.3 if both exist
#   libgloo-dev                         Gloo headers, for the CPU distributed backend
#   libcxxopts-dev                      command-line parsing
#   zlib1g-dev libjpeg-dev libpng-dev   .gz datasets, JPEG and PNG image folders
#   dataset-fashion-mnist               a dataset available offline
#   cmake ninja-build g++               the build tools
# To test (and compare, plot, sanitize):
#   libgtest-dev                        the test suite
#   python3-torch python3-torchvision   PyTorch, to compare against (optional tests)
#   openmpi-bin                         mpirun, to test stage 3 under Open MPI (optional tests)
#   clang libclang-rt-dev               sanitizer and libFuzzer builds (scripts/sanitize.sh)
#   python3-matplotlib                  charts of runs and benchmarks (scripts/plot_metrics.py)
#   slurmctld slurmd slurm-client munge a Slurm cluster on this machine, for stage 5
#                                       (scripts/slurm_local.sh; without recommends:
#                                       they would pull in mail and database servers)
set -euo pipefail

RUN_PACKAGES=(
  libtorch-dev libgloo-dev libopenblas0-openmp libcxxopts-dev
  zlib1g-dev libjpeg-dev libpng-dev dataset-fashion-mnist
  cmake ninja-build g++
)
TEST_PACKAGES=(
  libgtest-dev python3-torch python3-torchvision python3-matplotlib openmpi-bin clang
  libclang-rt-dev
)
WITHOUT_RECOMMENDS=(slurmctld slurmd slurm-client munge)

die() { echo "install_deps.sh: error: $*" >&2; exit 1; }

case "${1:-}" in
  "") PACKAGES=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  --run-only) PACKAGES=("${RUN_PACKAGES[@]}") WITHOUT_RECOMMENDS=() ;;
  -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install_deps.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

# libblas.so.3, liblapack.so.3 and libopenblas.so.0 (LibTorch loads all three)
# from OpenBLAS's OpenMP build, where the
# pthreads build (which Debian prefers when both are installed) is also there.
use_openmp_blas() {
  local name dir=/usr/lib/x86_64-linux-gnu/openblas-openmp
  [[ -d $dir ]] || return 0
  for name in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
    if update-alternatives --query "$name-x86_64-linux-gnu" 2>/dev/null |
        grep -q "^Value: $dir/$name"; then
      continue
    fi
    "${SUDO[@]}" update-alternatives --set "$name-x86_64-linux-gnu" "$dir/$name" >/dev/null ||
      die "could not make $dir/$name the system's $name"
    echo "install_deps.sh: $name is now OpenBLAS's OpenMP build ($dir)"
  done
}

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing_packages() {
  local p
  for p in "${PACKAGES[@]}" "${WITHOUT_RECOMMENDS[@]}"; do
    is_installed "$p" || echo "$p"
  done
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  die "this script needs a Debian-based system (dpkg-query and apt-get)"
fi

SUDO=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || die "not root and sudo is not available; run as root"
  SUDO=(sudo)
fi

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} == 0)); then
  use_openmp_blas
  echo "install_deps.sh: all $((${#PACKAGES[@]} + ${#WITHOUT_RECOMMENDS[@]})) packages are already installed"
  exit 0
fi

echo "install_deps.sh: installing ${#missing[@]} missing package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -o Dpkg::Use-Pty=0 -o Acquire::Retries=3)
"${SUDO[@]}" apt-get "${apt_opts[@]}" update >/dev/null ||
  die "apt-get update failed"
# dpkg's hundreds of lines ("Unpacking ...") go to a log, shown when apt fails.
log=$(mktemp "${TMPDIR:-/tmp}/install_deps.XXXXXX.log")
apt_install() {
  "${SUDO[@]}" apt-get "${apt_opts[@]}" -qq -y install "$@" >>"$log" 2>&1 && return 0
  tail -n 20 "$log" >&2
  die "apt-get install failed: apt-get install $* (its whole output: $log)"
}
plain=() lean=()
for p in "${missing[@]}"; do
  if [[ " ${WITHOUT_RECOMMENDS[*]} " == *" $p "* ]]; then lean+=("$p"); else plain+=("$p"); fi
done
if ((${#plain[@]})); then apt_install "${plain[@]}"; fi
# Their own services are not used: scripts/slurm_local.sh starts daemons of its own.
if ((${#lean[@]})); then apt_install --no-install-recommends "${lean[@]}"; fi
rm -f "$log"

# Trust nothing: every package must now be installed.
mapfile -t still_missing < <(missing_packages)
if ((${#still_missing[@]} != 0)); then
  die "still not installed after apt-get: ${still_missing[*]}"
fi
use_openmp_blas
echo "install_deps.sh: done, all $((${#PACKAGES[@]} + ${#WITHOUT_RECOMMENDS[@]})) packages installed"
