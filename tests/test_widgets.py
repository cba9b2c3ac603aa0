"""Panels run their callback once with the defaults (headless) and re-run on changes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from facecure_lib import widgets


def test_panel_runs_defaults_once_and_returns_the_result(capsys):
    calls = []

    def fn(attack, rounds, strict):
        calls.append((attack, rounds, strict))
        return {"attack": attack, "rounds": rounds}

    out = widgets.panel(fn, {"attack": ["a", "b"], "rounds": 4, "strict": True}, title="t")
    assert out == {"attack": "a", "rounds": 4}
    assert calls == [("a", 4, True)]
    assert "attack" in capsys.readouterr().out  # the default result was displayed


def test_panel_reruns_on_change_and_updates_the_outputs():
    seen = []

    def fn(x):
        seen.append(x)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [x, x])
        return fig

    plt.close("all")
    p = widgets.build_panel(fn, {"x": [1, 2, 3]})
    assert seen == [1] and p.runs == 1
    p.controls["x"].value = 3
    assert seen == [1, 3] and p.runs == 2 and p.result is not None
    assert not plt.get_fignums()  # figures are closed after display (no double drawing)


def test_manual_panel_waits_for_run_and_errors_are_reported():
    import ipywidgets as w

    def fn(n):
        if n < 0:
            raise ValueError("negative")
        return n * 2

    p = widgets.build_panel(
        fn, {"n": w.IntSlider(value=2, min=-3, max=3)}, manual=True, render=lambda r: f"result {r}"
    )
    assert p.result == 4
    p.controls["n"].value = 1
    assert p.runs == 1  # nothing until "Run"
    p.run()
    assert p.result == 2 and p.runs == 2
    p.controls["n"].value = -1
    assert p.run() == 2 and "negative" in p.error  # last good result kept, error shown
    with pytest.raises(ValueError):
        widgets.panel(fn, {"n": -1})  # the default run must not fail silently


def test_make_control_abbreviations():
    import ipywidgets as w

    assert isinstance(widgets.make_control("a", ["x", "y"]), w.Dropdown)
    assert isinstance(widgets.make_control("a", True), w.Checkbox)
    assert isinstance(widgets.make_control("a", 3), w.IntText)
    assert isinstance(widgets.make_control("a", 0.5), w.FloatText)
    s = w.IntSlider()
    assert widgets.make_control("a", s) is s
    with pytest.raises(TypeError):
        widgets.make_control("a", object())
