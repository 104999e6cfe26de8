#!/usr/bin/env bash
# Remake the design's two Fourier-space variants (issue 16) with the recipe of the default
# model's last stage (stage 6 of weights/train_default.sh, which made pconv-lasco-nb2):
# from pconv-lasco-nb1, widened to 8 guides, the last layer of each stage zeroed, 3,000 steps
# on the same 400 simulated sequences (seeds 6000000..6000399), the same seed (20261122),
# learning rates, losses and teacher forcing. The only difference from pconv-lasco-nb2 is the
# architecture (--arch); every new part starts at zero, so each starts as the nb1 network does.
#   pconv-fourier-lasco-nb2: + Fourier skips and Fourier attention in every decoder level.
#   fourier-vae-lasco-nb2:   + a Gaussian latent at the last stage's bottleneck (a conditional
#                            VAE, KL weight --w-kl 1 per hole pixel).
# CPU: about 45 minutes each with one thread (the two can run side by side on two cores).
# On a GPU add --device cuda. The same --arch works with every stage of train_default.sh,
# which remakes a variant from random initialisation (about 4.5 h each on two CPU cores).
set -euo pipefail
cd "$(dirname "$0")/.."
for arch in pconv-fourier fourier-vae; do
    corkit-inpaint -v train --out "runs/$arch-lasco-nb2" --arch "$arch" --init pconv-lasco-nb1 --extra-channels 8 \
        --base-guide 3 --step noise --zero-head --sequences --first-frame-seed 6000000 --frames 400 --steps 3000 \
        --lr 3e-4 --lr-final 5e-5 --w-hole-l2 0 --workers 2 --threads 1 --time-limit 5400 "$@"
done
python weights/package_weights.py --force runs/pconv-fourier-lasco-nb2 --name pconv-fourier-lasco-nb2 \
    --description "Partial-conv UNet (2 stages) with Fourier skips and channel attention over the Fourier transform in its decoder (the design's variant 3); pconv-lasco-nb2's last training stage, from pconv-lasco-nb1"
python weights/package_weights.py --force runs/fourier-vae-lasco-nb2 --name fourier-vae-lasco-nb2 \
    --description "Fourier-space conditional VAE (the design's variant 2): pconv-fourier with a Gaussian latent at the last stage's bottleneck; its draws give the fill's sigma; pconv-lasco-nb2's last training stage, from pconv-lasco-nb1"
# pconv-fourier's error table (its sigma), on the same simulated holes as stage 8 of train_default.sh,
# added to the shipped tables file (fourier-vae's sigma is the spread of its draws). About 26 min on one core of a busy
# 2-core machine.
OMP_NUM_THREADS=1 python -m corkit_inpaint.uncertainty.fit --add-to corkit_inpaint/data/error_tables.json \
    --methods pconv-smooth --weights pconv-fourier-lasco-nb2 --frames 40 --sequences 32 --repeats 2 \
    --frames-from sequence --sequence-version 5
