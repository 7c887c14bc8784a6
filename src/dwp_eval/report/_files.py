"""Writing the report's files safely: every file is written whole or not at all, a set
of files is checked before any is written, and two writers never both "succeed".

:func:`check_targets` refuses, before anything is written, a path named twice and an
existing file without ``overwrite``. :func:`publish` writes every file's bytes to a
temporary file in the target's folder, flushed to disk, then moves each into place:
``os.link`` (which fails if the target exists: an exclusive create, so of two
processes writing to one new path exactly one succeeds) without ``overwrite``, or
``os.replace`` (atomic; a symlink at the target is replaced, never followed) with it.
If a move fails (or the process is interrupted), the files already moved are undone
(new files removed, replaced files put back from a hard-link backup) and every
temporary file is deleted, so a failed write never leaves a partial file or a
half-written set behind.

(A private helper of the report; the allocation writer has its own. The lead may unify
them.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

from dwp_eval.errors import DwpEvalError

__all__: list[str] = []


def _exists_message(p: Path, what: str) -> str:
    return (
        f"{str(p)!r} already exists and would be overwritten by this {what}. Fix: choose "
        "another path, or pass overwrite=True (--overwrite on the command line)."
    )


def check_targets(targets: Sequence[tuple[str | Path, str]], *, overwrite: bool) -> list[Path]:
    """Check every ``(path, what)`` before anything is written: no path named twice (two
    outputs to one file), none a folder, none existing unless ``overwrite``."""
    seen: dict[str, str] = {}
    paths = []
    for raw, what in targets:
        p = Path(raw)
        key = os.path.normcase(os.path.abspath(p))
        with contextlib.suppress(OSError):
            key = os.path.normcase(str(p.resolve()))
        if key in seen:
            raise DwpEvalError(
                f"{str(p)!r} is named for two outputs ({seen[key]} and {what}): the second "
                "would replace the first. Fix: give each output its own path."
            )
        seen[key] = what
        if p.is_dir():
            raise DwpEvalError(
                f"{str(p)!r} is a folder, not a file, so this {what} cannot be written there. "
                "Fix: give a file path."
            )
        if (p.exists() or p.is_symlink()) and not overwrite:
            raise DwpEvalError(_exists_message(p, what))
        paths.append(p)
    return paths


def publish(files: Sequence[tuple[Path, bytes, str]], *, overwrite: bool) -> list[Path]:
    """Write every ``(path, content, what)`` atomically, all or none (see the module)."""
    staged: list[tuple[Path, str, str]] = []
    moved: list[tuple[Path, str | None]] = []  # (target, backup of what it replaced)
    backups: list[str] = []
    try:
        for path, content, what in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((path, tmp, what))
            os.fchmod(fd, 0o666 & ~_umask())  # as a plain open() would make it
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
        for path, tmp, what in staged:
            if overwrite:
                backup = _backup(path)
                if backup is not None:
                    backups.append(backup)
                os.replace(tmp, path)
                moved.append((path, backup))
            else:
                _link_new(tmp, path, what)
                moved.append((path, None))
    except BaseException:
        for path, backup in reversed(moved):  # undo: put back what was there before
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                else:
                    path.unlink()
        raise
    finally:
        for tmp in [t for _, t, _ in staged] + backups:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return [path for path, _, _ in files]


def _backup(path: Path) -> str | None:
    """A hard link to the file at ``path`` (to put it back if a later file fails), or
    ``None`` when there is none (or links are not supported)."""
    if not path.is_file() or path.is_symlink():
        return None
    name = str(path.parent / f".{path.name}.{uuid.uuid4().hex}.bak")
    try:
        os.link(path, name)
    except OSError:
        return None
    return name


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _link_new(tmp: str, path: Path, what: str) -> None:
    """Move ``tmp`` to a new ``path``; fail if ``path`` exists (also if another process
    created it a moment ago)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise DwpEvalError(_exists_message(path, what)) from None
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # no hard links on this file system: an exclusive create, then the content
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise DwpEvalError(_exists_message(path, what)) from None
        with os.fdopen(fd, "wb") as fh, open(tmp, "rb") as src:
            fh.write(src.read())
            fh.flush()
            os.fsync(fh.fileno())
