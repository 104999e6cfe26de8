"""What made a result: the versions of the code and its git commit, recorded beside weights, tables and scores.

`source_provenance` is written into every record this package makes of a run that can be remade: a training
run's and a soup's ``config.json`` (`corkit_inpaint.training`), a spread head's, an error-tables file's ``fit``
(`corkit_inpaint.uncertainty.fit`) and ``evaluate --json``.
"""

from __future__ import annotations

import platform
from pathlib import Path

__all__ = ["source_provenance", "source_commit", "PACKAGES"]

#: The libraries whose versions decide what the simulator, the fills and the training compute.
PACKAGES = ("numpy", "scipy", "astropy", "scikit-image", "torch")


def source_provenance() -> dict:
    """The versions of the code (this package, Python and `PACKAGES`) and the git commit of a source checkout.

    Returns
    -------
    dict
        ``{"versions": {name: version or None}, "source_commit": str or None}`` (see `source_commit`).
    """
    from importlib import metadata

    from . import __version__
    versions = {"corkit-inpaint": __version__, "python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"versions": versions, "source_commit": source_commit()}


def source_commit() -> str | None:
    """The git commit of a source checkout the package runs from (``+dirty`` with changes), else None."""
    import subprocess
    here = Path(__file__).resolve().parents[1]
    if not (here / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")
