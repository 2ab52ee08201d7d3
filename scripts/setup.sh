#!/usr/bin/env bash
# Installs everything plumage needs on a Debian/Ubuntu machine: libtorch (for the native backend), npm packages,
# and builds the libtorch addon. Without root or apt the addon is skipped and plumage runs on the wasm backend.
set -euo pipefail
cd "$(dirname "$0")/.."

# libtorch-dev: the native backend's engine. libopenblas0-pthread: Debian's libtorch does its matrix products through
# the system BLAS, which is the slow reference BLAS until OpenBLAS is installed (measured: 27x faster matmul).
if { ! dpkg -s libtorch-dev >/dev/null 2>&1 || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; } && [ -z "${LIBTORCH:-}" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends libtorch-dev libopenblas0-pthread >/dev/null
  else
    echo "setup: libtorch-dev is not installed and apt is not available as root; the torch backend will be skipped (wasm is used)" >&2
  fi
fi

# onnxruntime-node (ONNX export parity, `predict --runtime onnx`) ships its CPU binaries; skip its optional CUDA download.
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
npm ci --no-audit --no-fund
if dpkg -s libtorch-dev >/dev/null 2>&1 || [ -n "${LIBTORCH:-}" ]; then
  npm run build:torch
fi
