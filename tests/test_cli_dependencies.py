"""The supported dependency range: floors, the oldest-constraints file, warnings as errors.

CI (``make test``) runs the suite at ``constraints/oldest.txt`` on Python 3.11 and at
the newest releases on Python 3.13; these tests keep the files that drive it honest.
"""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _floors() -> dict[str, str]:
    floors = {}
    for req in PYPROJECT["project"]["dependencies"]:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", req.replace(" ", ""))
        assert m, f"dependency {req!r} has no plain floor (name>=version)"
        floors[m.group(1).lower()] = m.group(2)
    return floors


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints" / "oldest.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def test_the_oldest_constraints_pin_every_floor() -> None:
    floors, pins = _floors(), _pins()
    assert set(pins) == set(floors)
    for name, floor in floors.items():
        # the pin is the first release of the floor's minor version (or a later patch)
        assert _release(pins[name])[:2] == _release(floor)[:2], (name, floor, pins[name])
        assert _release(pins[name]) >= _release(floor), (name, floor, pins[name])


def test_linearmodels_is_not_a_runtime_dependency() -> None:
    assert "linearmodels" not in _floors()
    assert any(r.startswith("linearmodels") for r in PYPROJECT["project"]["optional-dependencies"]["reference"])
    imports = [p for p in (ROOT / "src").rglob("*.py")
               if re.search(r"^\s*(import|from)\s+linearmodels", p.read_text(encoding="utf-8"), re.M)]
    assert imports == []


def test_scipy_floor_gives_t_quantiles_as_accurate_as_r() -> None:
    """SciPy < 1.13 computes t quantiles to about 4e-9 relative (df 39), which moved a
    confidence bound of the estimatr selfcheck by 8.4e-8 relative; the floor is 1.13."""
    import pandas as pd
    from scipy import stats

    # R's qt, from tests/reference/deps/t_quantiles.R
    r = pd.read_csv(ROOT / "tests" / "reference" / "deps" / "t_quantiles.csv")
    got = stats.t.ppf(0.975, r["df"].to_numpy())
    # SciPy 1.13.0 is within 4e-11 relative of R (newer releases within 4e-15): a bound
    # est +- q * se moves by at most about 20 times that, well inside selfcheck's 1e-8
    assert got == pytest.approx(r["q975"].to_numpy(), rel=1e-10)


@pytest.mark.parametrize("category", [DeprecationWarning, FutureWarning, PendingDeprecationWarning])
def test_deprecations_raised_by_library_code_are_errors(category) -> None:
    """pyproject's filterwarnings turns a deprecation attributed to a dwp_eval module into an
    error (the module field matches dwp_eval and its submodules), not one from elsewhere."""
    with pytest.raises(category, match="generic timedelta"):
        warnings.warn_explicit("generic timedelta unit", category, "_records.py", 178,
                               module="dwp_eval.monitor._records")
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("elsewhere", category, "other.py", 1, module="somewhere_else")
    assert len(caught) <= 1  # recorded or ignored, never raised


def test_attrition_under_an_old_statsmodels_singular_hessian_is_a_design_error(monkeypatch) -> None:
    """statsmodels 0.14.0 raises a raw LinAlgError (singular Hessian) where later releases
    warn of perfect separation; either way the user gets the DesignError with the fix."""
    import numpy as np
    import pandas as pd
    from statsmodels.discrete.discrete_model import Logit

    from dwp_eval import attrition
    from dwp_eval.errors import DesignError

    def singular(self, *args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(Logit, "fit", singular)
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"arm": ["control", "treatment"] * 40, "x": rng.normal(size=80),
                         "responded": rng.integers(0, 2, size=80)})
    with pytest.raises(DesignError, match=r"attrition: the covariates predict response \(almost\) "
                                          r"perfectly in the 'control' arm"):
        attrition(data, assigned="arm", responded="responded", covariates=["x"])
