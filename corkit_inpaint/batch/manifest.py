"""The batch manifest: one JSON line per input in the output folder, written only by the client process.

Each record says what became of one input: its path and sha256, the output,
``status`` (``done``, ``failed``, or ``running`` while a worker has it), the
error, the method, the model's sha256 and the seconds it took, the recipe
(`corkit_inpaint.batch.task.recipe`) and the output's sha256 a rerun skips on,
whether the batch owns the output (``owns``: it may replace it, when it carries
the batch's stamp) and the batch's id (``batch``: made once per manifest, kept by
every rerun, and written as ``INPBATCH`` into each output: `corkit_inpaint.batch.stamp`). Records are
appended with one ``write`` each and fsynced (one cut short is cut back off the
file); a run that is killed while appending leaves at most a torn last line,
which `Manifest.read` ignores. At
the start and end of a run the file is compacted -- rewritten to a temporary
beside it and moved into place -- to the last record of each input, so it
holds one line per input; a SIGTERM meanwhile (in the main thread) removes the
temporary before the process ends. A lock file keeps two runs off one folder.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..exceptions import BatchError, InputError
from ..tempfiles import fsync_dir, write_through_temp
from .stamp import is_batch_id, new_batch_id, stamp_of

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["MANIFEST_NAME", "FIELDS", "Manifest", "input_key"]

log = logging.getLogger(__name__)

#: The manifest's file name in the output folder.
MANIFEST_NAME = "corkit-inpaint-manifest.jsonl"
#: The fields of a record, in this order.
FIELDS = ("path", "sha256", "output", "status", "error", "method", "model_sha256", "seconds", "command",
          "blocks", "finished", "recipe", "output_sha256", "owns", "warnings", "batch")


def input_key(path: str | os.PathLike) -> str:
    """How the manifest names an input: its absolute path (links not resolved)."""
    return os.path.abspath(os.fspath(path))


def _batch_id(records: Iterable[dict]) -> str:
    """The batch id the records carry (the last one's that has a well-formed one), else a new one."""
    ids = [r["batch"] for r in records if isinstance(r.get("batch"), str) and is_batch_id(r["batch"])]
    return ids[-1] if ids else new_batch_id()


def _in_folder(record: dict, folder: Path) -> dict:
    """``record`` with its output named in ``folder``, where the manifest is, when the folder it names is gone
    or is ``folder`` by another path, or when the file of that name here carries the record's batch stamp: a
    folder moved or copied with its manifest is still the batch's (battery s35: records kept the old absolute
    paths, so every output was 'exists', not the batch's, and a rerun failed every file). A manifest copied
    alone elsewhere, its folder still there, keeps naming that folder's files (review s36)."""
    out = record.get("output")
    if not (isinstance(out, str) and os.path.basename(out)):
        return record
    here, was = os.path.abspath(folder), os.path.dirname(out)
    mine = os.path.join(here, os.path.basename(out))
    try:
        moved = was == here or not os.path.isdir(was) or os.path.samefile(was, here) or (
            isinstance(record.get("batch"), str) and os.path.isfile(mine) and stamp_of(mine) == record["batch"])
    except Exception:       # noqa: BLE001 - a path or file the system or astropy cannot read: not this folder
        moved = False
    if moved:
        record["output"] = mine
    return record


def _line(record: dict) -> bytes:
    rec = {k: record.get(k) for k in FIELDS}
    return (json.dumps(rec, separators=(",", ":"), ensure_ascii=True) + "\n").encode()


class Manifest:
    """The manifest of one output folder.

    Parameters
    ----------
    folder : path-like
        The output folder (it must exist).

    Notes
    -----
    Use as a context manager: entering takes the folder's lock (`BatchError`
    when another run holds it), sets `batch` and opens the file for appending;
    leaving compacts it and releases the lock.

    Attributes
    ----------
    batch : str or None
        The batch's id, set on entering: the one the records carry (the last
        record's that has one), else a new one (`corkit_inpaint.batch.stamp.new_batch_id`).
        Every record appended carries it, so it is kept by every rerun into the folder.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        self.batch: str | None = None
        self._fd: int | None = None
        self._lock: int | None = None

    def read(self) -> dict[str, dict]:
        """The last record of each input, by `input_key`; an unreadable line (the torn last line of a run
        killed while appending, a line an earlier release's full disk cut short) is skipped with a warning.
        A record's ``output`` in a folder that is gone, or is this one by another path, or whose file of that
        name here carries the record's batch stamp, is read as that file in this folder (the folder was moved
        or copied with the manifest: `_in_folder`; the compaction on entering writes it so).

        Raises
        ------
        BatchError
            The file is a link or not a regular file, or none of its two or more lines is a record: it is not
            a manifest this tool wrote, and a run would replace it.
        """
        out: dict[str, dict] = {}
        try:
            if not stat.S_ISREG(os.lstat(self.path).st_mode):
                raise BatchError(f"{self.path}: is a link or not a regular file, not a batch manifest; move it away")
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return out
        lines = [(n, line) for n, line in enumerate(raw.splitlines(), 1) if line.strip()]
        bad = []
        for n, line in lines:
            try:
                rec = json.loads(line)
                key = input_key(rec["path"])
            except (ValueError, KeyError, TypeError, RecursionError):     # a hand edit nested past the parser's depth
                bad.append(n)
                continue
            out[key] = _in_folder({k: rec.get(k) for k in FIELDS}, self.folder)
        if len(bad) > 1 and not out:
            raise BatchError(f"{self.path}: none of its lines is a batch record, so this is not a manifest "
                             "this tool wrote; move it away")
        for n in bad:
            log.warning("%s: line %d is unreadable and skipped (%s)", self.path, n,
                        "a run killed while writing" if n == lines[-1][0] else "a write cut short")
        return out

    def compact(self, records: Iterable[dict] | None = None) -> None:
        """Rewrite the file atomically with ``records`` (default: `read`'s), one line each.

        The temporary is removed if the write fails, and on SIGTERM in the main
        thread (`corkit_inpaint.tempfiles.write_through_temp`), from its creation on.

        Raises
        ------
        BatchError
            Terminated (SIGTERM) where the previous SIGTERM handler returns instead of ending the process.
        """
        recs = list(self.read().values() if records is None else records)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                f.write(b"".join(_line(r) for r in recs))
                f.flush()
                os.fsync(f.fileno())
        write_through_temp(self.path, write, what="a manifest rewrite",
                           terminated=BatchError(f"{self.path}: terminated (SIGTERM)"))
        fsync_dir(self.folder)

    def append(self, record: dict) -> None:
        """Append one record, with this batch's id (`batch`), in a single write, and fsync it.

        Raises
        ------
        BatchError
            The write failed or was cut short (a full disk): the file is cut back to where it was, so no
            part of a line stays to run into the next record.
        """
        if self._fd is None:
            raise BatchError(f"{self.path}: not open for appending (use the manifest as a context manager)")
        data = _line({**record, "batch": self.batch})
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            if os.write(self._fd, data) != len(data):
                raise OSError(errno.ENOSPC, "the write was cut short")
            os.fsync(self._fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, end)
            raise BatchError(f"{self.path}: could not append a record ({exc.strerror or exc})") from None

    def __enter__(self) -> Manifest:
        self._take_lock()
        try:
            self.compact()                                        # drops a torn line before appending
            self.batch = _batch_id(self.read().values())
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, typ, exc, tb) -> None:
        try:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                try:
                    self.compact()
                except (OSError, InputError) as err:    # a full disk: the error leaving the block says more
                    if typ is None:
                        raise
                    log.warning("%s: not compacted (%s)", self.path, getattr(err, "strerror", None) or err)
        finally:
            self._release()

    def _take_lock(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            return
        lock = self.folder / f".{MANIFEST_NAME}.lock"
        try:        # not through a link: one planted there made the batch create its target (battery s35)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as exc:
            raise BatchError(f"{lock}: cannot be the batch's lock file ({exc.strerror or exc}"
                             f"{'; it is a symbolic link' if lock.is_symlink() else ''})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise BatchError(f"{self.folder}: another batch run is writing to this folder") from None
        self._lock = fd

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)               # closing releases the lock
            self._lock = None

