"""The `dwp-eval power` command."""

from __future__ import annotations

import pytest

from dwp_eval.cli import main


def test_issue_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["power", "--baseline-rate", "0.2", "--n", "3675", "--take-up", "0.65", "--contamination", "0.05"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("With 3,675 people, 1:1, 80% power and a 5% two-sided test, the smallest ITT effect")
    # issue 13: binary outcomes use the variance under the alternative (3.7 / 6.16 pp at the baseline variance)
    assert "(base 20%) is 3.82 pp; for those who take up (65%) and allowing for 5% contamination, 6.37 pp." in out


def test_sample_size_and_power(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["power", "--sd", "1", "--mde", "0.5", "--alpha", "0.05", "--power", "0.9"]) == 0
    assert "you need" in capsys.readouterr().out
    assert main(["power", "--effect", "0.2", "--n-clusters", "40", "--cluster-size", "25", "--icc", "0.05", "--r2", "0.3", "--ratio", "1:1", "--attrition", "0.1"]) == 0
    assert "the power to detect an ITT effect of 0.2 SD" in capsys.readouterr().out


def test_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["power", "--n", "100", "--take-up", "0.1", "--contamination", "0.1"]) == 2
    assert "dwp-eval power: error: mde: take_up (0.1) must exceed contamination (0.1)" in capsys.readouterr().err
    assert main(["power", "--mde", "0.2", "--effect", "0.2"]) == 2
    assert "give --mde (solve for the sample size) or --effect" in capsys.readouterr().err
    assert main(["power", "--mde", "0.2", "--n", "100"]) == 2
    assert "--mde solves for the sample size: leave out --n" in capsys.readouterr().err


def test_scale_with_take_up(capsys: pytest.CaptureFixture[str]) -> None:
    # issue 13: the MDE printed for --n 2000 feeds back into --mde on its own scale
    assert main(["power", "--mde", "0.05", "--take-up", "0.6"]) == 2
    assert "Fix: pass scale='itt' if mde is the ITT effect" in capsys.readouterr().err
    assert main(["power", "--n", "2000", "--take-up", "0.6", "--sd", "1"]) == 0
    assert "the smallest ITT effect you can detect is 0.1254; for those who take up (60%), 0.2089." in capsys.readouterr().out
    from dwp_eval.design.power import mde

    m = mde(n=2000, take_up=0.6, sd=1)
    assert main(["power", "--mde", repr(m.mde), "--take-up", "0.6", "--sd", "1", "--scale", "itt"]) == 0
    assert "you need 2,000 people" in capsys.readouterr().out
    assert main(["power", "--mde", repr(m.mde_cace), "--take-up", "0.6", "--sd", "1", "--scale", "cace"]) == 0
    assert "you need 2,000 people" in capsys.readouterr().out
