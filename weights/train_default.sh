#!/usr/bin/env bash
# Remake the default weights from scratch, in recorded stages. Each stage's
# config.json (copied beside the weights) holds its full TrainConfig, the
# generator version, the seeds and the sha256 of the weights it started from.
#   1. pconv-lasco-v1: 800 simulated frames (seeds 1000000..1000799), guides
#      biharmonic + radial, 10,000 steps from random initialisation (seed 20261122).
#   2. v1 widened with the azimuthal guide (new input channels start at zero),
#      6,000 steps on 800 new frames (seeds 2000000..2000799).
#   3. pconv-lasco-v2: stage 2 plus a squared hole-error term, 2,500 steps on
#      600 new frames (seeds 3000000..3000599).
#   Stages 1-3 drew generator version 2 frames; stage 4 draws version 3 (a
#   realistic star brightness function and a narrow, bright diffraction ring).
#   4. pconv-lasco-v3: v2 fine-tuned 6,000 steps on 800 version-3 frames
#      (seeds 4000000..4000799), with the squared term.
#   5. pconv-lasco-nb1, the neighbour model: v3 widened to 6 guides (the neighbours'
#      estimate, their count and spread; the new input weights start at zero) with its
#      first stage based on the neighbours' estimate (--base-guide 3) and the last layer of
#      each stage zeroed (--zero-head: it starts as the ratio fill), 3,000 steps on 400
#      simulated sequences (sequence generator 1, seeds 5000000..5000399: 55% with both
#      neighbours, 15% one, 12% none, 18% one replaced by another simulated day).
#   6. pconv-lasco-nb2: nb1 widened to 8 guides (the neighbours' estimate is now weighted
#      by each neighbour's misfit to the context; + that misfit over the noise, + the
#      window's noise), corrections in noise units where a neighbour has data (--step
#      noise) and errors measured in noise units, last layers zeroed again, 3,000 steps on
#      400 new sequences (seeds 6000000..6000399), L1 only (--w-hole-l2 0), 1 thread.
#   7. pconv-lasco-nb3 (the default until 0.1.17): nb2 fine-tuned (nothing widened or zeroed) 3,000 steps at a lower rate
#      (1e-4 to 2e-5) on 400 sequences of sequence generator 3 (seeds 9000000..9000399), whose C3 frames
#      have the real frames' radial profile (corkit_inpaint/training/profile.py), L1 only, 1 thread.
#   7b. pconv-lasco-nb3-soup, the default: the mean of the weights of nb3 and of two more fine-tunes of nb2
#      (the same at lr 3e-4, and on sequence generator 2), corkit_inpaint/training/soup.py.
# CPU: about 75 + 45 + 20 + 55 + 25 + 45 + 40 + 80 minutes on 2 cores. A stage that reaches --time-limit
# stops with a checkpoint and exit status 3, so the script stops there; rerunning the script goes
# on with that stage (a finished stage reruns as a no-op). A stage is resumed only with the settings
# it started with. Packaging (--force) replaces the registered files of each name: the script remakes
# them. On a GPU add --device cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
corkit-inpaint -v train --out runs/pconv-lasco-v1 --extra-channels 2 --generator-version 2 --workers 2 --time-limit 4800 "$@"
python weights/package_weights.py --force runs/pconv-lasco-v1 --name pconv-lasco-v1
corkit-inpaint -v train --out runs/pconv-lasco-v2-stage2 --init weights/pconv-lasco-v1.pt \
    --generator-version 2 --first-frame-seed 2000000 --steps 6000 --lr 5e-4 --workers 2 --time-limit 2700 "$@"
corkit-inpaint -v train --out runs/pconv-lasco-v2 --init runs/pconv-lasco-v2-stage2/model.pt \
    --generator-version 2 --first-frame-seed 3000000 --frames 600 --steps 2500 --lr 3e-4 --w-hole-l2 1.0 \
    --workers 2 --time-limit 1500 "$@"
cp runs/pconv-lasco-v2-stage2/config.json weights/pconv-lasco-v2.stage2.config.json
python weights/package_weights.py --force runs/pconv-lasco-v2 --name pconv-lasco-v2 \
    --description "Partial-conv UNet (2 stages, biharmonic + radial + azimuthal guides) for LASCO C2/C3 missing blocks, trained on simulated level-0.5 frames"
corkit-inpaint -v train --out runs/pconv-lasco-v3 --init weights/pconv-lasco-v2.pt \
    --generator-version 3 --first-frame-seed 4000000 --frames 800 --steps 6000 --lr 3e-4 --w-hole-l2 1.0 \
    --workers 2 --time-limit 3300 "$@"
python weights/package_weights.py --force runs/pconv-lasco-v3 --name pconv-lasco-v3 --default \
    --description "Partial-conv UNet (2 stages, biharmonic + radial + azimuthal guides) for LASCO C2/C3 missing blocks, trained on simulated level-0.5 frames (generator v2, then v3)"
corkit-inpaint -v train --out runs/pconv-lasco-nb1 --init pconv-lasco-v3 --extra-channels 6 --base-guide 3 \
    --zero-head --sequences --first-frame-seed 5000000 --frames 400 --steps 3000 --lr 3e-4 --lr-final 5e-5 \
    --w-hole-l2 1.0 --workers 2 --threads 2 --time-limit 2100 "$@"
python weights/package_weights.py --force runs/pconv-lasco-nb1 --name pconv-lasco-nb1 \
    --description "Partial-conv UNet (2 stages) that also reads the neighbouring frames (their ratio-scaled estimate, count and spread), fine-tuned from pconv-lasco-v3 on simulated LASCO sequences"
corkit-inpaint -v train --out runs/pconv-lasco-nb2 --init pconv-lasco-nb1 --extra-channels 8 --base-guide 3 \
    --step noise --zero-head --sequences --first-frame-seed 6000000 --frames 400 --steps 3000 --lr 3e-4 \
    --lr-final 5e-5 --w-hole-l2 0 --workers 2 --threads 1 --time-limit 3000 "$@"
python weights/package_weights.py --force runs/pconv-lasco-nb2 --name pconv-lasco-nb2 \
    --description "Partial-conv UNet (2 stages) that reads the neighbouring frames (their misfit-weighted, ratio-scaled estimate, count, spread and misfit) and corrects their estimate in noise units; fine-tuned from pconv-lasco-nb1 on simulated LASCO sequences"
corkit-inpaint -v train --out runs/pconv-lasco-nb3 --init pconv-lasco-nb2 --extra-channels 8 --base-guide 3 \
    --step noise --sequences --sequence-version 3 --first-frame-seed 9000000 --frames 400 --steps 3000 --lr 1e-4 \
    --lr-final 2e-5 --w-hole-l2 0 --workers 1 --threads 1 --time-limit 3300 "$@"
python weights/package_weights.py --force runs/pconv-lasco-nb3 --name pconv-lasco-nb3 \
    --description "Partial-conv UNet (2 stages) that reads the neighbouring frames (their misfit-weighted, ratio-scaled estimate, count, spread and misfit) and corrects their estimate in noise units; pconv-lasco-nb2 fine-tuned on simulated LASCO sequences with C3's real radial profile (sequence version 3)"
# Stage 7b: pconv-lasco-nb3-soup, the default since 0.1.17: the mean of the weights of three fine-tunes of nb2
# that differ only in their rate or their sequences (corkit_inpaint/training/soup.py; docs/soup_2026-12-06.json):
# nb3 (stage 7), the same at lr 3e-4 to 5e-5, and the same on sequence version 2 (no C3 radial profile).
# Each takes about 40 minutes on one core (13 of them simulating the sequences).
corkit-inpaint -v train --out runs/pconv-lasco-nb3-lr3 --init pconv-lasco-nb2 --extra-channels 8 --base-guide 3 \
    --step noise --sequences --sequence-version 3 --first-frame-seed 9000000 --frames 400 --steps 3000 --lr 3e-4 \
    --lr-final 5e-5 --w-hole-l2 0 --workers 1 --threads 1 --time-limit 3300 "$@"
corkit-inpaint -v train --out runs/pconv-lasco-nb3-seq2 --init pconv-lasco-nb2 --extra-channels 8 --base-guide 3 \
    --step noise --sequences --sequence-version 2 --first-frame-seed 9000000 --frames 400 --steps 3000 --lr 1e-4 \
    --lr-final 2e-5 --w-hole-l2 0 --workers 1 --threads 1 --time-limit 3300 "$@"
python weights/package_weights.py --force runs/pconv-lasco-nb3-lr3 --name pconv-lasco-nb3-lr3 \
    --description "pconv-lasco-nb2 fine-tuned 3,000 steps on simulated LASCO sequences (version 3) at lr 3e-4 to 5e-5: an ingredient of the default, pconv-lasco-nb3-soup"
python weights/package_weights.py --force runs/pconv-lasco-nb3-seq2 --name pconv-lasco-nb3-seq2 \
    --description "pconv-lasco-nb2 fine-tuned 3,000 steps on simulated LASCO sequences of version 2 (no C3 radial profile) at lr 1e-4 to 2e-5: an ingredient of the default, pconv-lasco-nb3-soup"
python -m corkit_inpaint.training.soup --out runs/pconv-lasco-nb3-soup runs/pconv-lasco-nb3/model.pt \
    runs/pconv-lasco-nb3-lr3/model.pt runs/pconv-lasco-nb3-seq2/model.pt
python weights/package_weights.py --force runs/pconv-lasco-nb3-soup --name pconv-lasco-nb3-soup --default \
    --description "The mean of the weights of three fine-tunes of pconv-lasco-nb2 on simulated LASCO sequences (pconv-lasco-nb3, the same at a higher rate, the same on sequence version 2): a model soup"
# Stage 8: the error tables that give every fill its sigma (corkit_inpaint/uncertainty), fitted for the
# default model's weights and the classical methods on simulated holes (frame seeds 70,000,000+,
# sequence seeds 71,000,000+, large losses from seed 72,000,000; settings recorded in the file's "fit" entry). The
# single frames are the sequence simulator's target frames alone (--frames-from sequence), and the sequences are
# version 5 (since 0.1.19; version 3, the default model's training kind, until then): its C3 frames carry the
# F corona's equatorial band, and with it the real frames' large-scale structure, which version 3's lack 1.8-6x at
# 32-96 px, so the deep cells of C3's large losses were too narrow (docs/tables_v5_2026-12-06.json). About 40 min on
# one core of a busy 2-core machine.
OMP_NUM_THREADS=1 python -m corkit_inpaint.uncertainty.fit --out corkit_inpaint/data/error_tables.json \
    --methods pconv-smooth biharmonic fuzzy ratio --frames 40 --sequences 32 --repeats 2 \
    --frames-from sequence --sequence-version 5
# ... pconv-lasco-nb3's (the default until 0.1.17) beside it, for fills asked for with --weights pconv-lasco-nb3 ...
# (The shipped file was fitted in another order, nb3 first and the soup added; a table depends only on its own
# method and weights and on the shared settings, so the tables are the same.)
OMP_NUM_THREADS=1 python -m corkit_inpaint.uncertainty.fit --add-to corkit_inpaint/data/error_tables.json \
    --methods pconv-smooth --weights pconv-lasco-nb3 --frames 40 --sequences 32 --repeats 2 \
    --frames-from sequence --sequence-version 5
# ... and pconv-lasco-nb2's table beside it, for fills asked for with --weights pconv-lasco-nb2 (about 15 min).
OMP_NUM_THREADS=1 python -m corkit_inpaint.uncertainty.fit --add-to corkit_inpaint/data/error_tables.json \
    --methods pconv-smooth --weights pconv-lasco-nb2 --frames 40 --sequences 32 --repeats 2 \
    --frames-from sequence --sequence-version 5
# ... and last the default model's table again, measuring the guides' spread without the guide farthest from
# the fill (--spread near, since 0.1.18: docs/spread_2026-12-06.json); it replaces the table the first command
# fitted for the soup (about 10 min).
OMP_NUM_THREADS=1 python -m corkit_inpaint.uncertainty.fit --add-to corkit_inpaint/data/error_tables.json \
    --methods pconv-smooth --weights pconv-lasco-nb3-soup --spread near --frames 40 --sequences 32 --repeats 2 \
    --frames-from sequence --sequence-version 5
# ... and its widening where the neighbouring frames disagree with the frame or each other (since 0.1.22,
# corkit_inpaint/uncertainty/widen.py): a factor per cell of the neighbours' misfit and spread, fitted on 320
# simulated sequences of the file's version (5; seeds 73,000,000+, neighbours 12/24/36 min away). About 8 min.
OMP_NUM_THREADS=1 python -m corkit_inpaint.uncertainty.widen_fit --tables corkit_inpaint/data/error_tables.json \
    --sequences 320
# ... and ratio's, the same way (about 8 min).
OMP_NUM_THREADS=1 python -m corkit_inpaint.uncertainty.widen_fit --tables corkit_inpaint/data/error_tables.json \
    --method ratio --sequences 320
# Stage 9: pconv-lasco-nb2-sigma (not the default): pconv-lasco-nb2 with a spread head, the network's own per-pixel
# 1-sigma (corkit_inpaint/network/spread.py). The fill's tensors are frozen (its fill is nb2's bit for bit); the
# head learns a Laplace likelihood of the fill's misses, 2,500 steps on 300 new simulated sequences (seeds
# 8000000..8000299) and 150 single simulated frames (seeds 8500000..8500149); the last 15% of each part's samples
# are held out to fold the Laplace scale into the 68.27% half-width. About 14 minutes on 2 CPU cores.
OMP_NUM_THREADS=2 python -m corkit_inpaint.training.spread --out runs/pconv-lasco-nb2-sigma --init pconv-lasco-nb2 \
    --frames 300 --single 150 --first-frame-seed 8000000 --steps 2500 --workers 2 --threads 2
python weights/package_weights.py --force runs/pconv-lasco-nb2-sigma --name pconv-lasco-nb2-sigma \
    --description "pconv-lasco-nb2 with a spread head: beside its fill (nb2's, bit for bit) the network predicts each filled pixel's 68.27% half-width, trained by a Laplace likelihood on simulated LASCO sequences and frames with the fill frozen"
