"""Beyond one machine: derive_outcomes and itt on Dask, at sizes pandas cannot hold.

Not part of ``python -m benchmarks`` (it writes gigabytes of parquet and runs for a long
time); run it alone::

    .venv/bin/python -m benchmarks.bench_scale            # 10M..200M records, ITT at 100M
    .venv/bin/python -m benchmarks.bench_scale --quick    # 1M..4M records: a smoke run

What it measures (issue 18):

1. ``derive_outcomes`` on monthly person-month employment records in parquet, read lazily
   by Dask, on a ``dask.distributed`` LocalCluster of 2 single-threaded workers whose
   memory limits add up to *less* than the records' in-memory size (both figures are
   printed): wall time, and the peak memory of each worker (sampled every 0.25 s from the
   scheduler's view of the workers). Sizes 10M, 50M, 100M and 200M records (1 person =
   20 months, so 0.5M to 10M people): the scaling should be close to linear. The same
   outcomes by pandas in memory at the sizes that fit (each in a fresh process, its peak
   resident memory from ``getrusage``). Before timing anything larger, the Dask result at
   the smallest size is checked equal to pandas' (every measure of every person).
2. ``itt`` with HC2 and with CR2 (10,000 clusters) on 100M rows on Dask, against the
   in-memory path at 10M rows (same generator): wall times and the ratio. Then
   ``randomisation_test`` of the same rows as a cluster design (whole offices
   randomised; 1,000 draws), which brings one summary row per office to the driver.
3. ``staggered_did`` of a balanced panel of 10M units x 8 periods (80M rows; the issue's
   example, which peaked at 12 GB in pandas) on Dask, from per-unit sums, against pandas
   at 2M units; checked equal to pandas first. Then ``did`` (two-way fixed effects) on the
   first 2M units of that panel (``--did-units``), on Dask and in pandas.

The data are synthetic (the generator below): people randomised over a year, each with 20
monthly records from two months before randomisation; 40% in work in a month, earnings
lognormal, weeks in work up to the month's weeks.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

MONTHS_PER_PERSON = 20
ROWS_PER_FILE = 5_000_000
DATA_END = "2024-12-31"


# ----------------------------------------------------------------------------- data
def _month_weeks(month: np.ndarray) -> np.ndarray:
    """Weeks in each month (days / 7) of month numbers since 1970-01."""
    start = month.astype("datetime64[M]").astype("datetime64[D]")
    return ((start + np.timedelta64(31, "D")).astype("datetime64[M]").astype("datetime64[D]") - start).astype(float) / 7


def _people_chunk(first_id: int, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    day0 = np.datetime64("2022-01-01", "D").astype(np.int64)
    rand_day = day0 + rng.integers(0, 365, n)
    people = pd.DataFrame({"id": ids, "randomised_on": rand_day.astype("datetime64[D]").astype("datetime64[ns]")})
    first_month = rand_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) - 2
    month = (first_month[:, None] + np.arange(MONTHS_PER_PERSON)[None, :]).ravel()
    m = n * MONTHS_PER_PERSON
    working = rng.random(m) < 0.4
    records = pd.DataFrame({
        "id": np.repeat(ids, MONTHS_PER_PERSON),
        "month": month.astype("datetime64[M]").astype("datetime64[ns]"),
        "earnings": np.where(working, np.round(rng.lognormal(7, 0.6, m), 2), 0.0),
        # at most the month's days / 7 (the rules refuse more)
        "weeks_employed": np.where(working, np.floor(rng.uniform(0.5, 1.0, m) * _month_weeks(month) * 100) / 100, 0.0),
    })
    return people, records


def write_records(root: Path, rows: int) -> None:
    """Parquet files of ``ROWS_PER_FILE`` records each (and their people), written once."""
    per_file = ROWS_PER_FILE // MONTHS_PER_PERSON
    n_files = -(-rows // ROWS_PER_FILE)
    (root / "people").mkdir(parents=True, exist_ok=True)
    (root / "employment").mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        target = root / "employment" / f"part-{i:04d}.parquet"
        if target.exists():
            continue
        people, records = _people_chunk(i * per_file, per_file, seed=1000 + i)
        people.to_parquet(root / "people" / f"part-{i:04d}.parquet", index=False)
        records.to_parquet(target, index=False, row_group_size=1_000_000)


def files(root: Path, rows: int) -> tuple[list[str], list[str]]:
    n_files = -(-rows // ROWS_PER_FILE)
    return ([str(root / "people" / f"part-{i:04d}.parquet") for i in range(n_files)],
            [str(root / "employment" / f"part-{i:04d}.parquet") for i in range(n_files)])


def _itt_chunk(n: int, seed: int, clusters: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cl = rng.integers(0, clusters, n)
    z = rng.random(n) < 0.5
    x = rng.normal(size=n)
    effects = np.random.default_rng(0).normal(size=clusters)
    y = 1.0 + 0.2 * z + 0.5 * x + 0.3 * effects[cl] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "arm": np.where(z, "treatment", "control"), "x": x, "office": cl})


def write_itt(root: Path, rows: int, clusters: int) -> list[str]:
    (root / "itt").mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(-(-rows // ROWS_PER_FILE)):
        path = root / "itt" / f"part-{i:04d}.parquet"
        if not path.exists():
            _itt_chunk(ROWS_PER_FILE, 5000 + i, clusters).to_parquet(path, index=False)
        out.append(str(path))
    return out


PANEL_PERIODS = 8
PANEL_UNITS_PER_FILE = 500_000


def _panel_chunk(first_unit: int, n: int, seed: int) -> pd.DataFrame:
    """A balanced panel of ``n`` units x 8 periods: cohorts 4 and 6 (a third each) or never,
    unit and period effects, an effect of 0.1 from the cohort's period on."""
    rng = np.random.default_rng(seed)
    units = np.arange(first_unit, first_unit + n, dtype=np.int64)
    cohort = rng.choice(np.array([0, 4, 6]), n)
    t = np.tile(np.arange(1, PANEL_PERIODS + 1), n)
    g = np.repeat(cohort, PANEL_PERIODS)
    y = (np.repeat(rng.normal(size=n), PANEL_PERIODS) + 0.05 * t + 0.1 * ((g > 0) & (t >= g))
         + rng.normal(size=n * PANEL_PERIODS))
    return pd.DataFrame({"unit": np.repeat(units, PANEL_PERIODS), "period": t, "cohort": g, "y": y})


def write_panel(root: Path, units: int) -> list[str]:
    (root / "panel").mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(-(-units // PANEL_UNITS_PER_FILE)):
        path = root / "panel" / f"part-{i:04d}.parquet"
        if not path.exists():
            _panel_chunk(i * PANEL_UNITS_PER_FILE, PANEL_UNITS_PER_FILE, 7000 + i).to_parquet(
                path, index=False, row_group_size=1_000_000)
        out.append(str(path))
    return out


def _staggered_pandas_job(paths: list[str]) -> tuple[float, int, float]:
    import dwp_eval as de

    df = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    t0 = time.perf_counter()
    res = de.staggered_did(df, outcome="y", unit="unit", time="period", cohort="cohort", bootstrap=0)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return wall, peak, float(res.aggregate("simple").estimate)


def staggered_at_scale(client, root: Path, units: int, small: int) -> None:
    """``staggered_did`` of a balanced panel (per-unit sums on Dask) against pandas in memory."""
    import dask.dataframe as dd

    import dwp_eval as de

    rows = units * PANEL_PERIODS
    print(f"\n== staggered_did, balanced panel: {units:,} units x {PANEL_PERIODS} periods ({rows:,} rows) "
          f"on Dask vs {small:,} units in memory ==")
    paths = write_panel(root, units)
    n_small = -(-small // PANEL_UNITS_PER_FILE)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        pd_wall, pd_peak, pd_att = pool.submit(_staggered_pandas_job, paths[:n_small]).result()
    small_frame = dd.read_parquet(paths[:n_small], split_row_groups=True)
    check = de.staggered_did(small_frame, outcome="y", unit="unit", time="period", cohort="cohort",
                             bootstrap=0)
    same = abs(float(check.aggregate("simple").estimate) - pd_att) <= 1e-10 * abs(pd_att)
    print(f"   check: Dask equals pandas on {small:,} units (overall ATT {pd_att:.6f}): {same}")
    big = dd.read_parquet(paths, split_row_groups=True)
    t0 = time.perf_counter()
    with PeakMemory(client) as mem:
        res = de.staggered_did(big, outcome="y", unit="unit", time="period", cohort="cohort", bootstrap=0)
    wall = time.perf_counter() - t0
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peaks = ", ".join(f"{v / 2**30:.2f}" for v in mem.peak.values())
    print(f"   Dask {wall:.1f} s on {rows:,} rows (peak per worker {peaks} GiB; this process, the "
          f"driver, peaked at {driver / 2**30:.2f} GiB); pandas {pd_wall:.1f} s on "
          f"{small * PANEL_PERIODS:,} rows (peak {pd_peak / 2**30:.2f} GiB); overall ATT "
          f"{res.aggregate('simple').estimate:.5f}")


def _did_pandas_job(paths: list[str]) -> tuple[float, int, float, float]:
    import dwp_eval as de

    df = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    df["treated"] = ((df["cohort"] > 0) & (df["period"] >= df["cohort"])).astype("int64")
    t0 = time.perf_counter()
    res = de.did(df, outcome="y", treated="treated", unit="unit", time="period")
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return wall, peak, res.estimate, res.std_error


def did_at_scale(client, root: Path, units: int) -> None:
    """``did`` (two-way fixed effects, CR1 by unit) of the same panel on Dask and in pandas."""
    import dask.dataframe as dd

    import dwp_eval as de

    rows = units * PANEL_PERIODS
    print(f"\n== did (two-way fixed effects, CR1 by unit): {units:,} units x {PANEL_PERIODS} periods "
          f"({rows:,} rows) on Dask and in memory ==")
    paths = write_panel(root, units)[: -(-units // PANEL_UNITS_PER_FILE)]
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        pd_wall, pd_peak, pd_est, pd_se = pool.submit(_did_pandas_job, paths).result()
    big = dd.read_parquet(paths, split_row_groups=True)
    big = big.assign(treated=((big.cohort > 0) & (big.period >= big.cohort)).astype("int64"))
    t0 = time.perf_counter()
    with PeakMemory(client) as mem:
        res = de.did(big, outcome="y", treated="treated", unit="unit", time="period")
    wall = time.perf_counter() - t0
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peaks = ", ".join(f"{v / 2**30:.2f}" for v in mem.peak.values())
    same = abs(res.estimate - pd_est) <= 1e-10 * abs(pd_est) and abs(res.std_error - pd_se) <= 1e-10 * pd_se
    print(f"   Dask {wall:.1f} s (peak per worker {peaks} GiB; this process peaked at "
          f"{driver / 2**30:.2f} GiB, with any job run before in it); pandas {pd_wall:.1f} s (peak "
          f"{pd_peak / 2**30:.2f} GiB); estimate {res.estimate:.6f}, SE {res.std_error:.6f}; equal to "
          f"pandas (1e-10): {same}")


# ----------------------------------------------------------------------------- runs
class PeakMemory:
    """The largest memory the scheduler reports for each worker, sampled in a thread."""

    def __init__(self, client, every: float = 0.25) -> None:
        self.client, self.every, self.peak = client, every, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for addr, w in self.client.scheduler_info()["workers"].items():
                    mem = w.get("metrics", {}).get("memory", 0)
                    self.peak[addr] = max(self.peak.get(addr, 0), mem)
            except Exception:  # the cluster is closing
                pass
            time.sleep(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def dask_outcomes(client, root: Path, rows: int):
    import dask.dataframe as dd

    import dwp_eval as de

    people_files, emp_files = files(root, rows)
    # one partition per row group (1M records): a partition, its shuffle buffers and the
    # rules' working copies must fit a worker many times over (see the guide)
    people = dd.read_parquet(people_files)
    employment = dd.read_parquet(emp_files, split_row_groups=True)
    t0 = time.perf_counter()
    with PeakMemory(client) as mem:
        out = de.derive_outcomes(people, employment=employment, months=12, data_end=DATA_END)
        n = len(out)
    return time.perf_counter() - t0, n, mem.peak, out


def _pandas_outcomes_job(root: str, rows: int) -> tuple[float, int, int, int]:
    import dwp_eval as de

    people_files, emp_files = files(Path(root), rows)
    people = pd.concat([pd.read_parquet(f) for f in people_files], ignore_index=True)
    employment = pd.concat([pd.read_parquet(f) for f in emp_files], ignore_index=True)
    size = int(employment.memory_usage(deep=True).sum())
    t0 = time.perf_counter()
    out = de.derive_outcomes(people, employment=employment, months=12, data_end=DATA_END)
    wall = time.perf_counter() - t0
    return wall, len(out), size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def pandas_outcomes(root: Path, rows: int) -> tuple[float, int, int, int]:
    # a fresh process, so that its peak resident memory is this job's alone
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_pandas_outcomes_job, str(root), rows).result()


def check_equal(client, root: Path, rows: int) -> None:
    """The Dask outcomes equal pandas' for every person and measure (before any timing)."""
    import dwp_eval as de

    people_files, emp_files = files(root, rows)
    people = pd.concat([pd.read_parquet(f) for f in people_files], ignore_index=True)
    employment = pd.concat([pd.read_parquet(f) for f in emp_files], ignore_index=True)
    ref = de.derive_outcomes(people, employment=employment, months=12, data_end=DATA_END)
    _, _, _, out = dask_outcomes(client, root, rows)
    got = out.compute().sort_values("id").reset_index(drop=True)
    ref = ref.sort_values("id").reset_index(drop=True)
    for c in ref.columns:
        a, b = ref[c], got[c]
        if a.dtype.kind == "f" or str(a.dtype) == "Float64":
            ok = np.allclose(a.astype(float), b.astype(float), rtol=1e-12, atol=1e-9, equal_nan=True)
        else:
            ok = bool((a.astype(str) == b.astype(str)).all())
        if not ok:
            raise SystemExit(f"bench_scale: the Dask result differs from pandas in {c!r}")
    print(f"   check: Dask equals pandas on {rows:,} records ({len(ref):,} people, every measure)")


def _itt_pandas_job(paths: list[str]) -> dict[str, tuple[float, float, float]]:
    import dwp_eval as de

    df = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    times = {}
    for name, kw in (("HC2", {}), ("CR2", {"cluster": "office"})):
        t0 = time.perf_counter()
        res = de.itt(df, outcome="y", assigned="arm", covariates=["x"], **kw)
        times[name] = (time.perf_counter() - t0, res.estimate, res.std_error)
    t0 = time.perf_counter()
    res = de.randomisation_test(_office_arm(df), outcome="y", assigned="office_arm",
                                cluster="office", draws=1000, seed=1)
    times["RI"] = (time.perf_counter() - t0, res.estimate, res.p_value)
    return times


def _office_arm(frame):
    """The rows with a second arm column: whole offices randomised (even offices treated)."""
    even = frame["office"] % 2 == 0
    labels = {True: "treatment", False: "control"}
    arm = (even.map(labels, meta=("office_arm", "object")) if hasattr(frame, "npartitions")
           else even.map(labels))
    return frame.assign(office_arm=arm)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1M-4M records: a smoke run")
    ap.add_argument("--root", default="/tmp/dwp_eval_scale", help="where the parquet files go")
    ap.add_argument("--worker-memory", default=None,
                    help="memory limit of each of the 2 workers (default: 2GiB, quick: 1GiB)")
    ap.add_argument("--pandas-max", type=int, default=None,
                    help="largest size run in pandas (default 100M, quick 4M)")
    ap.add_argument("--sizes", default=None,
                    help="record counts for derive_outcomes, comma-separated (default 10M,50M,100M,200M)")
    ap.add_argument("--skip-itt", action="store_true")
    ap.add_argument("--skip-staggered", action="store_true")
    ap.add_argument("--staggered-worker-memory", default=None,
                    help="memory limit of each worker for staggered_did (default 4GiB, quick 1GiB)")
    ap.add_argument("--skip-outcomes", action="store_true")
    ap.add_argument("--skip-did", action="store_true")
    ap.add_argument("--did-units", type=int, default=None,
                    help="units of the panel for did (two-way fixed effects; default 2M, quick 500k)")
    args = ap.parse_args(argv)
    from distributed import Client, LocalCluster

    global ROWS_PER_FILE
    if args.quick:
        ROWS_PER_FILE = 1_000_000
        sizes = [1_000_000, 2_000_000, 4_000_000]
        itt_rows, itt_small, clusters = 4_000_000, 1_000_000, 1_000
        limit = args.worker_memory or "1GiB"
        pandas_max = args.pandas_max or 4_000_000
        root = Path(args.root + "-quick")
    else:
        sizes = [10_000_000, 50_000_000, 100_000_000, 200_000_000]
        itt_rows, itt_small, clusters = 100_000_000, 10_000_000, 10_000
        limit = args.worker_memory or "2GiB"
        pandas_max = args.pandas_max or 100_000_000
        root = Path(args.root)
    t0 = time.perf_counter()
    if args.sizes:
        sizes = [int(float(v)) for v in args.sizes.split(",")]
    if args.skip_outcomes:
        sizes = []
    write_records(root, max(sizes, default=ROWS_PER_FILE))
    print(f"data: {max(sizes, default=ROWS_PER_FILE):,} records in {root} (written in {time.perf_counter() - t0:.0f} s, "
          f"{sum(f.stat().st_size for f in (root / 'employment').glob('*.parquet')) / 2**30:.2f} GiB on disk)")
    per_row = pd.read_parquet(files(root, ROWS_PER_FILE)[1][0]).memory_usage(deep=True).sum() / ROWS_PER_FILE
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=limit,
                           dashboard_address=":0", silence_logs=40)
    client = Client(cluster)
    total_limit = sum(w["memory_limit"] for w in client.scheduler_info()["workers"].values())
    print(f"cluster: 2 workers x 1 thread, memory limit {limit} each = {total_limit / 2**30:.2f} GiB in all")
    if sizes:
        outcomes(client, root, sizes, per_row=per_row, pandas_max=pandas_max, total_limit=total_limit)
    if not args.skip_itt:
        itt_at_scale(root, itt_rows, itt_small, clusters)
    client.close()
    cluster.close()
    if not (args.skip_staggered and args.skip_did):
        # the per-unit sums (1.8 GB at 10M units) pass through the workers: before they were
        # gathered piece by piece the run did not finish with 2 GiB each (benchmarks/README.md),
        # so this job has its own workers, 4 GiB by default
        memory = args.staggered_worker_memory or ("1GiB" if args.quick else "4GiB")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=memory,
                               dashboard_address=":0", silence_logs=40)
        client = Client(cluster)
        print(f"\ncluster: 2 workers x 1 thread, memory limit {memory} each")
        if not args.skip_staggered:
            staggered_at_scale(client, root, *((500_000, 500_000) if args.quick else (10_000_000, 2_000_000)))
        if not args.skip_did:
            did_at_scale(client, root, args.did_units or (500_000 if args.quick else 2_000_000))
        client.close()
        cluster.close()
    if os.environ.get("DWP_EVAL_SCALE_CLEAN"):
        shutil.rmtree(root, ignore_errors=True)


def outcomes(client, root: Path, sizes: list[int], *, per_row: float, pandas_max: int,
             total_limit: int) -> None:
    check_equal(client, root, sizes[0])
    print("\n== derive_outcomes: 12-month outcomes from monthly records ==")
    print(f"   {'records':>12} {'people':>11} {'in-memory GiB':>14} {'dask s':>8} {'per 10M s':>10} "
          f"{'peak/worker GiB':>16} {'pandas s':>9} {'pandas peak GiB':>16}")
    rows_out = []
    for rows in sizes:
        wall, n, peak, _ = dask_outcomes(client, root, rows)
        client.cancel(list(client.futures))  # release the persisted result
        pd_wall = pd_peak = None
        if rows <= pandas_max:
            pd_wall, _, _, pd_peak = pandas_outcomes(root, rows)
        mem = rows * per_row / 2**30
        peaks = ", ".join(f"{v / 2**30:.2f}" for v in peak.values())
        rows_out.append((rows, wall))
        print(f"   {rows:>12,} {n:>11,} {mem:>14.2f} {wall:>8.1f} {wall / rows * 1e7:>10.2f} "
              f"{peaks:>16} {f'{pd_wall:.1f}' if pd_wall else '-':>9} "
              f"{f'{pd_peak / 2**30:.2f}' if pd_peak else '-':>16}")
        sys.stdout.flush()
    (r0, w0), (r1, w1) = rows_out[0], rows_out[-1]
    data = r1 * per_row
    print(f"   scaling {r0:,} -> {r1:,} records: x{r1 / r0:.0f} data, x{w1 / w0:.1f} time "
          f"(linear: x{r1 / r0:.0f}); the workers' memory limits add up to "
          f"{total_limit / 2**30:.2f} GiB, {'less' if total_limit < data else 'MORE'} than the "
          f"{data / 2**30:.2f} GiB the largest records take in memory")


def itt_at_scale(root: Path, itt_rows: int, itt_small: int, clusters: int) -> None:
    import dask.dataframe as dd

    import dwp_eval as de

    print(f"\n== itt with a covariate: {itt_rows:,} rows on Dask vs {itt_small:,} in memory ==")
    paths = write_itt(root, itt_rows, clusters)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        mem_times = pool.submit(_itt_pandas_job, paths[: -(-itt_small // ROWS_PER_FILE)]).result()
    big = dd.read_parquet(paths)
    for name, kw in (("HC2", {}), ("CR2", {"cluster": "office"})):
        t = time.perf_counter()
        res = de.itt(big, outcome="y", assigned="arm", covariates=["x"], **kw)
        wall = time.perf_counter() - t
        small = mem_times[name][0]
        print(f"   {name}: Dask {wall:.1f} s on {itt_rows:,} rows; pandas {small:.2f} s on "
              f"{itt_small:,} rows; ratio {wall / small:.1f} for x{itt_rows // itt_small} the rows "
              f"(estimate {res.estimate:.5f}, SE {res.std_error:.6f}, df {res.df:.1f})")
    t = time.perf_counter()
    ri = de.randomisation_test(_office_arm(big), outcome="y", assigned="office_arm",
                               cluster="office", draws=1000, seed=1)
    wall = time.perf_counter() - t
    small = mem_times["RI"][0]
    print(f"   randomisation_test, {clusters:,} offices randomised, 1,000 draws: Dask {wall:.1f} s on "
          f"{itt_rows:,} rows; pandas {small:.2f} s on {itt_small:,} rows; ratio {wall / small:.1f} "
          f"(estimate {ri.estimate:.5f}, p {ri.p_value:.4f}, {ri.n_clusters:,} clusters)")


if __name__ == "__main__":
    main()
