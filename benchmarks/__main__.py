"""Run the benchmarks: ``python -m benchmarks [names...] [--quick]``.

Discovers the ``bench_*.py`` modules of this package, runs each one's
``run(quick)``, prints every table and then a summary of every ratio and
target. A benchmark module that cannot be imported (a missing dependency) is
reported as skipped; one that fails is reported with its traceback and the
run goes on. Exit status: 1 if a benchmark failed, or (with ``--strict``) if
a judged target was missed; 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path

import benchmarks
from benchmarks import harness as h

# run on their own (python -m benchmarks.bench_scale): gigabytes of data, a cluster
STANDALONE = ("bench_scale",)
PEER_PACKAGES = ("stochatreat", "statsmodels", "linearmodels", "pyfixest", "numba")


def discover() -> list[str]:
    """Short names (``randomise`` for ``bench_randomise.py``) of the benchmark modules."""
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_") and not m.ispkg and m.name not in STANDALONE
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. randomise")
    p.add_argument(
        "--quick", action="store_true", help="small data, to smoke-run fast; targets not judged"
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed runs per implementation (overrides each benchmark's own)",
    )
    p.add_argument(
        "--memory",
        choices=["off", "tracemalloc", "rss"],
        default="off",
        help="also measure peak memory in one extra untimed call",
    )
    p.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON"
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if a judged target is missed")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = p.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        p.error(f"--repeat must be a positive int. Got {args.repeat} instead.")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    names = [n.removeprefix("bench_") for n in args.names] or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    h.configure(repeat=args.repeat, memory=args.memory)

    env = h.environment(PEER_PACKAGES)
    print("environment: " + "; ".join(f"{k} {v}" for k, v in env.items()), end="\n\n", flush=True)

    results: list[h.Comparison] = []
    problems: list[str] = []
    for name in names:
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
        except ImportError as exc:
            problems.append(f"{name}: skipped, import failed ({exc})")
            print(f"-- {name}: skipped, import failed ({exc})\n", flush=True)
            continue
        t0 = time.perf_counter()
        try:
            got = module.run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            problems.append(f"{name}: FAILED (traceback above)")
            continue
        results.extend(got or [])
        print(f"-- {name}: done in {time.perf_counter() - t0:.1f} s\n", flush=True)

    print("== summary" + (" [quick: targets not judged]" if args.quick else "") + " ==")
    print(h.format_summary(results) if results else "(no results)")
    for line in problems:
        print(line)
    missed = [r.title for r in results if r.met is False]
    if missed:
        print("targets missed: " + "; ".join(missed))

    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "environment": env,
                    "quick": args.quick,
                    "results": [r.to_dict() for r in results],
                },
                indent=2,
            )
            + "\n"
        )
        print(f"results written to {args.json}")

    if any("FAILED" in p for p in problems):
        return 1
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
