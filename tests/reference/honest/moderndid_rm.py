"""Relative-magnitudes C-LF sets from moderndid (a Python port of R HonestDiD), the second
reference for honest_did(method="relative_magnitude").

Rerun (Python >= 3.12, in its own venv):
    python3.12 -m venv /tmp/venv-moderndid && /tmp/venv-moderndid/bin/pip install moderndid==0.4.1
    cd tests/reference/honest && /tmp/venv-moderndid/bin/python moderndid_rm.py
Writes moderndid_rm.csv. Two runs per case, both on HonestDiD's grid (commit 888de5e:
l'b_post +- (Mbar sum_t t|l_t| max|pre diff| + 20 se), 1000 points):
  draws = "r_seed0": moderndid's least-favourable critical value fed R's set.seed(0) normal
          draws (r_rnorm_seed0.csv, times the symmetric square root, as mvtnorm::rmvnorm
          does), so every number is comparable to R and to dwp_eval exactly;
  draws = "moderndid": moderndid as shipped (numpy default_rng(0)).
"""

import moderndid.didhonest.arp_nuisance as arp_nuisance
import numpy as np
import pandas as pd
from moderndid.didhonest import compute_conditional_cs_rm

Z = pd.read_csv("r_rnorm_seed0.csv")["z"].to_numpy(float)


class _RDraws:
    """Stands in for numpy's Generator inside moderndid's critical-value simulation."""

    def multivariate_normal(self, mean, cov, size):
        k = cov.shape[0]
        w, q = np.linalg.eigh(cov)
        root = (q * np.sqrt(np.clip(w, 0, None))) @ q.T
        return Z[: size * k].reshape(size, k) @ root


def _grid(b, s, n_pre, lv, mbar):
    post = slice(n_pre, n_pre + lv.size)
    sd = float(np.sqrt(lv @ s[post, post] @ lv))
    maxpre = float(np.abs(np.diff(np.r_[b[:n_pre], 0.0])).max())
    half = mbar * float(np.arange(1, lv.size + 1) @ np.abs(lv)) * maxpre + 20 * sd
    off = float(b[post] @ lv)
    return off - half, off + half


def _inputs():
    main_b = pd.read_csv("main_betahat.csv")["betahat"].to_numpy(float)
    main_s = pd.read_csv("main_sigma.csv").to_numpy(float)
    ctl_b = pd.read_csv("medicaid_controls_betahat.csv")["betahat"].to_numpy(float)
    ctl_s = pd.read_csv("medicaid_controls_sigma.csv").to_numpy(float)
    # a made-up 3 pre / 3 post example with a pre-trend and correlated estimates
    t = np.arange(6)
    syn_s = 1e-4 * (0.5 ** np.abs(t[:, None] - t[None, :])) * (1 + 0.1 * t[:, None] + 0.1 * t[None, :])
    syn_b = np.array([-0.03, -0.018, -0.01, 0.02, 0.035, 0.04])
    return [
        ("readme_main", main_b, main_s, 5, [1.0, 0.0]),
        ("readme_main", main_b, main_s, 5, [0.5, 0.5]),
        ("readme_main", main_b, main_s, 5, [0.0, 1.0]),
        ("medicaid_controls", ctl_b, ctl_s, 5, [1.0, 0.0]),
        ("medicaid_controls", ctl_b, ctl_s, 5, [0.5, 0.5]),
        ("readme_main_one_post", main_b[:6], main_s[:6, :6], 5, [1.0]),
        ("synthetic_3x3", syn_b, syn_s, 3, [1 / 3, 1 / 3, 1 / 3]),
        ("synthetic_3x3", syn_b, syn_s, 3, [0.0, 0.0, 1.0]),
    ]


def main() -> None:
    rows = []
    real_rng = arp_nuisance.np.random.default_rng
    for name, b, s, n_pre, lv in _inputs():
        lv = np.asarray(lv)
        for mbar in (0.0, 0.5, 1.0, 1.5, 2.0):
            lo, hi = _grid(b, s, n_pre, lv, mbar)
            for draws in ("r_seed0", "moderndid"):
                arp_nuisance.np.random.default_rng = (lambda seed=None: _RDraws()) if draws == "r_seed0" else real_rng
                try:
                    out = compute_conditional_cs_rm(b, s, n_pre, lv.size, l_vec=lv, m_bar=mbar, alpha=0.05,
                                                    grid_points=1000, grid_lb=lo, grid_ub=hi, seed=0)
                finally:
                    arp_nuisance.np.random.default_rng = real_rng
                ok = out["grid"][out["accept"] > 0]
                rows.append({"case": name, "l_vec": " ".join(f"{x:.17g}" for x in lv), "mbar": mbar,
                             "draws": draws, "lb": f"{ok.min():.17g}", "ub": f"{ok.max():.17g}",
                             "grid_lb": f"{lo:.17g}", "grid_ub": f"{hi:.17g}", "grid_points": 1000})
    pd.DataFrame(rows).to_csv("moderndid_rm.csv", index=False)


if __name__ == "__main__":
    main()
