#!/usr/bin/env bash
# Installs the Debian packages xpusim needs, only those missing.
# Non-interactive and idempotent; works as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsystemc-dev libyaml-cpp-dev libspdlog-dev catch2
  libcli11-dev nlohmann-json3-dev libeigen3-dev
  libonnx-dev libonnx-testdata libprotobuf-dev
  libopenmpi-dev openmpi-bin   # sweeps over MPI ranks (CMake XPUSIM_WITH_MPI, on when found)
  chromium                     # test_html renders report.html headless (skipped with a message when absent)
  # The Python package (python/) and its tests: pybind11 bindings, pandas
  # results, pytest through ctest, the matplotlib example, PyTorch models
  # exported to ONNX (torch.onnx.export needs no python3-onnx).
  pybind11-dev python3-dev python3-pytest python3-numpy python3-pandas python3-yaml python3-matplotlib
  python3-torch python3-torchvision
)
# --fuzz: also clang with libFuzzer and the ASan/UBSan runtimes (make fuzz only).
if [ "${1:-}" = "--fuzz" ]; then
  shift
  packages+=(clang libclang-rt-14-dev)
fi
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and neither root nor sudo" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
