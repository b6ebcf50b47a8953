#!/usr/bin/env bash
# Fills .gpu-carry/ (ignored by git) with what scripts/gpu_check.sh needs on a
# GPU machine that has no network and no Debian packages: cxxopts' header,
# GoogleTest's sources, libjpeg (Debian's libjpeg62-turbo: headers and the
# shared library, which needs only glibc 2.14) and the Fashion-MNIST files
# (about 36 MB in all), plus, with --cifar, the CIFAR-10 JPEG archive from
# ../shared (19.8 MB) for the time-to-accuracy run.
#   scripts/prepare_gpu_carry.sh [--cifar]
# Then carry the folder along, e.g. with the device tool's carry [".gpu-carry"].
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
carry=$root/.gpu-carry
die() { echo "prepare_gpu_carry.sh: error: $*" >&2; exit 2; }

[[ -f /usr/include/cxxopts.hpp ]] || die "no /usr/include/cxxopts.hpp (apt-get install libcxxopts-dev)"
[[ -f /usr/src/googletest/CMakeLists.txt ]] || die "no /usr/src/googletest (apt-get install libgtest-dev)"
fashion=/usr/share/datasets/fashion-mnist
[[ -f $fashion/train-images-idx3-ubyte.gz ]] || die "no $fashion (apt-get install dataset-fashion-mnist)"

jpeg_library=/usr/lib/x86_64-linux-gnu/libjpeg.so.62
[[ -f /usr/include/jpeglib.h && -f $jpeg_library ]] || die "no libjpeg (apt-get install libjpeg-dev)"

rm -rf "$carry"
mkdir -p "$carry/cxxopts" "$carry/fashion-mnist" "$carry/libjpeg/include" "$carry/libjpeg/lib"
cp /usr/include/cxxopts.hpp "$carry/cxxopts/"
cp /usr/include/{jpeglib.h,jerror.h,jmorecfg.h} /usr/include/x86_64-linux-gnu/jconfig.h \
  "$carry/libjpeg/include/"
# Real files, not links (links may not travel): the name to link and the soname.
cp -L "$jpeg_library" "$carry/libjpeg/lib/libjpeg.so.62"
cp -L "$jpeg_library" "$carry/libjpeg/lib/libjpeg.so"
cp -r /usr/src/googletest "$carry/googletest"
cp "$fashion"/*.gz "$carry/fashion-mnist/"
if [[ ${1:-} == --cifar ]]; then
  archive=$root/../shared/datasets/cifar10-jpeg.tar.gz
  [[ -f $archive ]] || die "no $archive"
  cp "$archive" "$carry/"
fi
du -sh "$carry"
