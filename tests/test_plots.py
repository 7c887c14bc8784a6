"""The plots: tick labels that do not overlap, flagged covariates marked, one unit per
axis, default calls that work, the Okabe-Ito palette and alt text on every figure."""

from __future__ import annotations

import io
import itertools

import matplotlib

matplotlib.use("Agg")  # tests only: the library never picks a backend
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

import dwp_eval as de
from dwp_eval.report.displays import _mde_png, _png
from dwp_eval.results.palette import OKABE_ITO, SERIES, VERMILLION, alt_text_of


def _trial(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"arm": np.where(np.arange(n) % 2 == 0, "treatment", "control")})
    for i in range(24):  # many covariates: the report's figure used to be 4 inches tall
        d[f"baseline_characteristic_{i:02d}"] = rng.normal(size=n)
    d["skewed"] = rng.normal(size=n) + 0.5 * (d["arm"] == "treatment")  # flagged
    d["employed"] = rng.integers(0, 2, n)
    d["earnings"] = rng.gamma(2.0, 500.0, n)
    d["site"] = rng.choice(["North", "South", "East"], n)
    d["contaminated"] = rng.integers(0, 2, n)
    return d


def _overlaps(labels: list) -> list[tuple[str, str]]:
    fig = labels[0].figure
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels if t.get_text()]
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]


def test_palette_is_okabe_ito() -> None:
    assert OKABE_ITO == ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                         "#D55E00", "#CC79A7")
    assert sorted(SERIES) == sorted(OKABE_ITO)


@pytest.mark.parametrize("size", [None, (7.0, 4.0)])
def test_balance_tick_labels_do_not_overlap_and_flags_are_circled(size) -> None:
    bal = de.balance(_trial(), assigned="arm",
                     covariates=[c for c in _trial().columns if c.startswith(("base", "skew"))])
    if size is None:
        ax = bal.plot()
    else:  # a figure too short for its rows (the report's old size): labels shrink to fit
        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        ax = bal.plot(fig.add_subplot())
        fig.tight_layout()
    ax.figure.canvas.draw()
    assert _overlaps(ax.get_yticklabels()) == []
    circles = [c for c in ax.collections if c.get_facecolors().size == 0]
    assert len(circles) == 1
    np.testing.assert_allclose(circles[0].get_edgecolors()[0][:3],
                               matplotlib.colors.to_rgb(VERMILLION))
    assert "skewed" in alt_text_of(ax.figure) and alt_text_of(ax.figure) == bal.alt_text()
    plt.close("all")


def test_balance_figure_in_the_report_is_tall_enough() -> None:
    bal = de.balance(_trial(), assigned="arm", covariates=[c for c in _trial().columns
                                                           if c.startswith("base")])
    rows = bal.to_frame()["covariate"].nunique()
    png = _png(bal.plot, size=(7.0, 1.6 + 0.3 * rows))
    assert "Balance plot" in Image.open(io.BytesIO(png)).info["Description"]


def test_effect_table_one_unit_per_axis() -> None:
    d = _trial()
    table = de.impact_table(d, outcomes=["employed", "earnings"], assigned="arm")
    ax = table.plot()
    panels = ax.figure.axes
    assert [p.get_xlabel() for p in panels] == ["employed, percentage points (95% CI)",
                                                "earnings (95% CI)"]
    for p in panels:  # one unit each: pp rows only on the pp panel
        labels = [t.get_text() for t in p.get_yticklabels()]
        assert all(lab.endswith("(pp)") for lab in labels) or not any(
            lab.endswith("(pp)") for lab in labels)
    assert alt_text_of(ax.figure) == table.alt_text()
    assert "employed: " in table.alt_text() and " pp (" in table.alt_text()
    plt.close(ax.figure)


def test_contamination_summary_plot_default_x() -> None:
    d = _trial()
    s = de.contamination_summary(d[d["arm"] == "control"], by="site", flag="contaminated")
    ax = s.plot()  # raised before (default x="month" with by=("site",))
    assert ax.get_xlabel() == "site" and ax.get_ylabel().endswith("(%)")
    y = ax.containers[0].lines[0].get_ydata()
    np.testing.assert_allclose(sorted(y), sorted(100 * s.to_frame()["rate"]))
    assert alt_text_of(ax.figure) == s.alt_text()
    plt.close(ax.figure)
    overall = de.contamination_summary(d, by=None, flag="contaminated")
    assert overall.plot().get_xlabel() == "group"
    plt.close("all")


def test_mde_chart_in_percentage_points() -> None:
    d = _trial()
    table = de.impact_table(d, outcomes=["employed", "earnings"], assigned="arm")
    e = {x.outcome: x for x in table.effects}
    frame = pd.DataFrame({"outcome": ["employed", "earnings"], "mde": [0.12, 150.0],
                          "estimate": [e["employed"].estimate, e["earnings"].estimate]})
    png = _mde_png(frame, table)
    alt = Image.open(io.BytesIO(png)).info["Description"]
    assert "employed: MDE 12 pp" in alt and "earnings: MDE 150," in alt


def test_flow_plot_default_call_has_alt_text() -> None:
    fl = de.flow(_trial(), assigned="arm")
    ax = fl.plot()
    assert alt_text_of(ax.figure).startswith("CONSORT flow diagram: 400 randomised")
    plt.close(ax.figure)
