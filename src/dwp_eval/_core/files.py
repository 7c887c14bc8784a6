"""Safe file output: several files written all-or-none, atomically, never through
a symbolic link, and never clobbered by a concurrent writer.

:func:`write_files` is the one way the library writes an output that a user keeps
(an allocation and its audit log; later the report's files):

1. the targets are checked before anything is written: two targets naming one
   file, a target that is a symbolic link (even with ``overwrite=True``: the
   link's target is never replaced), or an existing target without
   ``overwrite=True`` is refused;
2. while holding an exclusive lock on the folder (``fcntl.flock`` on the
   folder itself, released by the kernel if the process dies, so a killed
   writer never blocks a retry), each file's content goes to a new temporary
   file in the same folder (exclusive create, ``fsync``);
3. a journal naming each temporary file and its target is written (itself
   through a temporary file and ``os.replace``), then every temporary file is
   renamed over its target with ``os.replace`` and the journal removed.

A write killed before the journal exists leaves the previous files untouched
(its temporary files are removed by the next write or read); a write killed
after it is completed by the next :func:`write_files` or :func:`read_files` on
those paths (roll forward), so a reader never sees a new file beside an old
one. :func:`read_files` takes the same lock, so it never reads half of a set
being replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from dwp_eval.errors import OutputExistsError, OutputPathError

try:  # POSIX: the kernel releases the lock when the process dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_TIMEOUT", "read_files", "write_files"]

LOCK_TIMEOUT = 60.0  # seconds a writer waits for another writer of the same folder
_TMP_SUFFIX = ".dwp-tmp"
_JOURNAL_SUFFIX = ".dwp-pending.json"


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}."


def _journal(target: Path) -> Path:
    return target.with_name(f".{target.name}{_JOURNAL_SUFFIX}")


@contextlib.contextmanager
def _folder_lock(folder: Path, *, func: str, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (waiting up to ``timeout`` seconds)."""
    if fcntl is None:  # pragma: no cover - Windows: a lock file made by exclusive create
        lock = folder / ".dwp-eval.lock"
        deadline = time.monotonic() + timeout
        fd = -1
        while fd < 0:
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if time.monotonic() > deadline:
                    raise OutputPathError(
                        f"{func}: {lock} is held by another writer. Fix: wait for it to finish; "
                        "if no other process is writing, delete the lock file."
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            os.close(fd)
            os.unlink(lock)
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutputPathError(
                        f"{func}: another process has been writing in {folder} for over "
                        f"{timeout:g} s. Fix: wait for it to finish, then try again."
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _settle(targets: Sequence[Path]) -> None:
    """Complete interrupted writes of ``targets`` (roll forward) and remove stray
    temporary files of killed writers. Call with the folder lock held."""
    for target in targets:
        journal = _journal(target)
        if journal.exists():
            try:
                pairs = json.loads(journal.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                pairs = []
            for tmp_name, target_name in pairs:
                tmp = target.with_name(tmp_name)
                if tmp.exists():
                    os.replace(tmp, target.with_name(target_name))
            journal.unlink()
        prefix = _tmp_prefix(target)
        for stray in target.parent.glob(f"{prefix}*{_TMP_SUFFIX}"):
            stray.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_temp(target: Path, data: bytes) -> Path:
    """``data`` in a new file beside ``target`` (exclusive create, synced to disk)."""
    fd, name = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=_TMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(name, 0o666 & ~umask)  # the permissions a plain open() would give
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _check_targets(targets: Sequence[Path], *, func: str) -> None:
    seen: dict[str, Path] = {}
    for t in targets:
        key = os.path.normcase(os.path.abspath(t))
        if key in seen:
            raise OutputPathError(
                f"{func}: two outputs would be written to one file, {t}. Fix: give each "
                "output its own path."
            )
        seen[key] = t
    if len({t.parent.resolve() for t in targets}) > 1:
        raise OutputPathError(
            f"{func}: outputs written together must share one folder; got "
            f"{', '.join(str(t) for t in targets)}."
        )


def write_files(
    files: Mapping[str | os.PathLike[str], bytes | str],
    *,
    overwrite: bool = False,
    func: str,
    exists_error: type[Exception] = OutputExistsError,
    exists_hint: str = "",
    timeout: float = LOCK_TIMEOUT,
) -> list[Path]:
    """Write every file in ``files`` (path -> bytes, or text written as UTF-8), all or none.

    Parameters
    ----------
    files
        The outputs, in the order they are renamed into place; all in one folder.
    overwrite
        Replace existing files. Without it an existing target raises ``exists_error``
        and nothing is written.
    func
        The public name reported in messages, e.g. ``"Allocation.write"``.
    exists_error, exists_hint
        The error raised when a target exists, and the end of its message (after
        "<paths> already exist(s)"; by default a sentence naming ``overwrite=True``).
    timeout
        Seconds to wait for another process writing in the same folder.

    Returns
    -------
    list[Path]
        The targets, in order.

    Raises
    ------
    OutputPathError
        Two targets name one file, a target is a symbolic link or a folder, or the
        folder stays locked by another writer.
    """
    targets = [Path(p) for p in files]
    payload = [d.encode("utf-8") if isinstance(d, str) else bytes(d) for d in files.values()]
    if not targets:
        return []
    _check_targets(targets, func=func)
    folder = targets[0].parent
    for t in targets:
        if t.is_symlink():
            raise OutputPathError(
                f"{func}: {t} is a symbolic link; outputs are never written through a link "
                f"(that would replace the file it points to). Fix: write to the real path "
                f"{os.path.realpath(t)} or remove the link."
            )
    folder.mkdir(parents=True, exist_ok=True)
    with _folder_lock(folder, func=func, timeout=timeout):
        _settle(targets)
        existing = [t for t in targets if os.path.lexists(t)]
        for t in existing:
            if t.is_symlink() or not t.is_file():
                kind = "a symbolic link" if t.is_symlink() else "not a regular file"
                raise OutputPathError(
                    f"{func}: {t} is {kind}; it is never replaced. Fix: write to another path."
                )
        if existing and not overwrite:
            raise exists_error(
                f"{func}: {', '.join(str(t) for t in existing)} already exist(s)"
                + (exists_hint or ". Fix: write to a new path, or pass overwrite=True to replace it.")
            )
        temps: list[Path] = []
        try:
            for t, data in zip(targets, payload, strict=True):
                temps.append(_write_temp(t, data))
            journal = _journal(targets[0])
            pairs = [[tmp.name, t.name] for tmp, t in zip(temps, targets, strict=True)]
            jtmp = _write_temp(journal, json.dumps(pairs).encode("utf-8"))
            os.replace(jtmp, journal)
        except BaseException:
            for tmp in temps:
                tmp.unlink(missing_ok=True)
            raise
        _fsync_folder(folder)
        for tmp, t in zip(temps, targets, strict=True):
            os.replace(tmp, t)
        journal.unlink()
        _fsync_folder(folder)
    return targets


def read_files(
    paths: Sequence[str | os.PathLike[str]], *, func: str, timeout: float = LOCK_TIMEOUT
) -> list[bytes | None]:
    """The bytes of each file in ``paths`` (``None`` for a missing one), read together
    under the folder lock after completing any interrupted :func:`write_files`, so
    the set is never half old and half new."""
    targets = [Path(p) for p in paths]
    if not targets:
        return []
    folder = targets[0].parent
    if not folder.is_dir():
        return [None for _ in targets]
    out: list[bytes | None] = []
    with _folder_lock(folder, func=func, timeout=timeout):
        # best effort in a folder the reader cannot write: a pair left half-renamed
        # is then read as it is, and the caller's checksums report it
        with contextlib.suppress(OSError):
            _settle(targets)
        for t in targets:
            out.append(t.read_bytes() if t.is_file() else None)
    return out
