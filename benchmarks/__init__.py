"""Benchmarks of dwp_eval against peer libraries.

Run ``python -m benchmarks [names...] [--quick]`` from the repository root
(or ``make bench``). Each ``bench_*.py`` module defines ``run(quick: bool)``,
which times its jobs with :func:`benchmarks.harness.compare` and returns the
list of :class:`benchmarks.harness.Comparison` results. See README.md.
"""
