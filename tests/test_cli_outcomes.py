"""``dwp-eval outcomes``: the outcomes of ``derive_outcomes`` from files, in memory and on
Dask and Spark (parquet read lazily), equal to the library call; bad input exits 2 with a
one-line message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.cli import main


def _files(tmp_path, parquet: bool = True):
    whp = de.datasets.whp_like(400, seed=3)
    emp = de.datasets.whp_monthly_records(whp, seed=3).employment
    people = pd.DataFrame({"id": whp["id"], "randomised_on": whp["referred_on"].astype("datetime64[ns]")})
    emp = emp.sort_values(["id", "month"]).reset_index(drop=True)
    if parquet:  # the engines read parquet (pyarrow comes with the [dask] and [spark] extras)
        # microsecond timestamps: Spark cannot read pandas' default nanoseconds
        us = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}
        people.to_parquet(tmp_path / "people.parquet", index=False, **us)
        parts = tmp_path / "employment"
        parts.mkdir()
        shuffled = emp.sample(frac=1.0, random_state=1)
        for i, rows in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
            chunk = shuffled.iloc[rows]
            chunk.sort_values(["id", "month"]).to_parquet(parts / f"part-{i}.parquet", index=False, **us)
        people.to_parquet(tmp_path / "people_ns.parquet", index=False)
    people.assign(randomised_on=people.randomised_on.dt.strftime("%Y-%m-%d")).to_csv(
        tmp_path / "people.csv", index=False)
    emp.to_csv(tmp_path / "employment.csv", index=False)
    ref = de.derive_outcomes(people, employment=emp, months=12)
    return ref.sort_values("id").reset_index(drop=True)


def _check(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(got.columns) == list(ref.columns)
    for c in ref.columns:
        a, b = ref[c], got[c]
        if a.dtype.kind in "fiu" or str(a.dtype) in ("Float64", "Int64"):
            np.testing.assert_allclose(b.astype(float), a.astype(float), rtol=1e-12, equal_nan=True)
        elif a.dtype.kind == "M":
            assert (pd.to_datetime(b) == a).all()
        else:
            assert (b.fillna("").astype(str) == a.fillna("").astype(str)).all(), c


def test_outcomes_cli_in_memory(tmp_path, capsys) -> None:
    ref = _files(tmp_path, parquet=False)
    out = tmp_path / "outcomes.csv"
    assert main(["outcomes", str(tmp_path / "people.csv"), str(tmp_path / "employment.csv"),
                 "--out", str(out)]) == 0
    _check(pd.read_csv(out), ref)
    assert "Derived 12-month outcomes of 400 people on pandas" in capsys.readouterr().out
    # never overwritten
    assert main(["outcomes", str(tmp_path / "people.csv"), str(tmp_path / "employment.csv"),
                 "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.engine
@pytest.mark.parametrize("engine", ["dask", "spark"])
def test_outcomes_cli_on_engines(tmp_path, engine, request) -> None:
    request.getfixturevalue("dask_client" if engine == "dask" else "spark")
    ref = _files(tmp_path)
    out = tmp_path / "outcomes.parquet"
    assert main(["outcomes", str(tmp_path / "people.parquet"), str(tmp_path / "employment"),
                 "--out", str(out), "--engine", engine]) == 0
    _check(pd.read_parquet(out), ref)


@pytest.mark.engine
def test_outcomes_cli_engine_needs_parquet(tmp_path, capsys, dask_client) -> None:
    _files(tmp_path, parquet=False)
    code = main(["outcomes", str(tmp_path / "people.csv"), str(tmp_path / "employment.csv"),
                 "--out", str(tmp_path / "o.csv"), "--engine", "dask"])
    assert code == 2
    assert "is not parquet: with --engine dask" in capsys.readouterr().err


@pytest.mark.engine
def test_outcomes_cli_spark_nanoseconds(tmp_path, capsys, spark) -> None:
    """Spark cannot read pandas' default nanosecond timestamps: a clear message, exit 2."""
    _files(tmp_path)
    code = main(["outcomes", str(tmp_path / "people_ns.parquet"), str(tmp_path / "employment"),
                 "--out", str(tmp_path / "o.csv"), "--engine", "spark"])
    assert code == 2
    assert "nanosecond timestamps" in capsys.readouterr().err


@pytest.mark.engine
@pytest.mark.filterwarnings("ignore::dwp_eval.errors.DroppedRowsWarning")
@pytest.mark.parametrize("engine", ["dask", "spark"])
def test_analyse_cli_on_engines(tmp_path, capsys, engine, request) -> None:
    """``dwp-eval analyse --engine``: the engine reads the parquet file (a folder of parts)
    and the report, run in memory on the plan's columns, equals the pandas one table by
    table; a CSV is refused with the fix."""
    request.getfixturevalue("dask_client" if engine == "dask" else "spark")
    demo = tmp_path / "demo"
    assert main(["demo", "--out", str(demo), "--n", "600"]) == 0
    trial = pd.read_csv(demo / "trial.csv")
    parts = tmp_path / "trial"
    parts.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(trial)), 3)):
        trial.iloc[rows].to_parquet(parts / f"part-{i}.parquet", index=False)
    trial.to_parquet(tmp_path / "trial.parquet", index=False)
    plan = str(demo / "plan.toml")
    assert main(["analyse", str(parts), "--plan", plan, "--out", str(tmp_path / "e.html"),
                 "--tables", str(tmp_path / "e"), "--engine", engine]) == 0
    out = capsys.readouterr().out
    assert f"rows of {parts} (read by {engine.capitalize()}: the plan's" in out
    assert main(["analyse", str(tmp_path / "trial.parquet"), "--plan", plan, "--out", str(tmp_path / "p.html"),
                 "--tables", str(tmp_path / "p")]) == 0
    tables = sorted(p.name for p in (tmp_path / "p").glob("*.csv"))
    assert "impact.csv" in tables
    assert tables == sorted(p.name for p in (tmp_path / "e").glob("*.csv"))
    for name in tables:
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "e" / name), pd.read_csv(tmp_path / "p" / name),
                                      check_exact=False, rtol=1e-10, obj=name)
    capsys.readouterr()
    code = main(["analyse", str(demo / "trial.csv"), "--plan", plan, "--out", str(tmp_path / "x.html"),
                 "--engine", engine])
    assert code == 2
    assert f"is not parquet: with --engine {engine}" in capsys.readouterr().err
