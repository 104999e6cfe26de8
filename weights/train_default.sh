#!/usr/bin/env bash
# Remake the default weights from scratch, in two recorded stages (each stage's
# config.json, beside its weights, holds the full TrainConfig, the generator
# version and the seeds):
#   1. pconv-lasco-v1: 800 simulated frames (seeds 1000000..1000799), guides
#      biharmonic + radial, 10,000 steps from random initialisation (seed 20261122).
#   2. pconv-lasco-v2: v1 widened with the azimuthal guide (new input channels
#      start at zero), fine-tuned on 800 new frames (seeds 2000000..2000799).
# CPU: about 80 + 50 minutes on 2 cores (a stage stops at --time-limit with a
# checkpoint; rerunning resumes). On a GPU add --device cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
corkit-inpaint -v train --out runs/pconv-lasco-v1 --extra-channels 2 --workers 2 --time-limit 4800 "$@"
python weights/package_weights.py runs/pconv-lasco-v1 --name pconv-lasco-v1
corkit-inpaint -v train --out runs/pconv-lasco-v2 --init weights/pconv-lasco-v1.pt \
    --first-frame-seed 2000000 --steps 6000 --lr 5e-4 --workers 2 --time-limit 2700 "$@"
python weights/package_weights.py runs/pconv-lasco-v2 --name pconv-lasco-v2 --default
