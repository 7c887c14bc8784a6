"""Progress bars for long runs, by tqdm (a terminal bar, or a widget in Jupyter).

``tqdm.auto`` chooses the notebook widget inside a Jupyter kernel when
ipywidgets is installed, and tqdm's text bar otherwise (on stderr, which
Jupyter shows too); the warning that tqdm gives when it falls back to the text
bar in a notebook is silenced here, since the text bar works there.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

__all__ = ["progress_bar"]

# a run that ends sooner shows no bar when the caller left the choice to us
DELAY_SECONDS = 2.0


def _in_notebook() -> bool:
    return "ipykernel" in sys.modules


def progress_bar(total: int, mode: bool | None, *, desc: str, unit: str) -> Any:
    """A ``tqdm.auto.tqdm`` bar of ``total`` steps; call ``update(n)`` and ``close()``.

    ``mode``: ``True`` always shows it, ``False`` never; ``None`` shows it only in
    a terminal (stderr is a TTY) or a Jupyter notebook, and only once the run
    has taken more than two seconds.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm's "IProgress not found" (no ipywidgets)
        from tqdm.auto import tqdm

    if mode is None:
        disable: bool | None = False if _in_notebook() else None  # None: off unless a TTY
        delay = DELAY_SECONDS
    else:
        disable, delay = not mode, 0.0
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, delay=delay,
                file=sys.stderr, dynamic_ncols=True)
