#!/usr/bin/env bash
# Installs everything plumage needs on a Debian/Ubuntu machine: libtorch (for the native backend), npm packages,
# and builds the libtorch addon. Without root or apt the addon is skipped and plumage runs on the wasm backend.
set -euo pipefail
cd "$(dirname "$0")/.."

# libtorch-dev: the native backend's engine. libopenblas0-pthread: Debian's libtorch does its matrix products through
# the system BLAS, which is the slow reference BLAS until OpenBLAS is installed (measured: 27x faster matmul).
# chromium: the real browser the web app's tests drive (playwright-core, headless; never `npx playwright install`).
# redis-server: the Redis server BullMQ's experiment queue runs on (`plumage experiment --queue`, `plumage worker`);
# the queue tests start their own instance on a loopback port. python3-torch: the PyTorch yardstick of bench:speed
# and bench:hub, and the writer of the real pytorch_model.bin files the checkpoint-reader tests load.
need=()
if [ -z "${LIBTORCH:-}" ]; then
  for p in libtorch-dev libopenblas0-pthread; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
fi
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: ${need[*]} not installed and apt is not available as root; without libtorch the torch backend is skipped (wasm is used); the browser, queue and PyTorch-file tests skip without theirs" >&2
  fi
fi

# onnxruntime-node (ONNX export parity, `predict --runtime onnx`) ships its CPU binaries; skip its optional CUDA download.
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
npm ci --no-audit --no-fund
if dpkg -s libtorch-dev >/dev/null 2>&1 || [ -n "${LIBTORCH:-}" ]; then
  npm run build:torch
fi
# The web app that `plumage serve` serves (web/ -> web/dist, bundled by Vite: no CDN at run time).
npm run build:web
