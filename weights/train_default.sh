#!/usr/bin/env bash
# Remake the default weights from scratch, in three recorded stages. Each stage's
# config.json (copied beside the weights) holds its full TrainConfig, the
# generator version, the seeds and the sha256 of the weights it started from.
#   1. pconv-lasco-v1: 800 simulated frames (seeds 1000000..1000799), guides
#      biharmonic + radial, 10,000 steps from random initialisation (seed 20261122).
#   2. v1 widened with the azimuthal guide (new input channels start at zero),
#      6,000 steps on 800 new frames (seeds 2000000..2000799).
#   3. pconv-lasco-v2: stage 2 plus a squared hole-error term, 2,500 steps on
#      600 new frames (seeds 3000000..3000599).
# CPU: about 75 + 45 + 20 minutes on 2 cores (a stage stops at --time-limit with
# a checkpoint; rerunning resumes). On a GPU add --device cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
corkit-inpaint -v train --out runs/pconv-lasco-v1 --extra-channels 2 --workers 2 --time-limit 4800 "$@"
python weights/package_weights.py runs/pconv-lasco-v1 --name pconv-lasco-v1
corkit-inpaint -v train --out runs/pconv-lasco-v2-stage2 --init weights/pconv-lasco-v1.pt \
    --first-frame-seed 2000000 --steps 6000 --lr 5e-4 --workers 2 --time-limit 2700 "$@"
corkit-inpaint -v train --out runs/pconv-lasco-v2 --init runs/pconv-lasco-v2-stage2/model.pt \
    --first-frame-seed 3000000 --frames 600 --steps 2500 --lr 3e-4 --w-hole-l2 1.0 \
    --workers 2 --time-limit 1500 "$@"
cp runs/pconv-lasco-v2-stage2/config.json weights/pconv-lasco-v2.stage2.config.json
python weights/package_weights.py runs/pconv-lasco-v2 --name pconv-lasco-v2 --default
