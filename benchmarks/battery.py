"""Hostile-input battery for the ``corkit-inpaint fill`` command line.

The battery builds about 280 mutated inputs, deterministically (seeded), from
the real LASCO C2 level-0.5 frame ``tests/data/lasco_clear.fts`` (with five
signal-carrying 32x32 blocks blanked so that the file needs filling) and, when
present, the real 1024x1024 frames ``tests/data/c2_22104858.fts`` and
``c3_32219521.fts`` (only read; copied into the scratch folder). Each case runs
the installed console script in a subprocess, under an address-space limit
and a timeout, two at a time by default, and is classified:

``success``
    exit 0; every expected output exists, is readable FITS with an
    ``INPMASK`` extension of the primary's shape, and its primary data equal
    the input's (read with astropy) wherever ``INPMASK`` is 0.
``clean error``
    exit 1 or 2; no ``Traceback``; every error message on stderr is one line
    (``corkit-inpaint: error: ...``, or argparse's usage error); no output and
    no temporary file (``.*.tmp``) left behind, and an output that existed
    before is unchanged.
``crash``
    anything else: a traceback, another exit code, a signal, the timeout, the
    memory limit, a leftover file, changed valid pixels... The reason is
    recorded.

Whatever the outcome, an input whose sha256 changed makes the case a crash
(reason ``input modified``). Each case also carries an expectation (``ok``,
``refuse`` or ``either``); outcomes that contradict it are listed apart as
possible defects, not counted as crashes.

Parameters
----------
--out DIR
    Scratch folder (default: a new temporary folder). Each case gets
    ``DIR/cases/NNN_name``; folders of passing cases are removed unless
    ``--keep``, those of crashes are kept for reproduction.
--jobs N
    Cases run in parallel (default 2).
--json PATH
    Also write every case's result (argv, exit code, status, reason, stderr
    tail, notes) as JSON.
--cli PATH
    The console script (default: ``corkit-inpaint`` beside ``sys.executable``).
--limit N
    Build and run only the first N cases.
--mem-gb G
    RLIMIT_AS of each child, in GiB (default 4).
--timeout S
    Wall-clock limit of each child, in seconds (default 120).
--seed N
    Seed of the random mutations (default 20240501).
--only SUBSTR
    Run only the cases whose name or category contains SUBSTR.
--keep
    Keep every case folder.

Notes
-----
The children run with ``OMP_NUM_THREADS=1``; most cases use ``--method
biharmonic`` (fast, no model), a few the default ``pconv``. The whole battery
takes a few minutes on two cores. Only numpy and astropy are needed, in the
interpreter that runs the battery; the tool itself can live elsewhere
(``--cli``). The Markdown report goes to stdout, progress to stderr.

Examples
--------
::

    .venv/bin/python benchmarks/battery.py --json /tmp/battery.json > battery.md
    .venv/bin/python benchmarks/battery.py --only path --keep --out /tmp/bat
"""

from __future__ import annotations

import argparse
import bz2
import concurrent.futures as cf
import gzip
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

# astropy warns loudly about the archive headers (tabs in HISTORY, odd cards);
# warnings.catch_warnings is not thread-safe, so silence them once for all.
warnings.simplefilter("ignore")

REPO = Path(__file__).resolve().parents[1]
GOOD = REPO / "tests" / "data" / "lasco_clear.fts"
REAL_1024 = {"c2": REPO / "tests" / "data" / "c2_22104858.fts", "c3": REPO / "tests" / "data" / "c3_32219521.fts"}
BLOCK = 32
CARD = 80
FITS_BLOCK = 2880
# Signal-carrying blocks of lasco_clear.fts blanked to make a file that needs filling.
BLANK_512 = [(3, 4), (10, 5), (12, 13), (4, 9), (4, 10)]
METHOD = ["--method", "biharmonic"]
CATEGORIES = ["hdr-delete", "hdr-numeric", "hdr-structure", "hdr-level-detector", "data",
              "file-truncate", "file-bitflip", "file-format", "path", "real-1024"]
ERR_LINE = re.compile(r"^corkit-inpaint( [\w-]+)?: error: ")
# Any line the program writes starts with its name (errors, summaries); a line
# that does not is a continuation of a multi-line message.
PROG_LINE = re.compile(r"^corkit-inpaint( [\w-]+)?: ")
LOG_LINE = re.compile(r"^(WARNING|INFO|DEBUG|ERROR|CRITICAL): ")
# a tqdm progress bar, e.g. "filling:  50%|#####     | 1/2 [00:00<00:00,  5.73file/s]"
TQDM_BAR = re.compile(r"[\w .-]*:\s*\d+%\|[^|\r\n]*\|[^\[\r\n]*\[[^\]\r\n]*\]")


# --------------------------------------------------------------------------
# Raw FITS helpers: cards and HDUs are built byte by byte, so that any lie can
# be written (astropy refuses or "fixes" many of them).
# --------------------------------------------------------------------------

def card(key: str, raw: str = "", comment: str = "") -> bytes:
    """One 80-byte card ``KEY = raw / comment``; ``raw`` is the literal value text.

    A string value is given with its quotes (``"'C2'"``); an empty ``raw`` makes a
    card with an undefined value. Non-ASCII text is kept (latin-1 bytes).
    """
    if raw.startswith("'"):
        val = f"{raw:<20}"
    else:
        val = f"{raw:>20}"
    text = f"{key:<8}= {val}" + (f" / {comment}" if comment else "")
    return text.encode("latin-1", "replace")[:CARD].ljust(CARD, b" ")


def raw_card(text: str | bytes) -> bytes:
    """A card given verbatim (commentary cards, garbage), padded to 80 bytes."""
    b = text.encode("latin-1", "replace") if isinstance(text, str) else text
    return b[:CARD].ljust(CARD, b" ")


def fmt_str(s: str) -> str:
    """A FITS string literal (quotes doubled, padded to 8 characters)."""
    return "'" + f"{s.replace(chr(39), chr(39) * 2):<8}" + "'"


def split_cards(raw: bytes) -> tuple[list[bytes], int]:
    """The primary header's cards (END excluded) and the header length in bytes.

    Raises ValueError when no END card exists.
    """
    cards = []
    for i in range(0, len(raw) - CARD + 1, CARD):
        c = raw[i:i + CARD]
        if c[:8] == b"END     ":
            hlen = -(-(i + CARD) // FITS_BLOCK) * FITS_BLOCK
            return cards, hlen
        cards.append(c)
    raise ValueError("no END card")


def key_of(c: bytes) -> str:
    return c[:8].decode("latin-1").strip()


def header_bytes(cards: list[bytes], end: bool = True) -> bytes:
    """Cards (plus END) padded with blanks to a multiple of 2880 bytes."""
    h = b"".join(cards) + (raw_card("END") if end else b"")
    return h + b" " * (-len(h) % FITS_BLOCK)


def pad_data(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % FITS_BLOCK)


def set_card(cards: list[bytes], key: str, raw: str) -> list[bytes]:
    """Replace the first ``key`` card (or append one) with ``key = raw``."""
    out = list(cards)
    new = card(key, raw)
    for i, c in enumerate(out):
        if key_of(c) == key:
            out[i] = new
            return out
    out.append(new)
    return out


def del_cards(cards: list[bytes], *keys: str) -> list[bytes]:
    return [c for c in cards if key_of(c) not in keys]


BITPIX = {np.dtype("uint8"): 8, np.dtype(">i2"): 16, np.dtype(">i4"): 32, np.dtype(">i8"): 64,
          np.dtype(">f4"): -32, np.dtype(">f8"): -64}
STRUCTURAL = {"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "EXTEND", "END",
              "BZERO", "BSCALE", "BLANK"} | {f"NAXIS{i}" for i in range(1, 1000)}


def to_fits_dtype(a: np.ndarray) -> np.ndarray:
    """Big-endian copy in a FITS storage type (uint8, i2, i4, i8, f4, f8)."""
    a = np.asarray(a)
    kind = {"u1": "uint8", "i1": ">i2", "i2": ">i2", "i4": ">i4", "i8": ">i8", "u2": ">i4",
            "u4": ">i8", "f2": ">f4", "f4": ">f4", "f8": ">f8", "b1": "uint8"}.get(a.dtype.str[1:], ">f8")
    return a.astype(kind)


def hdu_bytes(data: np.ndarray | None, cards: list[bytes] = (), *, primary: bool = True,
              extra: list[bytes] = (), extname: str | None = None) -> bytes:
    """One HDU, structural cards first, then ``cards`` (non-structural only) and ``extra``.

    ``extra`` cards are appended verbatim, so BZERO/BSCALE/BLANK lies go there.
    """
    if data is None:
        bitpix, shape, body = 8, (), b""
    else:
        d = to_fits_dtype(data)
        bitpix, shape, body = BITPIX[d.dtype], d.shape, d.tobytes()
    head = [card("SIMPLE", "T")] if primary else [card("XTENSION", fmt_str("IMAGE"))]
    head += [card("BITPIX", str(bitpix)), card("NAXIS", str(len(shape)))]
    head += [card(f"NAXIS{i + 1}", str(n)) for i, n in enumerate(reversed(shape))]
    if primary:
        head.append(card("EXTEND", "T"))
    else:
        head += [card("PCOUNT", "0"), card("GCOUNT", "1")]
        if extname:
            head.append(card("EXTNAME", fmt_str(extname)))
    head += [c for c in cards if key_of(c) not in STRUCTURAL] + list(extra)
    return header_bytes(head) + pad_data(body)


# --------------------------------------------------------------------------
# Base material, built once and shared (read-only) by the case builders.
# --------------------------------------------------------------------------

@dataclass
class Base:
    """A real frame: its raw bytes, header cards, data, and a blanked variant."""
    raw: bytes              # the file as it is
    cards: list[bytes]      # primary header cards, END excluded
    hlen: int               # header length in bytes
    data: np.ndarray        # stored data (big-endian, as on disk)
    blanked: np.ndarray     # data with signal blocks set to 0
    blocks: list            # the blanked blocks
    raw_blanked: bytes      # the file with those blocks zeroed, header verbatim

    @property
    def nbytes(self) -> int:
        return self.data.nbytes


def load_base(path: Path, blocks: list | None, seed: int) -> Base:
    """Read ``path`` byte by byte and blank ``blocks`` (chosen from the signal when None)."""
    raw = path.read_bytes()
    cards, hlen = split_cards(raw)
    kv = {key_of(c): c[10:30].decode("latin-1").strip() for c in cards}
    bitpix, nx, ny = int(kv["BITPIX"]), int(kv["NAXIS1"]), int(kv["NAXIS2"])
    dt = {8: "uint8", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}[bitpix]
    data = np.frombuffer(raw, dtype=dt, count=nx * ny, offset=hlen).reshape(ny, nx).copy()
    if blocks is None:
        blocks = signal_blocks(data, seed)
    blanked = data.copy()
    for by, bx in blocks:
        blanked[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK] = 0
    raw_blanked = raw[:hlen] + blanked.tobytes() + raw[hlen + data.nbytes:]
    return Base(raw, cards, hlen, data, blanked, blocks, raw_blanked)


def signal_blocks(data: np.ndarray, seed: int, n: int = 5) -> list:
    """``n`` blocks, seeded, whose whole 3x3 neighbourhood carries bright signal."""
    d = np.asarray(data, dtype=np.float64)
    gy, gx = d.shape[0] // BLOCK, d.shape[1] // BLOCK
    g = d[:gy * BLOCK, :gx * BLOCK].reshape(gy, BLOCK, gx, BLOCK)
    med, mn = np.median(g, axis=(1, 3)), g.min(axis=(1, 3))
    good = (mn > 0) & (med > np.percentile(med, 60))
    ok = np.zeros_like(good)
    ok[1:-1, 1:-1] = np.logical_and.reduce([good[1 + dy:gy - 1 + dy, 1 + dx:gx - 1 + dx]
                                            for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    cand = np.argwhere(ok)
    rng = np.random.default_rng(seed)
    pick = cand[rng.choice(len(cand), min(n, len(cand)), replace=False)] if len(cand) else []
    return sorted((int(y), int(x)) for y, x in pick)


class Bases:
    """Lazily loaded bases, safe to use from the worker threads."""

    def __init__(self, seed: int):
        self.seed = seed
        self._lock = threading.RLock()      # once() may call get()
        self._cache: dict = {}

    def get(self, name: str) -> Base:
        with self._lock:
            if name not in self._cache:
                if name == "c2_512":
                    self._cache[name] = load_base(GOOD, BLANK_512, self.seed)
                else:
                    self._cache[name] = load_base(REAL_1024[name], None, self.seed)
            return self._cache[name]

    def once(self, key: str, fn: Callable):
        """Compute ``fn()`` once (e.g. the tool's own output, used as an input)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = fn()
            return self._cache[key]


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

@dataclass
class Plan:
    """What a built case runs and what it must leave behind."""
    argv: list                                  # arguments after the console script
    inputs: list                                # files whose sha256 must not change
    outputs: list                               # (output path, source to compare with)
    partial_ok: list = field(default_factory=list)   # outputs expected even on exit 1
    allowed_new: list = field(default_factory=list)  # other files a success may create
    notes: list = field(default_factory=list)


@dataclass
class Case:
    name: str
    category: str
    build: Callable[[Path, Ctx], Plan]        # writes the inputs into the case folder
    expect: str = "either"                      # "ok", "refuse" or "either"
    what: str = ""


class Ctx:
    """What case builders need: bases, the CLI, the run limits, the seed."""

    def __init__(self, bases: Bases, runner: Runner, seed: int, shared: Path):
        self.bases, self.runner, self.seed, self.shared = bases, runner, seed, shared

    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])


def fill_plan(d: Path, src: Path, *extra, method=METHOD, compare: Path | None | str = "src") -> Plan:
    """``fill SRC -o d/out/out.fts --method biharmonic``; the output is compared with ``src``."""
    out = d / "out" / "out.fts"
    out.parent.mkdir(exist_ok=True)
    cmp_src = src if compare == "src" else compare
    return Plan(["fill", str(src), "-o", str(out), *method, *map(str, extra)], [src], [(out, cmp_src)])


def write(path: Path, b: bytes) -> Path:
    path.write_bytes(b)
    return path


def raw_case(name, cat, make_bytes, expect="either", what="", fname="in.fts", method=METHOD):
    """A case whose single input is the bytes ``make_bytes(ctx)`` returns."""
    def build(d: Path, ctx: Ctx) -> Plan:
        return fill_plan(d, write(d / fname, make_bytes(ctx)), method=method)
    return name, cat, build, expect, what


def hdr_case(name, cat, mutate, expect="either", what="", base="c2_512"):
    """The blanked frame with its header cards passed through ``mutate(cards)``."""
    def make(ctx: Ctx) -> bytes:
        b = ctx.bases.get(base)
        return header_bytes(mutate(list(b.cards))) + b.raw_blanked[b.hlen:]
    return raw_case(name, cat, make, expect, what)


def data_case(name, make_data, expect="either", what="", extra=(), cat="data", base="c2_512",
              method=METHOD, drop=()):
    """A new primary HDU: ``make_data(blanked, rng)`` with the base's non-structural cards.

    ``extra``: ``(key, raw value)`` cards added; ``drop``: keywords removed (e.g.
    DETECTOR, so that a crop is judged by the signal rule, not the C2 geometry).
    """
    def make(ctx: Ctx) -> bytes:
        b = ctx.bases.get(base)
        data = make_data(b.blanked.astype(b.blanked.dtype.newbyteorder("=")), ctx.rng(name))
        ex = [card(k, v) for k, v in extra]
        return hdu_bytes(data, del_cards(b.cards, *drop), extra=ex)
    return raw_case(name, cat, make, expect, what, method=method)


def blank_more(a: np.ndarray, blocks, value=0) -> np.ndarray:
    a = a.copy()
    for by, bx in blocks:
        a[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK] = value
    return a


def gz_members(parts: list[bytes], zero_bytes: int, chunk: int = 16 << 20) -> bytes:
    """A multi-member gzip stream: ``parts`` then ``zero_bytes`` zeros, each chunk compressed once."""
    out = [gzip.compress(p, 9) for p in parts if p]
    z = gzip.compress(b"\0" * chunk, 9)
    n, rest = divmod(zero_bytes, chunk)
    out += [z] * n
    if rest:
        out.append(gzip.compress(b"\0" * rest, 9))
    return b"".join(out)


def bomb(bitpix: int, side: int, nonzero: bool) -> Callable[[Ctx], bytes]:
    """A small .fts.gz whose header claims ``side`` x ``side`` pixels, all present once unzipped."""
    def make(ctx: Ctx) -> bytes:
        b = ctx.bases.get("c2_512")
        head = [card("SIMPLE", "T"), card("BITPIX", str(bitpix)), card("NAXIS", "2"),
                card("NAXIS1", str(side)), card("NAXIS2", str(side))]
        head += [c for c in b.cards if key_of(c) not in STRUCTURAL]
        total = side * side * abs(bitpix) // 8
        total += -total % FITS_BLOCK
        first = b""
        if nonzero:       # a first stretch of real-looking signal, so the image is not all zero
            dt = {16: ">i2", 32: ">i4", -32: ">f4", -64: ">f8"}[bitpix]
            first = np.full(1 << 18, 1000, dtype=dt).tobytes()
        return gz_members([header_bytes(head), first], total - len(first))
    return make


def previous_output(ctx: Ctx) -> bytes:
    """The tool's own output for the blanked frame (run once, cached)."""
    def run() -> bytes:
        d = ctx.shared / "previous_output"
        d.mkdir(parents=True, exist_ok=True)
        src = write(d / "blanked.fts", ctx.bases.get("c2_512").raw_blanked)
        out = d / "filled.fts"
        out.unlink(missing_ok=True)
        r = ctx.runner.run(["fill", str(src), "-o", str(out), *METHOD], cwd=d)
        if r["rc"] != 0 or not out.is_file():
            raise RuntimeError(f"the tool could not fill the good file (rc {r['rc']}): {r['stderr'][-300:]}")
        return out.read_bytes()
    return ctx.bases.once("previous_output", run)


def flip_bytes(raw: bytes, rng, positions: np.ndarray, n: int) -> bytes:
    """``n`` of ``positions`` XOR-ed with random non-zero values."""
    b = bytearray(raw)
    for pos in rng.choice(positions, size=n, replace=False):
        b[int(pos)] ^= int(rng.integers(1, 256))
    return bytes(b)


def build_cases() -> list[tuple]:
    """All cases, as ``(name, category, build, expect, what)``, in run order."""
    C = []
    add = C.append

    # ---- header: delete a keyword (from the blanked frame) ----------------
    deletions = {
        "NAXIS1": "refuse", "NAXIS2": "refuse", "BITPIX": "refuse", "NAXIS": "refuse", "SIMPLE": "refuse",
        "DETECTOR": "either", "OFFSET": "either", "EXPTIME": "either", "CRPIX1": "either",
        "CRPIX2": "either", "LEBXSUM": "either", "LEBYSUM": "either", "SUMROW": "either",
        "SUMCOL": "either", "R1COL": "either", "R1ROW": "either", "FILTER": "either",
    }
    for k, exp in deletions.items():
        add(hdr_case(f"del_{k}", "hdr-delete", lambda c, k=k: del_cards(c, k), exp, f"{k} removed"))
    add(hdr_case("del_CRPIX1_CRPIX2", "hdr-delete", lambda c: del_cards(c, "CRPIX1", "CRPIX2"), "either"))
    add(hdr_case("del_all_but_structure", "hdr-delete",
                 lambda c: [x for x in c if key_of(x) in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2")],
                 "either", "only SIMPLE/BITPIX/NAXIS* left"))

    # ---- header: numeric keywords given odd values ------------------------
    values = {"str": "'abc'", "inf": "1E999", "neginf": "-1E999", "zero": "0",
              "hugeint": "1" + "0" * 30, "undef": ""}
    for k in ("OFFSET", "EXPTIME", "CRPIX1", "CRPIX2", "SUMROW", "SUMCOL", "LEBXSUM", "LEBYSUM",
              "R1COL", "R1ROW"):
        for vn, v in values.items():
            add(hdr_case(f"{k}_{vn}", "hdr-numeric", lambda c, k=k, v=v: set_card(c, k, v), "either",
                         f"{k} = {v or '(no value)'}"))

    # ---- header: structure lies -------------------------------------------
    S = "hdr-structure"
    structure = [
        ("naxis3_missing", [("NAXIS", "3")], "refuse"),
        ("naxis3_is_1", [("NAXIS", "3"), ("NAXIS3", "1")], "refuse"),
        ("naxis_1", [("NAXIS", "1")], "refuse"),
        ("naxis_0", [("NAXIS", "0")], "refuse"),
        ("naxis_1000", [("NAXIS", "1000")], "refuse"),
        ("naxis1_0", [("NAXIS1", "0")], "refuse"),
        ("naxis1_neg", [("NAXIS1", "-512")], "refuse"),
        ("naxis1_513", [("NAXIS1", "513")], "either"),
        ("naxis1_256", [("NAXIS1", "256")], "either"),
        ("naxis1_1024", [("NAXIS1", "1024")], "refuse"),
        ("naxis12_100000", [("NAXIS1", "100000"), ("NAXIS2", "100000")], "refuse"),
        ("naxis1_2pow31", [("NAXIS1", "2147483648")], "refuse"),
        ("naxis1_float", [("NAXIS1", "512.0")], "either"),
        ("naxis1_str", [("NAXIS1", "'512'")], "either"),
        ("bitpix_8", [("BITPIX", "8")], "either"),
        ("bitpix_16", [("BITPIX", "16")], "either"),
        ("bitpix_m32", [("BITPIX", "-32")], "either"),
        ("bitpix_m64", [("BITPIX", "-64")], "refuse"),
        ("bitpix_7", [("BITPIX", "7")], "refuse"),
        ("bitpix_str", [("BITPIX", "'int'")], "refuse"),
        ("simple_F", [("SIMPLE", "F")], "either"),
        ("bzero_inf", [("BZERO", "1E999")], "either"),
        ("bscale_0", [("BSCALE", "0")], "either"),
        ("bscale_str", [("BSCALE", "'x'")], "either"),
        ("blank_0_int", [("BLANK", "0")], "either"),
    ]
    for nm, sets, exp in structure:
        def mut(c, sets=sets):
            for k, v in sets:
                c = set_card(c, k, v)
            return c
        add(hdr_case(nm, S, mut, exp, ", ".join(f"{k}={v}" for k, v in sets)))
    def no_end(ctx: Ctx) -> bytes:
        b = ctx.bases.get("c2_512")
        return header_bytes(b.cards, end=False) + b.raw_blanked[b.hlen:]
    add(raw_case("no_end_card", S, no_end, "refuse", "END card removed"))
    add(hdr_case("dup_naxis1", S, lambda c: c + [card("NAXIS1", "256")], "either", "second NAXIS1=256"))
    add(hdr_case("nonascii_header", S, lambda c: c + [raw_card(b"COMMENT \xff\xfe\x00\x01 bytes")],
                 "either", "non-ASCII bytes in a COMMENT"))
    add(hdr_case("lowercase_keyword", S,
                 lambda c: [raw_card(x.replace(b"NAXIS1  ", b"naxis1  ")) for x in c], "refuse",
                 "naxis1 in lower case"))
    add(hdr_case("tab_in_detector", S, lambda c: set_card(c, "DETECTOR", "'C\t2'"), "either"))
    add(hdr_case("garbage_card", S, lambda c: c + [raw_card("=" * 80)], "either", "a card of '='"))
    add(hdr_case("huge_header", S, lambda c: c + [raw_card(f"COMMENT padding {i}") for i in range(20000)],
                 "either", "20000 COMMENT cards (1.6 MB header)"))
    add(hdr_case("continue_detector", S,
                 lambda c: del_cards(c, "DETECTOR") + [card("DETECTOR", "'C2&'"), raw_card("CONTINUE  '2'")],
                 "either", "DETECTOR continued with CONTINUE"))

    # ---- header: level markers and detector --------------------------------
    L = "hdr-level-detector"
    level = [
        ("level_1_str", "LEVEL", "'1'", "refuse"), ("level_int_1", "LEVEL", "1", "refuse"),
        ("level_L1", "LEVEL", "'L1'", "refuse"),
        ("level_0_5", "LEVEL", "'0.5'", "ok"), ("bunit_MSB", "BUNIT", "'MSB'", "refuse"),
        ("bunit_msb_lower", "BUNIT", "'msb'", "refuse"), ("bunit_DN", "BUNIT", "'DN'", "ok"),
        ("lvl_num_1", "LVL_NUM", "1", "refuse"), ("corkit_level_1", "LEVEL_1", "1", "refuse"),
        ("corkit_level_1_0", "LEVEL_1", "0", "either"),
        ("det_C3", "DETECTOR", "'C3'", "either"), ("det_C1", "DETECTOR", "'C1'", "either"),
        ("det_EIT", "DETECTOR", "'EIT'", "either"), ("det_empty", "DETECTOR", "''", "either"),
        ("det_int", "DETECTOR", "2", "either"), ("det_lower", "DETECTOR", "'c2'", "ok"),
        ("det_long", "DETECTOR", "'" + "C2" * 30 + "'", "either"),
    ]
    for nm, k, v, exp in level:
        add(hdr_case(nm, L, lambda c, k=k, v=v: set_card(c, k, v), exp, f"{k} = {v}"))

    # ---- data mutations: a new primary HDU with the frame's keywords -------
    blk = BLANK_512

    def with_nan(a, r, where=(10, 10), val=np.nan):
        a = a.astype(np.float32)
        a[where] = val
        return a

    def crop(a, y0, y1, x0, x1):
        return a[y0:y1, x0:x1].copy()

    def set_pixel(a, y, x, v, dtype=None):
        a = a.astype(dtype or a.dtype)
        a[y, x] = v
        return a

    def only_block(a, y0, x0):       # zeros except one 32x32 block of signal
        out = np.zeros_like(a)
        out[y0:y0 + BLOCK, x0:x0 + BLOCK] = a[y0:y0 + BLOCK, x0:x0 + BLOCK]
        return out

    checker = np.add.outer(np.arange(512), np.arange(512)) % 2 == 1

    data = [
        ("all_zero", lambda a, r: np.zeros_like(a), "refuse"),
        ("nan_one", lambda a, r: with_nan(a, r), "refuse"),
        ("nan_in_blank_block", lambda a, r: with_nan(a, r, (3 * 32 + 5, 4 * 32 + 5)), "refuse"),
        ("nan_all", lambda a, r: np.full(a.shape, np.nan, np.float32), "refuse"),
        ("posinf", lambda a, r: with_nan(a, r, (100, 100), np.inf), "refuse"),
        ("neginf", lambda a, r: with_nan(a, r, (100, 100), -np.inf), "refuse"),
        ("negative_all", lambda a, r: a - 100000, "either"),
        ("negative_blocks", lambda a, r: blank_more(a, blk, -1), "ok"),
        ("constant_blanked", lambda a, r: blank_more(np.full_like(a, 1000), blk), "either"),
        ("constant_no_blank", lambda a, r: np.full_like(a, 1000), "ok"),
        ("tiny_1x1", lambda a, r: np.array([[5]], np.int32), "either"),
        ("tiny_3x3", lambda a, r: crop(a, 200, 203, 200, 203), "either"),
        ("tiny_31x31", lambda a, r: crop(a, 200, 231, 200, 231), "either"),
        ("tiny_64x64_blank", lambda a, r: blank_more(crop(a, 256, 320, 320, 384), [(1, 1)]), "either"),
        ("odd_33x65", lambda a, r: crop(a, 96, 129, 96, 161), "either"),
        ("nonsquare_512x256", lambda a, r: crop(a, 0, 512, 0, 256), "ok"),
        ("nonsquare_100x512", lambda a, r: crop(a, 96, 196, 0, 512), "either"),
        ("one_row", lambda a, r: crop(a, 100, 101, 0, 512), "either"),
        ("cube_2", lambda a, r: np.stack([a, a]), "refuse"),
        ("one_d", lambda a, r: a[100].copy(), "refuse"),
        ("int32_max", lambda a, r: np.where(a > 0, 2**31 - 1, 0).astype(np.int32), "either"),
        ("outlier_pixel", lambda a, r: set_pixel(a, 9, 392, 2**31 - 1, np.int32), "ok"),
        ("float64_huge", lambda a, r: a.astype(np.float64) * 1e295, "either"),
        ("float64_tiny", lambda a, r: a.astype(np.float64) * 1e-310, "either"),
        ("float32", lambda a, r: a.astype(np.float32), "ok"),
        ("float64", lambda a, r: a.astype(np.float64), "ok"),
        ("uint8", lambda a, r: np.clip(a >> 8, 0, 255).astype(np.uint8), "either"),
        ("int16", lambda a, r: np.clip(a, 0, 32767).astype(np.int16), "ok"),
        ("checkerboard_zeros", lambda a, r: np.where(checker, a, 0).astype(a.dtype), "ok"),
        ("all_blank_but_one", lambda a, r: only_block(a, 160, 160), "either"),
        ("one_pixel_in_block", lambda a, r: set_pixel(a, 3 * 32 + 7, 4 * 32 + 7, 1), "ok"),
        ("all_blocks_blank_but_ring", lambda a, r: blank_more(a, [(y, x) for y in range(2, 14) for x in range(2, 14)]),
         "either"),
        ("empty_shape_512x0", lambda a, r: np.zeros((512, 0), np.int32), "refuse"),
    ]
    # crops: the C2 geometry of the full frame would not fit them; judge by signal alone
    no_geo = {"tiny_3x3", "tiny_31x31", "tiny_64x64_blank", "odd_33x65", "nonsquare_100x512", "one_row"}
    for nm, fn, exp in data:
        add(data_case(nm, fn, exp, "no DETECTOR" if nm in no_geo else "",
                      drop=("DETECTOR",) if nm in no_geo else ()))
    # Storage with scaling keywords: the values on disk are not the values read.
    add(data_case("uint16_bzero", lambda a, r: (np.clip(a, 0, 65535) - 32768).astype(np.int16), "ok",
                  "uint16 via BZERO=32768", extra=[("BZERO", "32768")]))
    add(data_case("scaled_int16", lambda a, r: (a // 4).astype(np.int16), "ok", "BSCALE=4 BZERO=100",
                  extra=[("BSCALE", "4"), ("BZERO", "100")]))
    add(data_case("scaled_fraction", lambda a, r: np.clip(a, 0, 32767).astype(np.int16), "ok",
                  "BSCALE=0.1", extra=[("BSCALE", "0.1")]))
    add(data_case("blank_kw_zero", lambda a, r: np.clip(a, 0, 32767).astype(np.int16), "either",
                  "BLANK=0: the blanked blocks read as NaN", extra=[("BLANK", "0")]))
    add(data_case("blank_kw_on_float", lambda a, r: a.astype(np.float32), "either",
                  "BLANK on float data (illegal)", extra=[("BLANK", "0")]))
    add(data_case("float32_pconv", lambda a, r: a.astype(np.float32), "ok", "default method (pconv)",
                  method=[]))
    add(data_case("odd_33x65_pconv", lambda a, r: crop(a, 96, 129, 96, 161), "either",
                  "default method (pconv), no DETECTOR", method=[], drop=("DETECTOR",)))

    # ---- file: truncated at various offsets ---------------------------------
    def trunc(f):
        def make(ctx):
            b = ctx.bases.get("c2_512")
            return b.raw_blanked[:f(b)]
        return make
    cuts = [("1", lambda b: 1, "refuse"), ("80", lambda b: 80, "refuse"),
            ("1234", lambda b: 1234, "refuse"), ("2879", lambda b: 2879, "refuse"),
            ("2880", lambda b: 2880, "refuse"),
            ("hdr_minus_80", lambda b: b.hlen - 80, "refuse"), ("hdr_end", lambda b: b.hlen, "refuse"),
            ("hdr_plus_1", lambda b: b.hlen + 1, "refuse"), ("hdr_plus_2880", lambda b: b.hlen + 2880, "refuse"),
            ("half_data", lambda b: b.hlen + b.nbytes // 2, "refuse"),
            ("data_minus_4", lambda b: b.hlen + b.nbytes - 4, "refuse"),
            ("data_minus_1", lambda b: b.hlen + b.nbytes - 1, "refuse"),
            ("no_padding", lambda b: b.hlen + b.nbytes, "either"),
            ("padding_minus_1", lambda b: len(b.raw_blanked) - 1, "either")]
    for nm, f, exp in cuts:
        add(raw_case(f"trunc_{nm}", "file-truncate", trunc(f), exp, f"cut at byte {nm}"))

    # ---- file: random byte flips (seeded) -----------------------------------
    # Header flips hit the keyword and value columns (1-30) of the cards: of every card
    # for even i, of the five structural cards (SIMPLE ... NAXIS2) for odd i.
    for i in range(10):
        def mk(ctx, i=i):
            b = ctx.bases.get("c2_512")
            ncards = 5 if i % 2 else len(b.cards)
            pos = (np.arange(ncards)[:, None] * CARD + np.arange(30)[None, :]).ravel()
            return flip_bytes(b.raw_blanked, ctx.rng(f"hdrflip{i}"), pos, 1 + i % 3)
        add(raw_case(f"flip_header_{i:02d}", "file-bitflip", mk, "either",
                     f"{1 + i % 3} header bytes" + (" in SIMPLE..NAXIS2" if i % 2 else "")))
    for i in range(2):
        def mk(ctx, i=i):
            b = ctx.bases.get("c2_512")
            return flip_bytes(b.raw_blanked, ctx.rng(f"dataflip{i}"), np.arange(b.hlen, b.hlen + b.nbytes), 4 + 20 * i)
        add(raw_case(f"flip_data_{i:02d}", "file-bitflip", mk, "ok", f"{4 + 20 * i} data bytes"))

    def flip_in(key, off):
        def mk(ctx):
            b = ctx.bases.get("c2_512")
            raw = bytearray(b.raw_blanked)
            idx = (next(i for i, c in enumerate(b.cards) if key_of(c) == key) * CARD
                   if key != "END" else len(b.cards) * CARD)
            raw[idx + off] ^= 0x20
            return bytes(raw)
        return mk
    add(raw_case("flip_END", "file-bitflip", flip_in("END", 1), "refuse", "END -> EnD"))
    add(raw_case("flip_SIMPLE", "file-bitflip", flip_in("SIMPLE", 0), "refuse", "SIMPLE -> sIMPLE"))
    add(raw_case("flip_NAXIS1_digit", "file-bitflip", flip_in("NAXIS1", 29), "either", "NAXIS1 last digit"))
    add(raw_case("flip_equals", "file-bitflip", flip_in("NAXIS2", 8), "refuse", "NAXIS2 '=' flipped"))

    # ---- file: formats and special files --------------------------------------
    F = "file-format"
    blanked = lambda ctx: ctx.bases.get("c2_512").raw_blanked
    add(raw_case("empty_file", F, lambda ctx: b"", "refuse"))
    add(raw_case("text_file", F, lambda ctx: b"this is not a FITS file\nat all\n" * 10, "refuse"))
    add(raw_case("random_bytes", F, lambda ctx: ctx.rng("random").bytes(5000), "refuse"))
    add(raw_case("header_only", F, lambda ctx: blanked(ctx)[:ctx.bases.get("c2_512").hlen], "refuse"))
    add(raw_case("trailing_garbage", F, lambda ctx: blanked(ctx) + ctx.rng("tail").bytes(1000), "either"))
    add(raw_case("trailing_bad_xtension", F,
                 lambda ctx: blanked(ctx) + header_bytes([card("XTENSION", "'IMAGE'"), card("BITPIX", "7")]),
                 "either", "a broken extension header after the image"))
    add(raw_case("gzip", F, lambda ctx: gzip.compress(blanked(ctx)), "ok", fname="in.fts.gz"))
    add(raw_case("gzip_named_fts", F, lambda ctx: gzip.compress(blanked(ctx)), "ok", "gzip content, .fts name"))
    add(raw_case("gzip_truncated", F, lambda ctx: gzip.compress(blanked(ctx))[:20000], "refuse",
                 fname="in.fts.gz"))
    add(raw_case("gzip_bad_crc", F, lambda ctx: gzip.compress(blanked(ctx))[:-8] + b"\0" * 8, "either",
                 "CRC and size trailer zeroed, data intact", fname="in.fts.gz"))

    def gz_corrupt(ctx):
        z = bytearray(gzip.compress(blanked(ctx)))
        rng = ctx.rng("gzcorrupt")
        for pos in rng.choice(np.arange(len(z) // 4, len(z) // 2), size=8, replace=False):
            z[int(pos)] ^= 0xFF
        return bytes(z)
    add(raw_case("gzip_corrupt_stream", F, gz_corrupt, "refuse", "8 bytes of the deflate stream flipped",
                 fname="in.fts.gz"))
    add(raw_case("bzip2", F, lambda ctx: bz2.compress(blanked(ctx)), "ok", fname="in.fts.bz2"))

    def zipped(ctx):
        p = ctx.shared / f"zip_{threading.get_ident()}.zip"
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("in.fts", blanked(ctx))
        b = p.read_bytes()
        p.unlink()
        return b
    add(raw_case("zip", F, zipped, "either", fname="in.fts.zip"))
    add(raw_case("gzip_bomb_i16_zeros", F, bomb(16, 20000, False), "refuse",
                 "20000x20000 int16 zeros (800 MB unzipped)", fname="bomb.fts.gz"))
    add(raw_case("gzip_bomb_i32_signal", F, bomb(32, 20000, True), "refuse",
                 "20000x20000 int32, not all zero (1.6 GB unzipped)", fname="bomb.fts.gz"))
    add(raw_case("gzip_bomb_f64", F, bomb(-64, 20000, True), "refuse",
                 "20000x20000 float64 (3.2 GB unzipped)", fname="bomb.fts.gz"))

    def in_ext(primary_cards: bool, second: bool = False):
        def make(ctx):
            b = ctx.bases.get("c2_512")
            prim = hdu_bytes(None, b.cards if primary_cards else [])
            ext = hdu_bytes(b.blanked, [] if primary_cards else b.cards, primary=False, extname="IMG")
            ext2 = hdu_bytes(np.ones((64, 64), np.int16), [], primary=False, extname="OTHER") if second else b""
            return prim + ext + ext2
        return make
    add(raw_case("image_in_extension", F, in_ext(False), "ok"))
    add(raw_case("image_in_ext_keys_in_primary", F, in_ext(True), "ok", "DETECTOR etc. only in the primary"))
    add(raw_case("two_image_extensions", F, in_ext(False, True), "either"))
    add(raw_case("table_only", F, lambda ctx: _table_fits(), "refuse"))

    def comp(ctx):
        b = ctx.bases.get("c2_512")
        p = ctx.shared / f"comp_{threading.get_ident()}.fts"
        printable = [c for c in b.cards if all(32 <= x < 127 for x in c)]    # astropy refuses tabs here
        hdr = fits.Header.fromstring(header_bytes(printable).decode("latin-1"))
        for k in ("SIMPLE", "EXTEND"):
            hdr.remove(k, ignore_missing=True)
        fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(b.blanked.astype(np.int32), hdr)]).writeto(
            p, overwrite=True, output_verify="ignore")
        out = p.read_bytes()
        p.unlink()
        return out
    add(raw_case("tile_compressed", F, comp, "ok", "RICE tile-compressed image extension"))
    add(raw_case("previous_output", F, previous_output, "either", "the tool's own output (INPMASK, INPAINT)"))

    def prev_reblanked(ctx):
        with fits.open(_bytesio(previous_output(ctx))) as h:
            data, hdr = np.array(h[0].data), h[0].header
            cards = [c.image.encode("latin-1", "replace") for c in hdr.cards]
            mask = np.array(h["INPMASK"].data)
        return hdu_bytes(blank_more(data, [(11, 2)]), cards) + hdu_bytes(mask, [], primary=False, extname="INPMASK")
    add(raw_case("previous_output_reblanked", F, prev_reblanked, "either", "filled output with a new block lost"))

    def prev_kw_only(ctx):
        with fits.open(_bytesio(previous_output(ctx))) as h:
            cards = [c.image.encode("latin-1", "replace") for c in h[0].header.cards]
            return hdu_bytes(np.array(h[0].data), cards)
    add(raw_case("inpaint_keywords_only", F, prev_kw_only, "either", "INPAINT keywords, no INPMASK"))

    def mask_only(ctx):
        with fits.open(_bytesio(previous_output(ctx))) as h:
            return hdu_bytes(None, []) + hdu_bytes(np.array(h["INPMASK"].data), [], primary=False, extname="INPMASK")
    add(raw_case("inpmask_only", F, mask_only, "refuse", "empty primary + INPMASK extension"))

    def fake_mask(ctx):
        b = ctx.bases.get("c2_512")
        return b.raw_blanked + hdu_bytes(np.ones(b.blanked.shape, np.uint8), [], primary=False, extname="INPMASK")
    add(raw_case("fake_inpmask_ext", F, fake_mask, "either", "blanked frame + an INPMASK of ones"))

    # special files: built by hand (no regular input file)
    def special(kind):
        def build(d: Path, ctx: Ctx) -> Plan:
            src = d / "in.fts"
            good = write(d / "good.fts", blanked(ctx))
            if kind == "dir":
                src.mkdir()
            elif kind == "symlink":
                src.symlink_to(good)
            elif kind == "dangling":
                src.symlink_to(d / "nowhere.fts")
            elif kind == "loop":
                src.symlink_to(d / "loop2.fts")
                (d / "loop2.fts").symlink_to(src)
            elif kind == "fifo":
                os.mkfifo(src)
            elif kind == "devnull":
                src = Path("/dev/null")
            p = fill_plan(d, src)
            p.inputs = [good]
            return p
        return build
    add(("directory", F, special("dir"), "refuse", "a folder as input"))
    add(("symlink", F, special("symlink"), "ok", "a symlink to the blanked frame"))
    add(("dangling_symlink", F, special("dangling"), "refuse"))
    add(("symlink_loop", F, special("loop"), "refuse"))
    add(("fifo", F, special("fifo"), "refuse", "a named pipe (nobody writes to it)"))
    add(("dev_null", F, special("devnull"), "refuse", "/dev/null"))

    # ---- paths ----------------------------------------------------------------
    P = "path"

    def path_case(name, setup, expect, what=""):
        """``setup(d, src) -> Plan`` with ``src`` the blanked frame in the case folder."""
        def build(d: Path, ctx: Ctx) -> Plan:
            return setup(d, write(d / "src.fts", blanked(ctx)))
        return name, P, build, expect, what

    def plan(argv, src, outs=None, **kw):
        """A Plan; ``outs=None``: the output -o (or --outdir/SRC) names, unless that is SRC itself."""
        argv = [str(a) for a in argv]
        if outs is None:
            outs = []
            for opt in ("-o", "--outdir"):
                if opt in argv and argv.index(opt) + 1 < len(argv) and argv[argv.index(opt) + 1]:
                    o = Path(argv[argv.index(opt) + 1])
                    o = o / Path(src).name if opt == "--outdir" else o
                    try:
                        same = os.path.exists(o) and os.path.samefile(o, src)
                    except OSError:
                        same = False
                    if not same and not o.is_dir():
                        outs.append((o, src))
        return Plan(argv, [src], list(outs), **kw)

    def out_is_src(overwrite):
        return lambda d, s: plan(["fill", s, "-o", s, *METHOD] + (["--overwrite"] if overwrite else []), s)
    add(path_case("out_is_src", out_is_src(False), "refuse", "-o SRC"))
    add(path_case("out_is_src_overwrite", out_is_src(True), "refuse", "-o SRC --overwrite"))

    def out_link(kind, overwrite):
        def setup(d, s):
            o = d / "out.fts"
            other = write(d / "other.fts", b"keep me")
            if kind == "symlink":
                o.symlink_to(s)
            elif kind == "hardlink":
                os.link(s, o)
            elif kind == "dangling":
                o.symlink_to(d / "nowhere" / "x.fts")
            elif kind == "other":
                o.symlink_to(other)
            p = plan(["fill", s, "-o", o, *METHOD] + (["--overwrite"] if overwrite else []), s)
            p.inputs.append(other)
            return p
        return setup
    add(path_case("out_symlink_to_src", out_link("symlink", False), "refuse"))
    add(path_case("out_symlink_to_src_overwrite", out_link("symlink", True), "refuse"))
    add(path_case("out_hardlink_to_src_overwrite", out_link("hardlink", True), "refuse"))
    add(path_case("out_dangling_symlink", out_link("dangling", False), "either",
                  "-o a dangling symlink (to a missing folder)"))
    add(path_case("out_symlink_to_other_overwrite", out_link("other", True), "either",
                  "-o a symlink to an unrelated file, --overwrite"))
    add(path_case("out_dir_missing", lambda d, s: plan(["fill", s, "-o", d / "no" / "such" / "o.fts", *METHOD], s),
                  "refuse"))

    def exists(overwrite):
        def setup(d, s):
            o = write(d / "out.fts", b"keep me")
            return plan(["fill", s, "-o", o, *METHOD] + (["--overwrite"] if overwrite else []), s)
        return setup
    add(path_case("out_exists", exists(False), "refuse", "existing output, no --overwrite"))
    add(path_case("out_exists_overwrite", exists(True), "ok"))

    def out_is_dir(d, s):
        (d / "odir").mkdir()
        return plan(["fill", s, "-o", d / "odir", "--overwrite", *METHOD], s)
    add(path_case("out_is_directory", out_is_dir, "refuse", "-o an existing folder, --overwrite"))
    add(path_case("out_trailing_slash", lambda d, s: plan(["fill", s, "-o", f"{d}/newdir/", *METHOD], s), "refuse"))
    add(path_case("out_empty_string", lambda d, s: plan(["fill", s, "-o", "", *METHOD], s), "refuse"))
    add(path_case("out_through_file", lambda d, s: plan(["fill", s, "-o", d / "src.fts" / "o.fts", *METHOD], s),
                  "refuse", "output folder is a file"))
    add(path_case("outdir_is_src_dir", lambda d, s: plan(["fill", s, "--outdir", d, *METHOD], s), "refuse"))

    def outdir_link(d, s):
        (d / "link").symlink_to(d)
        return plan(["fill", s, "--outdir", d / "link", "--overwrite", *METHOD], s)
    add(path_case("outdir_symlink_to_src_dir", outdir_link, "refuse"))
    add(path_case("outdir_missing", lambda d, s: plan(["fill", s, "--outdir", d / "nope", *METHOD], s), "refuse"))
    add(path_case("outdir_is_file", lambda d, s: plan(["fill", s, "--outdir", s, *METHOD], s), "refuse"))

    def twice(d, s):
        (d / "o").mkdir()
        return plan(["fill", s, s, "--outdir", d / "o", *METHOD], s, [(d / "o" / "src.fts", s)],
                    partial_ok=[d / "o" / "src.fts"])
    add(path_case("same_src_twice", twice, "either", "the same SRC twice into one --outdir"))

    def good_and_bad(d, s):
        (d / "o").mkdir()
        bad = write(d / "bad.fts", b"nope\n")
        p = plan(["fill", s, bad, "--outdir", d / "o", *METHOD], s, [(d / "o" / "src.fts", s)],
                 partial_ok=[d / "o" / "src.fts"])
        p.inputs.append(bad)
        return p
    add(path_case("good_and_bad_outdir", good_and_bad, "either", "one good SRC, one text file"))

    def newline_name(d, s):
        bad = write(d / "bad\nname.fts", b"nope\n")
        p = plan(["fill", bad, "-o", d / "o.fts", *METHOD], s)
        p.inputs.append(bad)
        return p
    add(path_case("src_name_newline", newline_name, "refuse", "a bad input whose name holds a newline"))

    def unicode_name(d, s):
        u = d / "sö hø ☀ name.fts"
        shutil.copy(s, u)
        o = d / "oüt ☀.fts"
        p = plan(["fill", u, "-o", o, *METHOD], u)
        return p
    add(path_case("src_name_unicode", unicode_name, "ok"))

    def dash_name(d, s):
        u = d / "-x.fts"
        shutil.copy(s, u)
        return plan(["fill", "-x.fts", "-o", d / "o.fts", *METHOD], u)
    add(path_case("src_name_dash", dash_name, "either", "SRC named -x.fts"))
    add(path_case("usage_no_src", lambda d, s: plan(["fill", "-o", d / "o.fts", *METHOD], s), "refuse"))
    add(path_case("usage_o_two_srcs", lambda d, s: plan(["fill", s, s, "-o", d / "o.fts", *METHOD], s), "refuse"))
    add(path_case("method_unknown", lambda d, s: plan(["fill", s, "-o", d / "o.fts", "--method", "nope"], s),
                  "refuse"))
    add(path_case("device_bogus", lambda d, s: plan(["fill", s, "-o", d / "o.fts", "--device", "bogus"], s),
                  "refuse", "pconv on --device bogus"))
    add(path_case("weights_missing", lambda d, s: plan(["fill", s, "-o", d / "o.fts", "--weights",
                                                        d / "none.pt"], s), "refuse"))

    def weights_garbage(d, s):
        w = write(d / "w.pt", b"not a torch file")
        p = plan(["fill", s, "-o", d / "o.fts", "--weights", w], s)
        p.inputs.append(w)
        return p
    add(path_case("weights_garbage", weights_garbage, "refuse", "--weights a text file"))
    add(path_case("plot_over_input", lambda d, s: plan(["fill", s, "-o", d / "o.fts", "--plot", s, *METHOD], s),
                  "refuse", "--plot SRC"))
    add(path_case("plot_under_file", lambda d, s: plan(["fill", s, "-o", d / "o.fts", "--plot",
                                                        d / "src.fts" / "p.png", *METHOD], s), "refuse",
                  "--plot in a 'folder' that is a file"))

    # ---- the 1024x1024 real frames --------------------------------------------
    R = "real-1024"
    for det in ("c2", "c3"):
        if not REAL_1024[det].is_file():
            continue
        add(raw_case(f"{det}_clean", R, lambda ctx, det=det: ctx.bases.get(det).raw, "ok", "as archived"))
        add(raw_case(f"{det}_blanked", R, lambda ctx, det=det: ctx.bases.get(det).raw_blanked, "ok"))
        add(raw_case(f"{det}_blanked_pconv", R, lambda ctx, det=det: ctx.bases.get(det).raw_blanked, "ok",
                     "default method (pconv)", method=[]))
        add(raw_case(f"{det}_truncated", R,
                     lambda ctx, det=det: ctx.bases.get(det).raw_blanked[:len(ctx.bases.get(det).raw) // 2], "refuse"))
        add(raw_case(f"{det}_gzip", R, lambda ctx, det=det: gzip.compress(ctx.bases.get(det).raw_blanked, 6), "ok",
                     fname="in.fts.gz"))
        add(hdr_case(f"{det}_lebxsum_4", R, lambda c: set_card(c, "LEBXSUM", "4"), "either", base=det))
        add(hdr_case(f"{det}_crpix1_str", R, lambda c: set_card(c, "CRPIX1", "'x'"), "either", base=det))
        add(data_case(f"{det}_float32", lambda a, r: a.astype(np.float32), "ok", cat=R, base=det))
    return C


def _bytesio(b: bytes):
    import io
    return io.BytesIO(b)


def _table_fits() -> bytes:
    import io
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column(name="a", format="E", array=np.arange(3.0))])]).writeto(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------
# Running a case
# --------------------------------------------------------------------------

class Runner:
    """Runs the console script under an address-space limit and a timeout."""

    def __init__(self, cli: Path, mem_bytes: int, timeout: float):
        self.cli, self.mem, self.timeout = Path(cli).absolute(), mem_bytes, timeout   # cases change cwd
        self.env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                        PYTHONUNBUFFERED="1", COLUMNS="200")

    def _limits(self):          # runs in the child, between fork and exec
        try:
            resource.setrlimit(resource.RLIMIT_AS, (self.mem, self.mem))
        except (ValueError, OSError):
            pass
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ValueError, OSError):
            pass

    def run(self, argv: list, cwd: Path) -> dict:
        t0 = time.monotonic()
        p = subprocess.Popen([str(self.cli), *map(str, argv)], cwd=cwd, env=self.env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=self._limits, start_new_session=True)
        timed_out = False
        try:
            out, err = p.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)     # the child's own process group only
            except ProcessLookupError:
                pass
            out, err = p.communicate()
        return {"rc": p.returncode, "stdout": out.decode("utf-8", "replace"),
                "stderr": err.decode("utf-8", "replace"), "wall_s": round(time.monotonic() - t0, 2),
                "timed_out": timed_out}


def sha256(p: Path) -> str | None:
    """sha256 of a regular file (through symlinks); None for anything else (never opens a FIFO)."""
    try:
        if not os.path.isfile(p):
            return None
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def state(p: Path):
    """What is at ``p`` (not following a final symlink): kind, link target, content hash."""
    if not os.path.lexists(p):
        return None
    if os.path.islink(p):
        return ("link", os.readlink(p), sha256(p))
    if os.path.isdir(p):
        return ("dir",)
    return ("file", sha256(p))


def snapshot(root: Path) -> set:
    """Relative paths of everything under ``root`` (symlinks not followed)."""
    res = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            res.add(os.path.relpath(os.path.join(dirpath, n), root))
    return res


def read_image(path: Path, max_px: float = 6e7):
    """(data, note) of the first image HDU with data, as the tool picks it; data None if unreadable."""
    try:
        with fits.open(path, memmap=False) as h:
            for hdu in h:
                if hdu.is_image and hdu.header.get("NAXIS", 0):
                    shape = getattr(hdu, "shape", None) or ()
                    if shape and np.prod(shape, dtype=float) > max_px:
                        return None, f"{path.name}: too large for the pixel check"
                    if hdu.data is not None and hdu.data.size:
                        return np.array(hdu.data), ""
            return None, f"{path.name}: astropy finds no image"
    except Exception as exc:            # noqa: BLE001 - any failure: skip the check, say why
        return None, f"{path.name}: astropy cannot read it ({type(exc).__name__})"


def check_output(out: Path, src: Path | None) -> tuple[str | None, list]:
    """Crash reason (or None) for an output that should exist, and notes."""
    notes = []
    if not out.is_file():
        return f"exit 0 but no output {out.name}", notes
    try:
        with fits.open(out, memmap=False) as h:
            names = [x.name for x in h]
            if "INPMASK" not in names:
                return "output has no INPMASK extension", notes
            od = np.array(h[0].data) if h[0].data is not None else None
            mask = np.array(h["INPMASK"].data)
            notes.append(f"INPNBLK={h[0].header.get('INPNBLK')}")
    except Exception as exc:            # noqa: BLE001
        return f"output unreadable ({type(exc).__name__}: {str(exc)[:80]})", notes
    if od is None or od.shape != mask.shape:
        return f"output data {None if od is None else od.shape} vs INPMASK {mask.shape}", notes
    if src is None:
        return None, notes + ["no source to compare"]
    idata, why = read_image(src)
    if idata is None:
        return None, notes + [f"pixel check skipped: {why}"]
    if idata.shape != od.shape:
        return f"output shape {od.shape} differs from input {idata.shape}", notes
    keep = mask == 0
    a, b = od[keep], idata[keep]
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        same = a.astype(np.int64) == b.astype(np.int64)
    else:
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
    if not same.all():
        return f"{int((~same).sum())} valid pixels changed", notes
    return None, notes


def stderr_lines(err: str) -> list[str]:
    """Non-empty stderr lines, progress bars cut out (an error may follow a bar on its line)."""
    return [ln for ln in re.split(r"[\r\n]", TQDM_BAR.sub("", err)) if ln.strip()]


def last_line(err: str) -> str:
    ls = stderr_lines(err)
    return ls[-1][:200] if ls else ""


def memory_hint(err: str) -> bool:
    return any(s in err for s in ("MemoryError", "Cannot allocate memory", "bad_alloc", "Unable to allocate"))


def classify(plan: Plan, r: dict, before_inputs: dict, before_outputs: dict, snap_before: set,
             snap_after: set, case_dir: Path) -> tuple[str, str, list]:
    """``(status, reason, notes)`` of one run; see the module docstring for the rules."""
    notes = list(plan.notes)
    reasons = []
    for p, h in before_inputs.items():
        if h is not None and sha256(p) != h:
            reasons.append("input modified")
    new = snap_after - snap_before
    gone = snap_before - snap_after
    outs_rel = {os.path.relpath(o, case_dir) for o, _ in plan.outputs}
    allowed_rel = {os.path.relpath(a, case_dir) for a in plan.allowed_new}
    temps = sorted(n for n in new if os.path.basename(n).startswith(".") and n.endswith(".tmp"))
    if temps:
        reasons.append(f"temporary file left: {temps[0]}")
    if gone:
        reasons.append(f"file removed: {sorted(gone)[0]}")
    err, rc = r["stderr"], r["rc"]
    if r["timed_out"]:
        reasons.append(f"timeout after {r['wall_s']:.0f} s")
    elif rc is not None and rc < 0:
        sig = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
        reasons.append(f"killed by {sig}" + (" (memory limit)" if memory_hint(err) or -rc == 9 else ""))
    if "Traceback" in err:
        tb = re.sub(r"^[\w.]*\.(?=\w+(Error|Exception)\b)", "", last_line(err))    # drop module paths
        reasons.append(("memory limit hit: " if memory_hint(err) else "traceback: ") + tb[:140])
    elif memory_hint(err):
        reasons.append(f"memory limit hit (caught, exit {rc})")
    if reasons:
        return "crash", "; ".join(dict.fromkeys(reasons)), notes
    if rc == 0:
        for out, src in plan.outputs:
            why, n = check_output(out, src)
            notes += n
            if why:
                return "crash", why, notes
        extra = sorted(n for n in new if n not in outs_rel and n not in allowed_rel
                       and not any(o.startswith(n + os.sep) for o in outs_rel))
        if extra:
            return "crash", f"exit 0 but unexpected file left: {extra[0]}", notes
        return "success", "", notes
    if rc in (1, 2):
        lines = stderr_lines(err)
        errs = [ln for ln in lines if ERR_LINE.match(ln)]
        if not errs:
            return "crash", f"exit {rc} without an error line", notes
        for ln in lines:
            if PROG_LINE.match(ln):         # an error or a summary, one line each
                continue
            if LOG_LINE.match(ln):
                notes.append(f"log line: {ln[:100]}")
                continue
            if rc == 2 and (ln.startswith("usage:") or ln.startswith(" ")):
                continue
            return "crash", f"error message spans several lines: {ln[:80]!r}", notes
        if len(plan.inputs) == 1 and len(errs) > 1:
            notes.append(f"{len(errs)} error lines for one input")
        partial = {os.path.relpath(p, case_dir) for p in plan.partial_ok}
        for out, src in plan.outputs:
            rel = os.path.relpath(out, case_dir)
            if rel in partial:
                if out.exists():
                    why, n = check_output(out, src)
                    if why:
                        return "crash", f"partial output: {why}", notes + n
        for p, st in before_outputs.items():
            if st is not None and state(p) != st:
                return "crash", f"existing {p.name} changed on error", notes
        left = sorted(n for n in new if n not in partial)
        if left:
            return "crash", f"exit {rc} but left behind: {left[0]}", notes
        return "clean error", "", notes
    return "crash", f"exit code {rc}", notes


def run_case(idx: int, case: Case, root: Path, ctx: Ctx, keep: bool) -> dict:
    """Build, run and classify one case; never raises."""
    d = root / f"{idx:03d}_{case.name}"
    res = {"name": case.name, "category": case.category, "expect": case.expect, "what": case.what,
           "status": "skipped", "reason": "", "notes": [], "rc": None, "wall_s": 0.0}
    try:
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        plan = case.build(d, ctx)
    except Exception as exc:            # noqa: BLE001 - a builder bug must not stop the battery
        res["reason"] = f"could not build the input: {type(exc).__name__}: {exc}"
        res["trace"] = traceback.format_exc(limit=3)
        return res
    res["argv"] = [str(a) for a in plan.argv]
    try:
        before_inputs = {Path(p): sha256(Path(p)) for p in plan.inputs}
        watch = [Path(o) for o, _ in plan.outputs]
        if "-o" in plan.argv and plan.argv.index("-o") + 1 < len(plan.argv):
            watch.append(Path(plan.argv[plan.argv.index("-o") + 1]))   # an existing -o must survive errors
        before_outputs = {p: state(p) for p in watch}
        snap_before = snapshot(d)
        r = ctx.runner.run(plan.argv, cwd=d)
        snap_after = snapshot(d)
        status, reason, notes = classify(plan, r, before_inputs, before_outputs, snap_before, snap_after, d)
        res.update(status=status, reason=reason, notes=notes, rc=r["rc"], wall_s=r["wall_s"],
                   timed_out=r["timed_out"], stderr_tail=stderr_lines(r["stderr"])[-15:],
                   last_stderr=last_line(r["stderr"]))
    except Exception as exc:            # noqa: BLE001
        res.update(status="skipped", reason=f"battery error: {type(exc).__name__}: {exc}",
                   trace=traceback.format_exc(limit=5))
    if not keep and res["status"] in ("success", "clean error"):
        shutil.rmtree(d, ignore_errors=True)
    return res


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def report(results: list[dict], elapsed: float, args) -> str:
    cats = [c for c in CATEGORIES if any(r["category"] == c for r in results)]
    lines = ["| category | tried | clean errors | successes | crashes |", "|---|---:|---:|---:|---:|"]
    tot = [0, 0, 0, 0]
    for c in cats:
        rs = [r for r in results if r["category"] == c and r["status"] != "skipped"]
        row = [len(rs), sum(r["status"] == "clean error" for r in rs), sum(r["status"] == "success" for r in rs),
               sum(r["status"] == "crash" for r in rs)]
        tot = [a + b for a, b in zip(tot, row)]
        lines.append(f"| {c} | " + " | ".join(map(str, row)) + " |")
    lines.append("| **total** | " + " | ".join(f"**{x}**" for x in tot) + " |")
    lines.append("")
    crashes = [r for r in results if r["status"] == "crash"]
    lines.append(f"### Crashes ({len(crashes)})")
    lines.append("")
    for r in crashes:
        last = r.get("last_stderr", "")
        quoted = r["reason"].startswith(("traceback:", "memory limit hit:"))     # already ends with it
        lines.append(f"- `{r['name']}` ({r['category']}): {r['reason']}"
                     + (f" -- last stderr: `{last}`" if last and not quoted else ""))
    if not crashes:
        lines.append("none")
    surprises = [r for r in results if (r["expect"], r["status"]) in (("refuse", "success"), ("ok", "clean error"))]
    lines += ["", f"### Outcomes against expectation, not crashes ({len(surprises)})", ""]
    for r in surprises:
        what = "accepted" if r["status"] == "success" else "refused"
        detail = "; ".join(r["notes"][:2]) if r["status"] == "success" else r.get("last_stderr", "")
        lines.append(f"- `{r['name']}` ({r['what'] or r['category']}): {what}" + (f" -- {detail}" if detail else ""))
    if not surprises:
        lines.append("none")
    skipped = [r for r in results if r["status"] == "skipped"]
    if skipped:
        lines += ["", f"### Skipped (battery could not build or check them: {len(skipped)})", ""]
        lines += [f"- `{r['name']}`: {r['reason']}" for r in skipped]
    lines += ["", f"{len(results)} cases, {args.jobs} jobs, {elapsed:.0f} s wall, "
                  f"RLIMIT_AS {args.mem_gb:g} GiB, timeout {args.timeout:g} s, seed {args.seed}; "
                  f"CLI {args.cli}"]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Hostile-input battery for corkit-inpaint fill.")
    ap.add_argument("--out", type=Path, help="scratch folder (default: a new temporary folder)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--cli", type=Path, default=Path(sys.executable).parent / "corkit-inpaint")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--mem-gb", type=float, default=4.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--only", help="run only cases whose name or category contains this")
    ap.add_argument("--keep", action="store_true", help="keep every case folder")
    args = ap.parse_args(argv)
    if not args.cli.exists():
        ap.error(f"--cli {args.cli}: no such file")
    if not GOOD.is_file():
        ap.error(f"{GOOD}: the base frame is missing")
    root = args.out or Path(tempfile.mkdtemp(prefix="corkit-battery-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "_shared").mkdir(exist_ok=True)
    print(f"battery: scratch folder {root}", file=sys.stderr)

    cases = [Case(*t) for t in build_cases()]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    if args.only:
        cases = [c for c in cases if args.only in c.name or args.only in c.category]
    if args.limit is not None:
        cases = cases[:args.limit]
    runner = Runner(args.cli, int(args.mem_gb * (1 << 30)), args.timeout)
    ctx = Ctx(Bases(args.seed), runner, args.seed, root / "_shared")

    t0 = time.monotonic()
    results: list[dict | None] = [None] * len(cases)
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {pool.submit(run_case, i, c, root / "cases", ctx, args.keep): i for i, c in enumerate(cases)}
        for k, fut in enumerate(cf.as_completed(futs), 1):
            i = futs[fut]
            try:
                results[i] = fut.result()
            except Exception as exc:    # noqa: BLE001 - run_case should not raise; be safe
                results[i] = {"name": cases[i].name, "category": cases[i].category, "expect": cases[i].expect,
                              "what": cases[i].what, "status": "skipped", "reason": f"battery error: {exc}",
                              "notes": []}
            r = results[i]
            print(f"[{k}/{len(cases)}] {r['status']:<11} {r['name']} ({r.get('wall_s', 0):.1f} s)"
                  + (f" -- {r['reason'][:100]}" if r["reason"] else ""), file=sys.stderr)
    elapsed = time.monotonic() - t0
    shutil.rmtree(root / "_shared", ignore_errors=True)
    print(report(results, elapsed, args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"elapsed_s": round(elapsed, 1), "cli": str(args.cli), "seed": args.seed,
                                         "results": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
