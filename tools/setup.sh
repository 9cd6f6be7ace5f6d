#!/usr/bin/env bash
# One command on a fresh Debian machine: install what kdasr needs, then run the main job on its built-in
# default (the MNIST §3 reproduction, `quick` preset). Extra arguments go to that run, e.g. `--preset smoke`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-apt.sh
# onnxruntime-node's postinstall fetches GPU files from a host this network does not reach; its CPU binaries ship in the package.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
node packages/cli/bin/kdasr.mjs env
exec node packages/cli/bin/kdasr.mjs experiment mnist --preset quick "$@"
