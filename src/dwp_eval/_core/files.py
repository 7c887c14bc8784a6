"""Safe file output, the one ground floor of every file the library writes: an
allocation and its audit log, the report's HTML, Markdown, workbook and tables, and
the command line's checks of its outputs.

The checks, made before anything is written (each caller words its own message):

* :func:`same_file` / :func:`duplicate_target`: two outputs naming one file (after
  ``..``, ``.`` and links are resolved) are refused;
* :func:`target_problem`: a target that is a folder or not a regular file, a symbolic
  link (refused, or with ``links="replace"`` replaced by the new file under
  ``overwrite``: never written through), or an existing file without ``overwrite``.

Two writers, both atomic (a temporary file in the target's folder, synced, then
renamed; never a partial file), all or none for a set of files:

* :func:`write_files` (an allocation and its log: one folder, read back together):

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

* :func:`publish_files` (the report's outputs, possibly in several folders, never
  read back): under the lock of every folder involved, each file goes to a
  temporary file, then into place by ``os.link`` without ``overwrite`` (an
  exclusive create: of two processes writing one new path exactly one succeeds) or
  ``os.replace`` with it; if a move fails or the process is interrupted, the files
  already moved are undone (new files removed, replaced ones put back from a
  hard-link backup) and every temporary file is deleted (roll back).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeVar

from dwp_eval.errors import OutputExistsError, OutputPathError

try:  # POSIX: the kernel releases the lock when the process dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_TIMEOUT",
    "duplicate_target",
    "publish_files",
    "read_files",
    "refuse_duplicates",
    "same_file",
    "target_problem",
    "write_files",
]

L = TypeVar("L", bound=Hashable)
#: What is wrong with a target (see :func:`target_problem`).
Problem = Literal["folder", "special", "link", "exists"]

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


def same_file(path: str | os.PathLike[str]) -> str:
    """A key equal for two paths naming one file: absolute, normalised (``..``, ``.``),
    case-folded where the platform ignores case, and resolved through links."""
    key = os.path.normcase(os.path.abspath(path))
    with contextlib.suppress(OSError, RuntimeError):
        key = os.path.normcase(str(Path(path).resolve()))
    return key


def duplicate_target(
    targets: Sequence[tuple[str | os.PathLike[str], L]],
) -> tuple[Path, L, L] | None:
    """The first path named twice in ``(path, label)`` pairs, with the labels of its
    two uses (e.g. the two command-line options), or ``None``."""
    seen: dict[str, L] = {}
    for raw, label in targets:
        key = same_file(raw)
        if key in seen:
            return Path(raw), seen[key], label
        seen[key] = label
    return None


def refuse_duplicates(
    targets: Sequence[tuple[str | os.PathLike[str], L]],
    error: Callable[[Path, L, L], Exception],
) -> None:
    """Raise ``error(path, first label, second label)`` for the first file named twice
    (:func:`duplicate_target`); each caller words the message for its users."""
    twice = duplicate_target(targets)
    if twice is not None:
        raise error(*twice)


def target_problem(
    path: str | os.PathLike[str], *, overwrite: bool, links: Literal["refuse", "replace"] = "refuse"
) -> Problem | None:
    """What stops writing a file at ``path``, or ``None``.

    ``"folder"`` (a folder is there), ``"link"`` (a symbolic link, with
    ``links="refuse"``: never written through nor replaced), ``"special"`` (something
    other than a regular file), ``"exists"`` (a file, or with ``links="replace"`` a
    link, is there and ``overwrite`` is false). With ``links="replace"`` and
    ``overwrite`` a link is replaced by the new file, never followed."""
    p = Path(path)
    if p.is_symlink():
        if links == "refuse":
            return "link"
        return None if overwrite else "exists"
    if p.is_dir():
        return "folder"
    if os.path.lexists(p):
        if not p.is_file():
            return "special"
        if not overwrite:
            return "exists"
    return None


def _check_targets(targets: Sequence[Path], *, func: str) -> None:
    refuse_duplicates([(t, t) for t in targets], lambda p, _a, _b: OutputPathError(
        f"{func}: two outputs would be written to one file, {p}. Fix: give each output its "
        "own path."))
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
        if target_problem(t, overwrite=True) == "link":
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
            if (problem := target_problem(t, overwrite=True)) is not None:
                kind = "a symbolic link" if problem == "link" else "not a regular file"
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


# ---------------------------------------------------------------------------- publish_files


def publish_files(
    files: Sequence[tuple[str | os.PathLike[str], bytes]],
    *,
    overwrite: bool,
    func: str,
    exists_error: Callable[[Path], Exception],
    timeout: float = LOCK_TIMEOUT,
) -> list[Path]:
    """Write every ``(path, content)`` atomically, all or none, in any folders (see the
    module): the caller has checked the targets (:func:`duplicate_target`,
    :func:`target_problem`); a target that appears meanwhile without ``overwrite``
    raises ``exists_error(path)`` and undoes the files already moved."""
    targets = [Path(p) for p, _ in files]
    folders = sorted({t.parent for t in targets}, key=str)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    moved: list[tuple[Path, Path | None]] = []  # (target, backup of what it replaced)
    backups: list[Path] = []
    with contextlib.ExitStack() as locks:
        for folder in folders:  # in one order, so two writers never wait on each other
            locks.enter_context(_folder_lock(folder, func=func, timeout=timeout))
        try:
            for t, (_, content) in zip(targets, files, strict=True):
                staged.append((t, _write_temp(t, content)))
            for t, tmp in staged:
                if overwrite:
                    backup = _backup(t)
                    if backup is not None:
                        backups.append(backup)
                    os.replace(tmp, t)
                    moved.append((t, backup))
                else:
                    _link_new(tmp, t, exists_error)
                    moved.append((t, None))
        except BaseException:
            for t, backup in reversed(moved):  # undo: put back what was there before
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, t)
                    else:
                        t.unlink()
            raise
        finally:
            for leftover in [tmp for _, tmp in staged] + backups:
                with contextlib.suppress(OSError):
                    os.unlink(leftover)
        for folder in folders:
            _fsync_folder(folder)
    return targets


def _backup(path: Path) -> Path | None:
    """A hard link to the file at ``path`` (to put it back if a later file fails), or
    ``None`` when there is none (or links are not supported)."""
    if not path.is_file() or path.is_symlink():
        return None
    name = path.with_name(f".{path.name}.{uuid.uuid4().hex}.bak")
    try:
        os.link(path, name)
    except OSError:
        return None
    return name


def _link_new(tmp: Path, path: Path, exists_error: Callable[[Path], Exception]) -> None:
    """Move ``tmp`` to a new ``path``; fail if ``path`` exists (also if another process
    created it a moment ago): an exclusive create."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise exists_error(path) from None
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # no hard links on this file system: an exclusive create, then the content
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise exists_error(path) from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(tmp.read_bytes())
            fh.flush()
            os.fsync(fh.fileno())
