"""Reference values for dwp_eval.design.power from statsmodels' TTestIndPower / NormalIndPower.

Run from this folder:  python statsmodels_reference.py > statsmodels_reference.out
Writes statsmodels_results.csv: ``solve_power`` with one unknown per row
(``solved`` = power, nobs1 or effect_size); ``ratio`` = nobs2 / nobs1.
"""

from __future__ import annotations

import csv
import itertools
import sys

import scipy
import statsmodels
from statsmodels.stats.power import NormalIndPower, TTestIndPower


def main() -> None:
    rows = []
    for cls, alt, alpha, ratio in itertools.product(
        (TTestIndPower, NormalIndPower), ("two-sided", "larger"), (0.05, 0.01), (1.0, 2.0, 0.5)
    ):
        eng = cls()
        for es, n1 in itertools.product((0.1, 0.3, 0.6), (40, 150, 800)):
            p = eng.solve_power(effect_size=es, nobs1=n1, alpha=alpha, ratio=ratio, alternative=alt)
            rows.append((cls.__name__, alt, alpha, ratio, n1, es, p, "power", p))
        for es, pw in itertools.product((0.15, 0.4), (0.8, 0.9)):
            n1 = eng.solve_power(effect_size=es, power=pw, alpha=alpha, ratio=ratio, alternative=alt)
            rows.append((cls.__name__, alt, alpha, ratio, n1, es, pw, "nobs1", n1))
        for n1, pw in itertools.product((60, 500), (0.8, 0.9)):
            es = eng.solve_power(nobs1=n1, power=pw, alpha=alpha, ratio=ratio, alternative=alt)
            rows.append((cls.__name__, alt, alpha, ratio, n1, es, pw, "effect_size", es))

    # Binary outcomes, dwp_eval's default "unpooled" variance: with n per arm the
    # Wald test of p1 - p0 has SE sqrt((p0 q0 + p1 q1) / n), i.e. NormalIndPower
    # with the standardised effect (p1 - p0) / sqrt((p0 q0 + p1 q1) / 2), ratio 1.
    # `effect_size` holds p1 - p0 and `baseline_rate` p0 for these rows.
    binary = []
    for p0, diff, n1, alpha in itertools.product((0.1, 0.2, 0.5), (0.02, 0.05, 0.1), (300, 1500), (0.05, 0.01)):
        p1 = p0 + diff
        es = diff / ((p0 * (1 - p0) + p1 * (1 - p1)) / 2) ** 0.5
        pw = NormalIndPower().solve_power(effect_size=es, nobs1=n1, alpha=alpha, ratio=1.0)
        binary.append(("NormalIndPower_binary_unpooled", "two-sided", alpha, 1.0, n1, diff, pw, "power", pw, p0))

    with open("statsmodels_results.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["engine", "alternative", "alpha", "ratio", "nobs1", "effect_size", "power", "solved", "value", "baseline_rate"])
        for r in [*rows, *binary]:
            base = repr(float(r[9])) if len(r) > 9 else ""
            w.writerow([*r[:4], repr(float(r[4])), repr(float(r[5])), repr(float(r[6])), r[7], repr(float(r[8])), base])
    print(f"{len(rows) + len(binary)} rows written to statsmodels_results.csv")
    print(f"python {sys.version.split()[0]}, statsmodels {statsmodels.__version__}, scipy {scipy.__version__}")


if __name__ == "__main__":
    main()
