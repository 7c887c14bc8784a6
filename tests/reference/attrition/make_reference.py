"""Reference values for dwp_eval.monitor.lee_bounds.lee_bounds from pyleebounds 0.3.0.

Run from the repository root (pyleebounds is a reference-only dependency: it is
not needed by the library or its tests):

    .venv/bin/pip install pyleebounds==0.3.0
    cd tests/reference/attrition
    ../../../.venv/bin/python make_reference.py > make_reference.out 2>&1

It writes five seeded datasets to ``data/`` (values rounded to 6 decimals and
read back, so that pyleebounds and the tests see identical doubles), runs
``pyleebounds.LeeBounds`` on each and writes ``pyleebounds_results.csv``.

pyleebounds conventions (read from its source, pyleebounds/lee_bounds.py):

* it trims only the treated arm and raises when the treated response rate is
  not the higher; for data where the control arm responds more we run it with
  the arms swapped (D -> 1 - D), which bounds ``mean(control trimmed) -
  mean(treated)``, and report ``lower = -upper_swapped``, ``upper =
  -lower_swapped``;
* it trims ``int(n_responders * p)`` observations (a floor), so it trims up
  to one observation too few when ``n_responders * p`` is not a whole number
  (arms of unequal size), and also when it is but floating point puts the
  product just below it (e.g. ``832 * p = 169.99999999999997`` -> 169 for
  ``continuous``; equal arms make the exact count ``n_T,R - n_C,R``);
  ``n_trimmed_pyleebounds`` and ``n_trimmed_exact`` record both;
* observations with a missing outcome are dropped before the selection
  indicator is read, so non-responders' outcomes are filled with 0 here;
* its ``trim_proportion`` attribute is ``p1 - p0``, not Lee's ``(p1 - p0) / p1``
  (which it does use to trim); we record ``(p1 - p0) / p1`` ourselves;
* it has no tightening covariates; the ``tighten`` case runs it within each
  cell (arms of equal size within each cell, so the trimming is exact) and
  combines the cell bounds with Lee's (2009, Proposition 1b) weights, the
  cells' shares of the control responders;
* its standard errors are bootstrap (whole-sample resampling with
  ``np.random.choice``, so we seed numpy's global state here; draws where the
  treated rate is not the higher are skipped).
"""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pyleebounds
from pyleebounds import LeeBounds

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
N_BOOTSTRAP = 2000


def _write(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    path = DATA / f"{name}.csv"
    frame.round(6).to_csv(path, index=False)
    return pd.read_csv(path)


def make_data() -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}

    # 1. continuous outcome, equal arms, the treatment arm responds more
    rng = np.random.default_rng(20090301)
    n = 2000
    d = rng.permutation(np.repeat([0, 1], n // 2))
    y = rng.normal(10.0, 2.0, n) + 0.5 * d
    s = (rng.random(n) < np.where(d == 1, 0.80, 0.65)).astype(int)
    out["continuous"] = _write("continuous", pd.DataFrame({
        "id": np.arange(1, n + 1), "arm": np.where(d == 1, "treatment", "control"), "d": d,
        "responded": s, "y": np.where(s == 1, y, np.nan)}))

    # 2. earnings with many zeros (ties at the lower trimming point), equal arms
    rng = np.random.default_rng(20090302)
    n = 2400
    d = rng.permutation(np.repeat([0, 1], n // 2))
    works = rng.random(n) < np.where(d == 1, 0.55, 0.50)
    y = np.where(works, np.round(rng.lognormal(8.5, 0.8, n), 2), 0.0)
    s = (rng.random(n) < np.where(d == 1, 0.78, 0.66)).astype(int)
    out["ties"] = _write("ties", pd.DataFrame({
        "id": np.arange(1, n + 1), "arm": np.where(d == 1, "treatment", "control"), "d": d,
        "responded": s, "y": np.where(s == 1, y, np.nan)}))

    # 3. the control arm responds more (trimming the control arm), equal arms
    rng = np.random.default_rng(20090303)
    n = 1600
    d = rng.permutation(np.repeat([0, 1], n // 2))
    y = rng.gamma(2.0, 3.0, n) + 1.0 * d
    s = (rng.random(n) < np.where(d == 1, 0.62, 0.81)).astype(int)
    out["control_higher"] = _write("control_higher", pd.DataFrame({
        "id": np.arange(1, n + 1), "arm": np.where(d == 1, "treatment", "control"), "d": d,
        "responded": s, "y": np.where(s == 1, y, np.nan)}))

    # 4. a tightening covariate: three sites, randomised in equal halves within site,
    #    response and outcomes differ by site
    rng = np.random.default_rng(20090304)
    sizes = {"north": 800, "south": 600, "wales": 400}
    frames = []
    for site, m in sizes.items():
        d = rng.permutation(np.repeat([0, 1], m // 2))
        base = {"north": 0.0, "south": 1.0, "wales": 2.0}[site]
        r_c = {"north": 0.70, "south": 0.55, "wales": 0.58}[site]
        r_t = {"north": 0.80, "south": 0.75, "wales": 0.72}[site]
        y = rng.normal(base, 1.0 + 0.3 * base, m) + 0.4 * d
        s = (rng.random(m) < np.where(d == 1, r_t, r_c)).astype(int)
        frames.append(pd.DataFrame({"site": site, "d": d, "responded": s,
                                    "y": np.where(s == 1, y, np.nan)}))
    f = pd.concat(frames, ignore_index=True)
    f.insert(0, "id", np.arange(1, len(f) + 1))
    f.insert(2, "arm", np.where(f["d"] == 1, "treatment", "control"))
    out["tighten"] = _write("tighten", f)

    # 5. unequal arms (900 treated, 1400 control): pyleebounds' floor differs
    rng = np.random.default_rng(20090305)
    d = rng.permutation(np.r_[np.ones(900, dtype=int), np.zeros(1400, dtype=int)])
    n = len(d)
    y = rng.normal(5.0, 1.5, n) + 0.2 * d
    s = (rng.random(n) < np.where(d == 1, 0.77, 0.63)).astype(int)
    out["unequal_arms"] = _write("unequal_arms", pd.DataFrame({
        "id": np.arange(1, n + 1), "arm": np.where(d == 1, "treatment", "control"), "d": d,
        "responded": s, "y": np.where(s == 1, y, np.nan)}))
    return out


def run(frame: pd.DataFrame, *, swap: bool, seed: int) -> dict[str, float]:
    """pyleebounds on one dataset (arms swapped when the control arm responds more)."""
    data = pd.DataFrame({
        "y": frame["y"].fillna(0.0).to_numpy(dtype=float),
        "d": (1 - frame["d"] if swap else frame["d"]).to_numpy(dtype=float),
        "s": frame["responded"].to_numpy(dtype=float),
    })
    # pyleebounds bootstraps with np.random.choice: only numpy's global state seeds it
    np.random.seed(seed)  # noqa: NPY002
    model = LeeBounds(n_bootstrap=N_BOOTSTRAP, ci_level=0.95)
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.fit(data, outcome="y", treatment="d", selection="s")
    print(model.summary())
    n_sel = int(model.n_treated_selected)
    p = (model.p1 - model.p0) / model.p1
    lower, upper = float(model.lower_bound), float(model.upper_bound)
    se_l, se_u = float(model.lower_bound_se), float(model.upper_bound_se)
    if swap:
        lower, upper, se_l, se_u = -upper, -lower, se_u, se_l
    return {
        "lower": lower, "upper": upper, "se_lower_bootstrap": se_l, "se_upper_bootstrap": se_u,
        "trimming_proportion": float(p), "n_trimmed_pyleebounds": int(n_sel * p),
        "n_trimmed_exact": float(model.n_treated_selected - model.n_treated * model.p0),
        "n_bootstrap_kept": len(model.lower_bounds_bootstrap),
        "p_treated": float(model.p1 if not swap else model.p0),
        "p_control": float(model.p0 if not swap else model.p1),
    }


def main() -> None:
    print(f"pyleebounds {getattr(pyleebounds, '__version__', '?')} (module reports), "
          f"numpy {np.__version__}, pandas {pd.__version__}, python {sys.version.split()[0]}")
    print("pip metadata version: ", end="")
    from importlib.metadata import version

    print(version("pyleebounds"))
    DATA.mkdir(exist_ok=True)
    datasets = make_data()
    rows = []
    for i, (name, frame) in enumerate(datasets.items()):
        swap = name == "control_higher"
        print(f"\n=== {name}: n = {len(frame)}, swap arms = {swap}")
        if name == "tighten":
            cells = []
            for j, (site, g) in enumerate(frame.groupby("site", sort=True)):
                print(f"--- cell site={site}")
                res = run(g, swap=False, seed=1000 + 10 * i + j)
                res["weight"] = float(g.loc[g["d"] == 0, "responded"].sum())
                res["cell"] = f"site={site}"
                cells.append(res)
            total = sum(c["weight"] for c in cells)
            for c in cells:
                c["weight"] /= total
            for c in cells:
                rows.append({"dataset": name, "tighten": "", "cell": c["cell"],
                             "weight": c["weight"], **{k: c[k] for k in (
                                 "lower", "upper", "trimming_proportion", "n_trimmed_pyleebounds",
                                 "n_trimmed_exact", "se_lower_bootstrap", "se_upper_bootstrap")}})
            row = {"dataset": name, "tighten": "site", "cell": "", "weight": 1.0,
                   "lower": sum(c["weight"] * c["lower"] for c in cells),
                   "upper": sum(c["weight"] * c["upper"] for c in cells),
                   "trimming_proportion": np.nan,
                   "n_trimmed_pyleebounds": sum(c["n_trimmed_pyleebounds"] for c in cells),
                   "n_trimmed_exact": sum(c["n_trimmed_exact"] for c in cells),
                   "se_lower_bootstrap": np.nan, "se_upper_bootstrap": np.nan}
            shares = [round(c["weight"], 6) for c in cells]
            print(f"combined with control-responder shares {shares}: "
                  f"[{row['lower']:.6f}, {row['upper']:.6f}]")
        else:
            res = run(frame, swap=swap, seed=1000 + i)
            row = {"dataset": name, "tighten": "", "cell": "", "weight": 1.0}
            row |= {k: res[k] for k in ("lower", "upper", "trimming_proportion",
                                        "n_trimmed_pyleebounds", "n_trimmed_exact",
                                        "se_lower_bootstrap", "se_upper_bootstrap")}
            print(f"trimmed arm responders: pyleebounds drops {res['n_trimmed_pyleebounds']}, "
                  f"exact mass {res['n_trimmed_exact']:.6f}; bootstrap draws kept "
                  f"{res['n_bootstrap_kept']}")
        rows.append(row)
    out = pd.DataFrame(rows)
    out.to_csv(HERE / "pyleebounds_results.csv", index=False, float_format="%.12g")
    print("\n" + out.to_string(index=False))


if __name__ == "__main__":
    main()
