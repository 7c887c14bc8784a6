"""Copy the reference files that ``dwp_eval.selfcheck`` needs into the package.

``dwp_eval/_reference/`` ships inside the wheel so that ``dwp-eval selfcheck``
can re-run the reference comparisons against an installed library. It is a
byte-for-byte copy of the files of ``tests/reference/`` listed in
``dwp_eval.references.PACKAGE_FILES``; ``tests/test_selfcheck.py`` fails when
the two differ. Run from the repository root after regenerating references:

    .venv/bin/python tests/reference/sync_package_reference.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "reference"
TARGET = ROOT / "src" / "dwp_eval" / "_reference"
sys.path.insert(0, str(ROOT / "src"))

from dwp_eval.references import PACKAGE_FILES  # noqa: E402


def manifest() -> list[str]:
    """Paths relative to ``tests/reference/`` of every file to ship, sorted."""
    files: set[str] = set()
    for pattern in PACKAGE_FILES:
        found = sorted(p.relative_to(SOURCE).as_posix() for p in SOURCE.glob(pattern) if p.is_file())
        if not found:
            raise SystemExit(f"no file in {SOURCE} matches {pattern!r}")
        files.update(found)
    return sorted(files)


def main() -> int:
    wanted = manifest()
    if TARGET.exists():
        shutil.rmtree(TARGET)
    for rel in wanted:
        dest = TARGET / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOURCE / rel, dest)
    size = sum((TARGET / rel).stat().st_size for rel in wanted)
    print(f"copied {len(wanted)} files ({size / 1024:.0f} KB) to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
