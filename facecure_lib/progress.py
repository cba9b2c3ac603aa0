"""Progress bars that suit where the code runs.

Every loop of the library that shows progress goes through `tqdm` / `trange` from here
(drop-in replacements for `tqdm.auto`'s). What they show depends on the mode:

* ``bar``: a live `tqdm.auto` bar (a widget in Jupyter, text in a terminal) that disappears
  when its loop ends (`leave=False`): what a person running the notebook sees.
* ``line``: no live bar. A loop that took at least `LINE_MIN_S` seconds writes one line to
  stderr when it ends (``cloaking users (lowkey): 16/16 in 12 s``); quicker loops write
  nothing (`FACECURE_PROGRESS_MIN_S` changes the threshold). This is for headless runs
  (papermill, nbval, CI): a widget bar there is saved as its first frame ("0%|...") and
  stays in the executed notebook forever.
* ``off``: nothing at all.

The mode is `FACECURE_PROGRESS` (``bar`` | ``line`` | ``off``) when set; otherwise ``off``
under `TQDM_DISABLE` (tqdm's own switch), ``line`` when the run looks headless (the `CI`
variable is set, or stderr is not a terminal outside a Jupyter kernel), else ``bar``.
The notebook runners (`run_all`, the tests) set ``FACECURE_PROGRESS=line`` for the kernels
they start, because a kernel cannot tell whether anyone is watching it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

MODES = ("bar", "line", "off")
LINE_MIN_S = 5.0  # in "line" mode, loops quicker than this leave no trace


def line_min_s() -> float:
    """Seconds a loop must take to write its line (`FACECURE_PROGRESS_MIN_S`, default 5)."""
    return float(os.environ.get("FACECURE_PROGRESS_MIN_S", LINE_MIN_S))


def mode() -> str:
    """The progress mode in force now (see the module docstring)."""
    env = os.environ.get("FACECURE_PROGRESS", "").strip().lower()
    if env:
        if env not in MODES:
            raise ValueError(f"FACECURE_PROGRESS must be one of {', '.join(MODES)}, got {env!r}")
        return env
    if os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false"):
        return "off"
    if os.environ.get("CI"):
        return "line"
    if _in_kernel():
        return "bar"
    isatty = getattr(sys.stderr, "isatty", None)
    return "bar" if isatty is not None and isatty() else "line"


def _in_kernel() -> bool:
    """Inside a Jupyter kernel (what `plots.in_notebook` checks, without importing plots)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    return hasattr(get_ipython(), "kernel")


class OneLine:
    """A stand-in for a tqdm bar that draws nothing while it runs and writes one line when
    it is closed (only if its loop took at least `min_s` seconds)."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        desc: str | None = None,
        total: float | None = None,
        unit: str = "it",
        min_s: float | None = None,
        unit_scale: bool = False,
        unit_divisor: int = 1000,
        **_: Any,
    ) -> None:
        self.iterable = iterable
        self.desc = desc or "progress"
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.unit = unit
        self.unit_scale, self.unit_divisor = unit_scale, unit_divisor
        self.min_s = line_min_s() if min_s is None else min_s
        self.n = 0
        self.start = time.perf_counter()
        self.closed = False

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError("this progress line was made without an iterable")
        try:
            for item in self.iterable:
                yield item
                self.n += 1
        finally:
            self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def __enter__(self) -> OneLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        self.n += n

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or self.desc

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Ignored (a line says only how many and how long)."""

    def refresh(self) -> None:
        """Nothing to redraw."""

    def line(self) -> str:
        """The line this loop writes: what, how many, how long."""
        elapsed = time.perf_counter() - self.start

        def fmt(v: float) -> str:
            if self.unit_scale:
                from tqdm import tqdm as base

                return base.format_sizeof(v, divisor=self.unit_divisor)
            return f"{v:.0f}"

        n = fmt(self.n) if self.total is None else f"{fmt(self.n)}/{fmt(self.total)}"
        unit = "" if self.unit == "it" else f" {self.unit}"
        return f"{self.desc}: {n}{unit} in {elapsed:.0f} s"

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if time.perf_counter() - self.start >= self.min_s:
            print(self.line(), file=sys.stderr, flush=True)


class _Off(OneLine):
    """Counts like `OneLine` but never writes."""

    def close(self) -> None:
        self.closed = True


def tqdm(iterable: Iterable | None = None, *args: Any, **kwargs: Any) -> Any:
    """`tqdm.auto.tqdm` in ``bar`` mode (with `leave=False` unless given), a `OneLine` in
    ``line`` mode, a silent counter in ``off`` mode; `disable=True` is always silent."""
    if kwargs.get("disable"):
        return _Off(iterable, *args, **kwargs)
    current = mode()
    if current == "bar":
        from tqdm.auto import tqdm as auto_tqdm

        kwargs.setdefault("leave", False)
        return auto_tqdm(iterable, *args, **kwargs)
    kwargs.pop("disable", None)
    return (OneLine if current == "line" else _Off)(iterable, *args, **kwargs)


def trange(n: int, *args: Any, **kwargs: Any) -> Any:
    """`tqdm(range(n), ...)`."""
    return tqdm(range(n), *args, **kwargs)
