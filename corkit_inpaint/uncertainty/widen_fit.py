"""Fit a `corkit_inpaint.uncertainty.widen.Widening` on simulated sequences and add it to a tables file.

Middle frames of simulated sequences (seeds from `WIDEN_SEED0`, a range used
by no training, table fit or evaluation; the neighbours 12, 24 or 36 minutes
before and after, in turn; the simulator version the file's tables were fitted
on) are blanked with the loss patterns of training and
evaluation and filled by the method from both neighbours, without the check of
the sigma. For every filled pixel with neighbour data, the error in the
stretched space over the sigma of the file's own table (without
any widening: the table the factors widen) goes into a
histogram per (misfit, disagreement) cell. A cell's factor is the 68.27%
quantile of its histogram over the first cell's; a cell with fewer than
`corkit_inpaint.uncertainty.fit.MIN_COUNT` pixels takes its lower
neighbours' value (`corkit_inpaint.uncertainty.widen.monotone`).

Run as ``python -m corkit_inpaint.uncertainty.widen_fit --tables FILE [--sequences 240]``:
the factors go into the table of the method and weights in FILE, and the
fit's settings into its record (``fit["widen"][table key]``).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from ..exceptions import CorkitInpaintError
from .fit import R_EDGES, hist_quantile
from .widen import DISAGREE_EDGES, MISFIT_EDGES, Widening, cells, monotone

__all__ = ["WIDEN_SEED0", "GAPS", "collect_z", "fit_widening", "read_tables_doc", "add_widening", "main"]

log = logging.getLogger(__name__)

#: Seed of the first simulated sequence the factors are fitted on.
WIDEN_SEED0 = 73_000_000
#: Minutes between the target and each neighbour, sequence by sequence in turn.
GAPS = (12.0, 24.0, 36.0)


def collect_z(n: int, *, method: str = "pconv-smooth", weights=None, repeats: int = 1,
              sequence_version: str | None = None, progress: bool = True,
              tables: str | Path | None = None) -> tuple[np.ndarray, str]:
    """Histograms of ``|error| / sigma`` per (misfit, disagreement) cell over ``n`` simulated sequences.

    ``sigma`` is the table's own (before any widening) of the tables file ``tables`` (None: the shipped one),
    the table the factors will widen.

    Returns
    -------
    hist : numpy.ndarray of int
        ``(len(MISFIT_EDGES) - 1, len(DISAGREE_EDGES) - 1, R_EDGES.size + 1)``.
    sha256 : str
        The weights' sha256 (the table's key).
    """
    from tqdm import tqdm

    from ..fill import run_method
    from ..frame import Frame
    from ..network.windows import frame_windows
    from ..register import register_all
    from ..training.loss_masks import PATTERNS, blanked_copies
    from ..training.sequence import SEQUENCE_VERSION, make_sequence
    from ..training.simulator import KINDS
    from .features import neighbour_cover, pixel_features
    from .tables import load_tables, parse_tables, table_key
    tabs = load_tables() if tables is None else parse_tables(read_tables_doc(tables))   # the file as it is now
    rng = np.random.default_rng(WIDEN_SEED0)
    hist = np.zeros((len(MISFIT_EDGES) - 1, len(DISAGREE_EDGES) - 1, R_EDGES.size + 1), dtype=np.int64)
    sha = ""
    for i in tqdm(range(n), desc="simulated sequences", disable=not progress):
        det, summed = KINDS[i % len(KINDS)]
        gap = GAPS[(i // len(KINDS)) % len(GAPS)]
        (b, (img, hdr), a) = make_sequence(WIDEN_SEED0 + i, (-gap, 0.0, gap), detector=det, summed=summed,
                                           version=sequence_version or SEQUENCE_VERSION).frames
        nbs = register_all([b, a], hdr, img.shape)      # the same for every mask of the frame
        for _, _, _, mask, test in blanked_copies(img, hdr, rng, repeats, PATTERNS):
            frame = Frame.build(test, mask, hdr)
            res = run_method(method, frame, neighbours=nbs, weights=weights, device="cpu", check_sigma=False)
            sha = res.provenance.sha256
            table = tabs.get(table_key(method, sha))
            if table is None:
                raise CorkitInpaintError(f"no error table for {method} with weights {sha[:12]}"
                                         f"{'' if tables is None else f' in {tables}'}: fit it first "
                                         "(python -m corkit_inpaint.uncertainty.fit)")
            windows, owned, _ = frame_windows(frame, nbs)
            f = res.filled
            feats = pixel_features(frame, f, neighbour_cover(frame, nbs), (windows, owned), res.values)
            s = table.stretched(feats, widened=False)
            st = frame.stretch
            err = st.forward(res.values[f]) - st.forward(np.asarray(img, dtype=np.float64)[f])
            keep = feats.neighbour & (s > 0)
            r = np.abs(err[keep]) / s[keep]
            np.add.at(hist, (*cells(feats.misfit[keep], feats.disagree[keep]), np.searchsorted(R_EDGES, r)), 1)
    return hist, sha


def fit_widening(hist: np.ndarray, min_count: int | None = None) -> Widening:
    """The factors of histograms ``hist`` (`collect_z`): each cell's 68.27% quantile over the first cell's."""
    from .fit import MIN_COUNT
    min_count = MIN_COUNT if min_count is None else min_count
    n = hist.sum(-1)
    if n[0, 0] < min_count:
        raise ValueError(f"only {int(n[0, 0])} pixels in the first cell: too few to fit on")
    q = hist_quantile(hist)
    factor = np.where(n >= min_count, q / q[0, 0], np.nan)
    return Widening(monotone(factor), n)


def read_tables_doc(path: str | Path) -> dict:
    """The parsed tables file ``path``; `ValueError` when it cannot be read or is not a usable tables file."""
    from .tables import parse_tables
    try:
        doc = json.loads(Path(path).read_text())
        parse_tables(doc)
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: not a usable tables file ({exc})") from None
    return doc


def add_widening(path: str | Path, key: str, widening: Widening, meta: dict) -> None:
    """Put ``widening`` into table ``key`` of the tables file ``path`` and ``meta`` into its record,
    ``fit["widen"][key]`` (each widened table's fit has its own), atomically; `ValueError` when the file cannot be
    read or has no such table."""
    from ..tempfiles import write_text_atomic
    doc = read_tables_doc(path)
    if key not in doc["tables"]:
        raise ValueError(f"{path} has no table {key!r}: fit it first (python -m corkit_inpaint.uncertainty.fit)")
    doc["tables"][key]["widen"] = widening.to_json()
    if not isinstance(doc.get("fit"), dict):
        doc["fit"] = {}
    records = doc["fit"].get("widen")
    doc["fit"]["widen"] = {**(records if isinstance(records, dict) else {}), key: meta}
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")


def main(argv=None) -> int:
    """Fit the factors and add them to a tables file (see the module docstring)."""
    from ..provenance import source_provenance
    from ..threads import set_threads
    from ..training.sequence import SEQUENCE_VERSION, SEQUENCE_VERSIONS
    from .tables import table_key
    p = argparse.ArgumentParser(prog="python -m corkit_inpaint.uncertainty.widen_fit",
                                description=__doc__.split("\n")[0])
    p.add_argument("--tables", required=True, help="the tables file whose table is widened (written in place)")
    p.add_argument("--method", default="pconv-smooth")
    p.add_argument("--weights", default=None, help="the network's weights (default: the default model)")
    p.add_argument("--sequences", type=int, default=240, help="simulated sequences (default 240)")
    p.add_argument("--repeats", type=int, default=1, help="masks per loss pattern per sequence (default 1)")
    p.add_argument("--sequence-version", choices=SEQUENCE_VERSIONS, default=None,
                   help="sequence simulator version (default: the one the file's tables were fitted on, else "
                        f"{SEQUENCE_VERSION})")
    args = p.parse_args(argv)
    if args.sequences < 1 or args.repeats < 1:
        p.error("give --sequences and --repeats >= 1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    set_threads(None)
    try:
        doc = read_tables_doc(args.tables)       # what would fail only after the fit, checked before it
        if args.sequence_version is None:        # the table's own simulated sequences, which it widens
            fitted = doc.get("fit", {}).get("sequence_version") if isinstance(doc.get("fit"), dict) else None
            args.sequence_version = fitted if fitted in SEQUENCE_VERSIONS else SEQUENCE_VERSION
        source = source_provenance()             # the code that fits, not what the tree holds when it ends
        hist, sha = collect_z(args.sequences, method=args.method, weights=args.weights, repeats=args.repeats,
                              sequence_version=args.sequence_version, tables=args.tables)
        widening = fit_widening(hist)
        meta = {"method": args.method, "weights": args.weights, "sequences": args.sequences,
                "sequence_seed0": WIDEN_SEED0, "gaps_minutes": list(GAPS), "repeats": args.repeats,
                "sequence_version": args.sequence_version, "mask_seed": WIDEN_SEED0} | source
        add_widening(args.tables, table_key(args.method, sha), widening, meta)
    except (OSError, ValueError, CorkitInpaintError) as exc:
        p.exit(1, f"{p.prog}: {exc}\n")
    log.info("factors (rows: misfit, columns: disagreement):\n%s", np.round(widening.factor, 3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
