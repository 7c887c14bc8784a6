"""A small harness that times dwp_eval against peer libraries on the same data.

A benchmark module builds its data once, wraps each implementation in a
:class:`Case` and calls :func:`compare`, which runs them all in this one
process, prints a table and returns a :class:`Comparison`::

    from benchmarks import harness as h

    def run(quick: bool) -> list[h.Comparison]:
        df = make_people(20_000 if quick else 1_000_000)
        st = h.optional_import("stochatreat")
        peers = {"stochatreat": h.Case("stochatreat", lambda: st.stochatreat(...))
                 if st is not None else h.missing("stochatreat")}
        return [h.compare("randomise, 1,000,000 people", h.Case("dwp_eval", ...), peers,
                          target_seconds=1.0, target_ratio=5.0, quick=quick)]

Timing
------
Each repetition runs every implementation once, in an order that rotates
from one repetition to the next, so slow drift of the machine (other jobs,
turbo, thermal) falls evenly on all of them. Wall time is
``time.perf_counter`` around the call only: ``Case.setup`` runs untimed
before each call, ``gc.collect()`` runs before each call, and the garbage
collector stays enabled during it (the cost of collecting what a call
allocates is part of its cost). We report the best and the median of the
repetitions; ratios are ``peer time / our time`` (above 1: we are faster),
and stated targets are judged on the medians, the more conservative of the two.

Peak memory is optional (``memory=`` or ``python -m benchmarks --memory``)
and is measured in one extra, untimed call so that it never slows the
timings: ``"tracemalloc"`` counts Python and numpy allocations (numpy
reports its buffers to tracemalloc) but slows allocation-heavy code;
``"rss"`` is the rise of the process's peak resident set over the call
(on Linux we return freed heap to the OS and reset the kernel's peak
counter first; elsewhere the figure is only a lower bound, shown with
``>=``). The two answer different questions: tracemalloc the bytes the job
asked for, RSS what the machine had to provide, including the allocator's
and the libraries' own overheads.
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import importlib
import importlib.metadata
import math
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

__all__ = [
    "BenchmarkError",
    "Case",
    "Comparison",
    "Missing",
    "Timing",
    "compare",
    "configure",
    "environment",
    "format_summary",
    "memory_mode",
    "missing",
    "optional_import",
    "package_version",
    "peak_memory",
]

MemoryMode = Literal["off", "tracemalloc", "rss"]
#: ``Target.peer`` of the memory target (None is the time target).
MEMORY = "(memory)"
Status = Literal["ok", "skipped", "error"]

#: Extra environment variables worth recording with every run: they change
#: BLAS kernels and thread counts, hence the timings of linear-algebra code.
ENV_VARS = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


class BenchmarkError(RuntimeError):
    """An implementation returned an invalid result, so its timing would mislead."""


@dataclass(frozen=True)
class Case:
    """One implementation of the job being timed.

    Parameters
    ----------
    name
        Row label in the table (for a peer given in a dict, the dict key is used).
    fn
        The job. Called as ``fn()``, or ``fn(setup())`` when ``setup`` is given.
    setup
        Untimed preparation run before every call, e.g. a fresh copy of data
        that ``fn`` modifies.
    check
        Called once on the first result (outside the timing). Raise
        :class:`BenchmarkError` if the result is wrong; return a short note
        (shown in the table) describing what was checked.
    """

    name: str
    fn: Callable[..., Any]
    setup: Callable[[], Any] | None = None
    check: Callable[[Any], str] | None = None

    def call(self) -> tuple[float, Any]:
        """Run once; return the wall time of ``fn`` and its result."""
        arg = self.setup() if self.setup is not None else None
        gc.collect()
        if self.setup is None:
            t0 = time.perf_counter()
            out = self.fn()
            t1 = time.perf_counter()
        else:
            t0 = time.perf_counter()
            out = self.fn(arg)
            t1 = time.perf_counter()
        return t1 - t0, out


@dataclass(frozen=True)
class Missing:
    """A peer that cannot run here (not installed); reported as skipped."""

    reason: str


def missing(package: str, *, extra: str = "bench") -> Missing:
    """A :class:`Missing` peer for a package that is not installed."""
    return Missing(f"{package} not installed (pip install -e '.[{extra}]')")


def optional_import(name: str) -> ModuleType | None:
    """Import ``name`` if it is installed, else return None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def package_version(dist: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class Timing:
    """Wall times of one implementation (seconds), or why it did not run."""

    name: str
    status: Status
    times: tuple[float, ...] = ()
    note: str = ""
    peak_bytes: int | None = None
    peak_exact: bool = True

    @property
    def best(self) -> float:
        return min(self.times) if self.times else math.nan

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "times": list(self.times),
            "best": self.best if self.times else None,
            "median": self.median if self.times else None,
            "note": self.note,
            "peak_bytes": self.peak_bytes,
        }


@dataclass(frozen=True)
class Target:
    """One stated target and whether it was met (``met`` is None if not judged)."""

    text: str
    value: str
    met: bool | None
    peer: str | None = None  # None: the absolute time target; MEMORY: the memory target
    why_not_judged: str = ""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return f"not judged ({self.why_not_judged})"
        return "MET" if self.met else "MISSED"


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: our timing, the peers' timings and the targets."""

    title: str
    ours: Timing
    peers: tuple[Timing, ...]
    repeat: int
    target_seconds: float | None = None
    target_ratio: Mapping[str, float] = field(default_factory=dict)
    quick: bool = False
    info: str = ""
    target_peak_bytes: float | None = None
    target_peak_text: str = ""

    def ratio(self, peer: str, stat: Literal["best", "median"] = "median") -> float:
        """``peer time / our time``: above 1 means dwp_eval is faster."""
        t = self._peer(peer)
        if t.status != "ok" or self.ours.status != "ok":
            return math.nan
        return float(getattr(t, stat) / getattr(self.ours, stat))

    def _peer(self, name: str) -> Timing:
        for t in self.peers:
            if t.name == name:
                return t
        raise KeyError(f"no peer {name!r}; peers are {[t.name for t in self.peers]}")

    @property
    def targets(self) -> tuple[Target, ...]:
        out: list[Target] = []
        quick = "--quick data" if self.quick else ""
        if self.target_seconds is not None:
            med = self.ours.median
            out.append(
                Target(
                    f"{self.ours.name} <= {self.target_seconds:g} s",
                    f"{med:.3f} s",
                    None if quick else bool(med <= self.target_seconds),
                    None,
                    quick,
                )
            )
        if self.target_peak_bytes is not None:
            peak = self.ours.peak_bytes
            limit = _fmt_bytes(int(self.target_peak_bytes))
            text = f"{self.ours.name} peak memory <= {self.target_peak_text or limit}"
            if self.target_peak_text:
                text += f" = {limit}"
            why = quick or (
                "memory not measured"
                if peak is None
                else ""
                if self.ours.peak_exact
                else "peak RSS only a lower bound here"
            )
            out.append(
                Target(
                    text,
                    _fmt_bytes(peak, self.ours.peak_exact),
                    None if why else bool(peak is not None and peak <= self.target_peak_bytes),
                    MEMORY,
                    why,
                )
            )
        for peer, want in self.target_ratio.items():
            r = self.ratio(peer)
            status = self._peer(peer).status
            why = quick or ("" if status == "ok" else f"{peer} {status}")
            out.append(
                Target(
                    f"{peer} / {self.ours.name} >= {want:g}x",
                    "-" if math.isnan(r) else f"{r:.2f}x",
                    None if why else bool(r >= want),
                    peer,
                    why,
                )
            )
        return tuple(out)

    @property
    def met(self) -> bool | None:
        """False if any judged target was missed; None if no target was judged."""
        judged = [t.met for t in self.targets if t.met is not None]
        return all(judged) if judged else None

    def table(self) -> str:
        """The comparison as a text table."""
        rows = [("implementation", "best s", "median s", "x best", "x median", "peak mem", "check")]
        for t in (self.ours, *self.peers):
            if t.status != "ok":
                rows.append((t.name, "-", "-", "-", "-", "-", f"{t.status}: {t.note}"))
                continue
            is_ours = t is self.ours
            rows.append(
                (
                    t.name,
                    f"{t.best:.3f}",
                    f"{t.median:.3f}",
                    "1.00" if is_ours else _fmt_ratio(self.ratio(t.name, "best")),
                    "1.00" if is_ours else _fmt_ratio(self.ratio(t.name, "median")),
                    _fmt_bytes(t.peak_bytes, t.peak_exact),
                    t.note,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        lines = [f"== {self.title} ==" + (" [quick]" if self.quick else "")]
        if self.info:
            lines.append(f"   {self.info}")
        for r in rows:
            cells = [r[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(r[1:-1], widths[1:], strict=True)
            ]
            lines.append("   " + "  ".join(cells) + "  " + r[-1])
        lines.append(
            f"   x = peer time / {self.ours.name} time (above 1: {self.ours.name} is faster); "
            f"{self.repeat} timed runs each"
        )
        targets = self.targets
        if targets:
            lines.append("   targets (judged on medians):")
            for tg in targets:
                lines.append(f"     {tg.text}: {tg.value}  {tg.verdict}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "quick": self.quick,
            "repeat": self.repeat,
            "info": self.info,
            "target_peak_bytes": self.target_peak_bytes,
            "ours": self.ours.to_dict(),
            "peers": [p.to_dict() for p in self.peers],
            "ratios_median": {p.name: _nan_none(self.ratio(p.name)) for p in self.peers},
            "ratios_best": {p.name: _nan_none(self.ratio(p.name, "best")) for p in self.peers},
            "targets": [
                {"target": t.text, "value": t.value, "met": t.met, "verdict": t.verdict}
                for t in self.targets
            ],
        }


@dataclass(frozen=True)
class Session:
    """Overrides set from the command line (``python -m benchmarks``)."""

    repeat: int | None = None
    memory: MemoryMode = "off"


_session = Session()


def configure(*, repeat: int | None = None, memory: MemoryMode = "off") -> None:
    """Set command-line overrides for every later :func:`compare` call."""
    global _session
    _session = Session(repeat=repeat, memory=memory)


def memory_mode() -> MemoryMode:
    """The ``--memory`` setting of this run (``"off"`` unless given)."""
    return _session.memory


def compare(
    title: str,
    ours: Case | Callable[[], Any],
    peers: Mapping[str, Case | Callable[[], Any] | Missing],
    *,
    repeat: int = 5,
    warmup: int = 1,
    target_seconds: float | None = None,
    target_ratio: float | Mapping[str, float] | None = None,
    memory: MemoryMode | None = None,
    quick: bool = False,
    info: str = "",
    show: bool = True,
    target_peak_bytes: float | None = None,
    target_peak_text: str = "",
) -> Comparison:
    """Time ``ours`` and each peer on the same job, print a table, return the result.

    Parameters
    ----------
    title
        Heading of the table (say what the job is and how big).
    ours
        The dwp_eval implementation (a bare callable is named ``dwp_eval``).
    peers
        Peer name to implementation; a :class:`Missing` peer, or one whose
        call raises ``ImportError``, is reported as skipped. A peer that
        raises anything else is reported as an error; ours re-raises, and so
        does any :class:`BenchmarkError` from a check.
    repeat, warmup
        Timed and untimed calls of each implementation (``--repeat`` overrides
        ``repeat``). There is always at least one untimed call: its result is
        the one given to ``Case.check``.
    target_seconds
        Our median must be at most this many seconds.
    target_ratio
        ``peer median / our median`` must be at least this: one number for
        every peer, or a dict per peer. Targets are not judged with ``quick``.
    memory
        ``"off"``, ``"tracemalloc"`` or ``"rss"``; None uses ``--memory``.
    quick
        The job uses the small ``--quick`` data: time it, judge no target.
    info
        A line printed under the title (data shape, seeds, caveats).
    show
        Print the table.
    target_peak_bytes, target_peak_text
        Our peak memory (one extra untimed call) must be at most this many
        bytes; the text says what the limit is (e.g. "3 x data (146 MiB)").
        With a memory target, memory is measured even without ``--memory``
        (by tracemalloc, unless ``memory`` or ``--memory`` say ``"rss"``).
    """
    repeat = _session.repeat or repeat
    mem: MemoryMode = memory if memory is not None else _session.memory
    if target_peak_bytes is not None and mem == "off":
        mem = "tracemalloc"
    ours_case = ours if isinstance(ours, Case) else Case("dwp_eval", ours)
    cases: list[Case] = [ours_case]
    results: dict[str, Timing] = {}
    if ours_case.name in peers:
        raise ValueError(f"a peer is named like ours ({ours_case.name!r}); rename one of them")
    if target_ratio is None:
        ratios: dict[str, float] = {}
    elif isinstance(target_ratio, Mapping):
        ratios = {str(k): float(v) for k, v in target_ratio.items()}
    else:
        ratios = {name: float(target_ratio) for name in peers}
    unknown = set(ratios) - set(peers)
    if unknown:
        raise ValueError(
            f"target_ratio names unknown peers {sorted(unknown)}; peers are {list(peers)}"
        )
    for name, impl in peers.items():
        if isinstance(impl, Missing):
            results[name] = Timing(name, "skipped", note=impl.reason)
        elif isinstance(impl, Case):
            cases.append(dataclasses.replace(impl, name=name))
        else:
            cases.append(Case(name, impl))

    notes: dict[str, str] = {}
    active: list[Case] = []
    for case in cases:
        is_ours = case is ours_case
        try:
            for i in range(max(warmup, 1)):
                _, out = case.call()
                if i == 0:
                    notes[case.name] = case.check(out) if case.check is not None else ""
                del out
        except BenchmarkError:
            raise
        except ImportError as exc:
            if is_ours:
                raise
            results[case.name] = Timing(case.name, "skipped", note=f"import failed: {exc}")
            continue
        except Exception as exc:
            if is_ours:
                raise
            results[case.name] = Timing(case.name, "error", note=f"{type(exc).__name__}: {exc}")
            continue
        active.append(case)

    times: dict[str, list[float]] = {c.name: [] for c in active}
    for r in range(repeat):
        k = r % len(active)
        for case in active[k:] + active[:k]:
            dt, out = case.call()
            del out
            times[case.name].append(dt)

    for case in active:
        peak, exact = _peak_memory(case, mem)
        results[case.name] = Timing(
            case.name, "ok", tuple(times[case.name]), notes[case.name], peak, exact
        )

    result = Comparison(
        title=title,
        ours=results[ours_case.name],
        peers=tuple(results[name] for name in peers),
        repeat=repeat,
        target_seconds=target_seconds,
        target_ratio=ratios,
        quick=quick,
        info=info,
        target_peak_bytes=target_peak_bytes,
        target_peak_text=target_peak_text,
    )
    if show:
        print(result.table(), "", sep="\n", flush=True)
    return result


# ------------------------------------------------------------------ memory


def peak_memory(case: Case, mode: Literal["tracemalloc", "rss"]) -> tuple[int, bool]:
    """Peak memory of one extra call of ``case`` by ``mode``: (bytes, exact).

    ``exact`` is False when the RSS figure is only a lower bound (see the module
    docstring). For a second figure next to the one :func:`compare` measured.
    """
    peak, exact = _peak_memory(case, mode)
    return int(peak or 0), exact


def _peak_memory(case: Case, mode: MemoryMode) -> tuple[int | None, bool]:
    """Peak memory of one extra, untimed call: (bytes, exact)."""
    if mode == "off":
        return None, True
    arg = case.setup() if case.setup is not None else None
    gc.collect()
    if mode == "tracemalloc":
        tracemalloc.start()
        try:
            out = case.fn(arg) if case.setup is not None else case.fn()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        del out
        return int(peak), True
    _release_free_memory()
    exact = _reset_peak_rss()
    before = _rss_now() if exact else _max_rss()
    out = case.fn(arg) if case.setup is not None else case.fn()
    after = _proc_status_bytes("VmHWM") if exact else _max_rss()
    del out
    return max(0, int(after - before)), exact


def _release_free_memory() -> None:
    """Return freed heap pages to the OS (glibc), so that a call reusing them still
    shows in the RSS; a no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (Linux >= 4.0); False if unavailable."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return _proc_status_bytes("VmHWM") > 0


def _proc_status_bytes(key: str) -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _rss_now() -> int:
    return _proc_status_bytes("VmRSS")


def _max_rss() -> int:
    """Peak RSS of the process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


# ------------------------------------------------------------------ formatting


def _fmt_ratio(r: float) -> str:
    return "-" if math.isnan(r) else f"{r:.2f}"


def _fmt_bytes(n: int | None, exact: bool = True) -> str:
    if n is None:
        return "-"
    prefix = "" if exact else ">="
    return f"{prefix}{n / 2**20:.1f} MiB"


def _nan_none(x: float) -> float | None:
    return None if math.isnan(x) else x


def format_summary(results: list[Comparison]) -> str:
    """One line per peer of every comparison (and per time target), with ratios and verdicts."""
    header = ("benchmark", "peer", "ours med s", "peer med s", "x median", "x best", "target")
    rows = [header]
    for res in results:
        ours_med = f"{res.ours.median:.3f}" if res.ours.status == "ok" else "-"
        by_peer = {t.peer: t for t in res.targets}
        if None in by_peer:
            tg = by_peer[None]
            rows.append((res.title, "(time)", ours_med, "-", "-", "-", f"{tg.text}: {tg.verdict}"))
        if MEMORY in by_peer:
            tg = by_peer[MEMORY]
            rows.append(
                (res.title, MEMORY, ours_med, "-", "-", "-", f"{tg.text}: {tg.value} {tg.verdict}")
            )
        for p in res.peers:
            peer_target = by_peer.get(p.name)
            verdict = (
                ""
                if peer_target is None
                else f">= {res.target_ratio[p.name]:g}x: {peer_target.verdict}"
            )
            if p.status != "ok":
                rows.append((res.title, p.name, ours_med, p.status, "-", "-", verdict or p.note))
                continue
            rows.append(
                (
                    res.title,
                    p.name,
                    ours_med,
                    f"{p.median:.3f}",
                    _fmt_ratio(res.ratio(p.name)),
                    _fmt_ratio(res.ratio(p.name, "best")),
                    verdict,
                )
            )
        if not res.peers and None not in by_peer and MEMORY not in by_peer:
            rows.append((res.title, "-", ours_med, "-", "-", "-", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(r[2:6], widths[2:6], strict=True)]
        lines.append("  ".join([*cells, r[6]]).rstrip())
    return "\n".join(lines)


def environment(packages: tuple[str, ...] = ()) -> dict[str, str]:
    """What the timings depend on: machine, Python, library versions, BLAS settings."""
    env: dict[str, str] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": str(os.cpu_count()),
    }
    for dist in ("dwp_eval", "numpy", "pandas", "scipy", *packages):
        env[dist] = package_version(dist) or "not installed"
    for var in ENV_VARS:
        if var in os.environ:
            env[var] = os.environ[var]
    return env


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
