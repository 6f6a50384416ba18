#!/usr/bin/env bash
# Install the Debian packages lola needs (as root on Debian), or say exactly what to do.
set -euo pipefail
packages=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
if command -v apt-get >/dev/null; then
  echo "deps: missing Debian packages; install them with:" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
else
  cat >&2 <<TXT
deps: this is not a Debian system. lola needs, found through pkg-config:
  an MPI C compiler (Open MPI or MPICH), parallel HDF5 (hdf5-openmpi or hdf5-mpich),
  libconfig, OpenBLAS and single-precision FFTW. On a cluster, for example:
  module load openmpi hdf5/parallel libconfig openblas fftw
TXT
  pkg-config --exists hdf5-openmpi libconfig openblas fftw3f 2>/dev/null && exit 0
fi
exit 1
