#!/usr/bin/env bash
# Remake the default weights (pconv-lasco-v1) from scratch: simulate 800 frames
# (seeds 1000000..1000799, generator version in config.json), train with the
# default TrainConfig (seed 20261122), then package and register the result.
# CPU: about 80 minutes on 2 cores (the run stops at --time-limit with a checkpoint;
# rerunning resumes). On a GPU add --device cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
corkit-inpaint -v train --out runs/pconv-lasco-v1 --workers 2 --time-limit 4800 "$@"
python weights/package_weights.py runs/pconv-lasco-v1 --name pconv-lasco-v1
