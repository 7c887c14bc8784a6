"""Where the real trial data of ``../shared/data/`` are (JTPA, Card & Krueger).

They are not part of the repository (see ``../shared/data/README.md`` for their
provenance). Looked for, in order: ``$DWP_EVAL_SHARED_DATA``, ``shared/data``
beside the repository, and ``/work/shared/data`` (the project's machines).
Tests that need a file skip, saying which, when it is in none of them.
"""

from __future__ import annotations

import os
from pathlib import Path

_ROOTS = [
    os.environ.get("DWP_EVAL_SHARED_DATA"),
    Path(__file__).resolve().parents[2] / "shared" / "data",
    "/work/shared/data",
]


def shared_file(name: str) -> Path:
    """The first existing ``<root>/<name>``, else the first candidate (which does not exist)."""
    candidates = [Path(r) / name for r in _ROOTS if r]
    return next((p for p in candidates if p.exists()), candidates[0])
