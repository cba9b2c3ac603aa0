"""Interactive panels that also work headless (papermill, nbval, a plain Python shell).

`panel(fn, controls)` runs `fn` once with the controls' default values *before* anything
interactive happens, so a notebook executed headless gets the default outputs as ordinary
cell outputs (and the default result to build on). With a live kernel the controls are shown
above those outputs and every change (or a click on "Run", for slow callbacks) re-runs `fn`
and replaces the outputs in place (IPython display handles, no Output widget needed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def make_control(name: str, spec: Any):
    """An ipywidgets control from a widget (returned as is) or an abbreviation:
    a list/tuple of options -> Dropdown (first option selected), a bool -> Checkbox,
    an int/float -> a number box, a str -> Text."""
    import ipywidgets as w

    if isinstance(spec, w.ValueWidget):
        return spec
    style = {"description_width": "initial"}
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ValueError(f"control {name!r}: no options")
        return w.Dropdown(options=list(spec), value=spec[0], description=name, style=style)
    if isinstance(spec, bool):
        return w.Checkbox(value=spec, description=name, style=style)
    if isinstance(spec, int):
        return w.IntText(value=spec, description=name, style=style)
    if isinstance(spec, float):
        return w.FloatText(value=spec, description=name, style=style)
    if isinstance(spec, str):
        return w.Text(value=spec, description=name, style=style)
    raise TypeError(f"control {name!r}: cannot make a widget from {spec!r}")


def _as_list(obj: Any) -> list:
    if obj is None:
        return []
    return list(obj) if isinstance(obj, (list, tuple)) else [obj]


def _show(obj: Any, handle=None):
    """Display (or update in place) one object; close matplotlib figures so the inline
    backend does not draw them a second time."""
    import matplotlib.pyplot as plt
    from IPython.display import display
    from matplotlib.figure import Figure

    is_figure = isinstance(obj, Figure)
    if is_figure:
        from .plots import inline_ready

        inline_ready()
    if handle is None:
        handle = display(obj, display_id=True)
        if is_figure:
            from .plots import shown

            shown("panel figure")
    else:
        handle.update(obj)
    if is_figure:
        plt.close(obj)
    return handle


class Panel:
    """A running panel: its controls, its last result, and how to re-run it."""

    def __init__(
        self,
        fn: Callable[..., Any],
        controls: Mapping[str, Any],
        render: Callable[[Any], Any] | None,
        manual: bool,
        title: str,
    ) -> None:
        self.fn, self.render, self.manual, self.title = fn, render, manual, title
        self.controls = {k: make_control(k, v) for k, v in controls.items()}
        self.result: Any = None
        self.runs = 0
        self.error: str | None = None
        self._handles: list = []
        self._box = None
        self._status = None

    def values(self) -> dict[str, Any]:
        return {k: c.value for k, c in self.controls.items()}

    def run(self, *_: Any) -> Any:
        """Call `fn` with the current control values and (re)draw its outputs."""
        try:
            result = self.fn(**self.values())
        except Exception as err:  # show the error in the panel, keep the last outputs
            self.error = f"{type(err).__name__}: {err}"
            if self._status is not None:
                self._status.value = f"<span style='color:#C44E52'>{self.error}</span>"
            if not self._handles:  # the default run must not fail silently
                raise
            return self.result
        self.error = None
        self.result, self.runs = result, self.runs + 1
        objs = _as_list(self.render(result) if self.render else result)
        self._handles += [None] * (len(objs) - len(self._handles))
        for i, obj in enumerate(objs):
            self._handles[i] = _show(obj, self._handles[i])
        if self._status is not None:
            self._status.value = f"run {self.runs}: {self.values()}"
        return result

    def widget(self):
        """The controls (and a Run button when `manual`) as one ipywidgets box."""
        if self._box is None:
            import ipywidgets as w

            self._status = w.HTML("")
            items = list(self.controls.values())
            if self.manual:
                button = w.Button(description="Run", button_style="primary")
                button.on_click(self.run)
                items.append(button)
            else:
                for c in self.controls.values():
                    c.observe(self.run, names="value")
            head = [w.HTML(f"<b>{self.title}</b>")] if self.title else []
            self._box = w.VBox(
                head + [w.HBox(items, layout=w.Layout(flex_flow="row wrap")), self._status]
            )
        return self._box


def build_panel(
    fn: Callable[..., Any],
    controls: Mapping[str, Any],
    render: Callable[[Any], Any] | None = None,
    manual: bool = False,
    title: str = "",
    show: bool = True,
) -> Panel:
    """Display the controls of `fn(**controls)`, run it once with the defaults, return the Panel.

    `controls` maps `fn`'s argument names to widgets or abbreviations (see `make_control`).
    `render(result)` returns what to display (an object or a list: DataFrames, figures,
    Markdown); by default the result itself is displayed. `manual=True` adds a Run button
    instead of re-running on every change. Headless, only the default run's outputs appear.
    """
    p = Panel(fn, controls, render, manual, title)
    if show:
        from IPython.display import display

        display(p.widget())
    p.run()
    return p


def panel(fn: Callable[..., Any], controls: Mapping[str, Any], **options: Any) -> Any:
    """`build_panel(fn, controls, **options)` and return the result of the default run."""
    return build_panel(fn, controls, **options).result
