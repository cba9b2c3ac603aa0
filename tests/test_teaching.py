"""Notebook 00's "how a cloak is made" and the teaching tools: the new exercises' checks
(right answers pass, typical wrong ones fail with a pointing hint, unfinished ones fall back),
predictions, "predict, then run" boxes, and the lesson's measurements on a tiny world."""

from __future__ import annotations

import pytest
import torch

from facecure_lib import exercises, lesson, notebook
from facecure_lib.exercises import ExerciseFailed, nb00, nb06

from .helpers import colour_dataset, mean_colour_extractor


# ----------------------------------------------------------------------------- nb00 exercises
def test_nearest_identity_check_passes_the_solution_and_explains_wrong_answers():
    assert nb00.check_nearest_identity(nb00.solution_nearest_identity) is (
        nb00.solution_nearest_identity
    )

    def rows(q, g, labels):  # returns gallery positions instead of identities
        return torch.cdist(q, g).argmin(1)

    def furthest(q, g, labels):
        return labels[torch.cdist(q, g).argmax(1)]

    def squeezed(q, g, labels):  # loses the query dimension for a single query
        return labels[torch.cdist(q, g).argmin(1)].squeeze()

    for wrong, hint in [(rows, "label"), (furthest, "smallest"), (squeezed, "length 1")]:
        with pytest.raises(ExerciseFailed, match=hint):
            nb00.check_nearest_identity(wrong)


def test_push_away_check_passes_the_solution_and_explains_wrong_answers():
    assert nb00.check_push_away(nb00.solution_push_away) is nb00.solution_push_away

    def no_start(model, x, eps, steps, step):  # from x itself: the gradient is zero
        x_adv = x.clone()
        clean = model(x).detach()
        for _ in range(steps):
            x_adv.requires_grad_(True)
            (g,) = torch.autograd.grad((model(x_adv) - clean).pow(2).sum(), x_adv)
            x_adv = (x_adv.detach() + step * g.sign()).clamp(0, 1)
        return x_adv.detach()

    def unbounded(model, x, eps, steps, step):
        return (x + 4 * eps * torch.randn_like(x).sign()).clamp(0, 1)

    def descends(model, x, eps, steps, step):
        clean = model(x).detach()
        x_adv = (x + torch.empty_like(x).uniform_(-eps / 2, eps / 2)).clamp(0, 1)
        for _ in range(steps):
            x_adv.requires_grad_(True)
            (g,) = torch.autograd.grad((model(x_adv) - clean).pow(2).sum(), x_adv)
            x_adv = (x + (x_adv.detach() - step * g.sign() - x).clamp(-eps, eps)).clamp(0, 1)
        return x_adv

    def in_place(model, x, eps, steps, step):
        x += eps / 2
        return x

    for wrong, hint in [
        (no_start, "random noise"),
        (unbounded, "clamp the change"),
        (descends, "step \\*up\\*"),
        (in_place, "copy"),
    ]:
        with pytest.raises(ExerciseFailed, match=hint):
            nb00.check_push_away(wrong)


def test_unfinished_exercises_fall_back_to_the_library(capsys):
    def todo(*args):
        raise NotImplementedError("complete this exercise")

    exercises.record(reset=True)
    exercises._STRICT.append(False)  # a notebook, not a test: fall back instead of raising
    try:
        assert nb00.check_push_away(todo) is nb00.solution_push_away
        assert nb00.check_nearest_identity(todo) is nb00.solution_nearest_identity
        assert nb06.check_cloak_helps(todo) is nb06.solution_cloak_helps
        assert nb00.check_prediction("p", todo, ["a", "b"], "a") is None
    finally:
        exercises._STRICT.pop()
    out = capsys.readouterr().out
    assert out.count("[TODO]") == 4
    assert set(exercises.record(reset=True).values()) == {"todo"}


# ----------------------------------------------------------------------------- predictions
def test_a_prediction_passes_when_made_and_says_whether_it_matched(capsys):
    assert exercises.check_prediction("p", lambda: "fooled", ["fooled", "recognised"], "fooled")
    out = capsys.readouterr().out
    assert "[PASS] p" in out and "matches it" in out
    got = exercises.check_prediction(
        "p", lambda: "recognised", ["fooled", "recognised"], "fooled", "Because."
    )
    assert got == "recognised"
    out = capsys.readouterr().out
    assert "[PASS]" in out and "does NOT match it" in out and "Because." in out
    with pytest.raises(ExerciseFailed, match="not one of"):
        exercises.check_prediction("p", lambda: "maybe", ["fooled", "recognised"], "fooled")
    with pytest.raises(ValueError, match="outcome"):
        exercises.check_prediction("p", lambda: "a", ["a"], "b")


# ----------------------------------------------------------------------------- nb06 exercise
def test_cloak_helps_check_passes_the_solution_and_catches_the_usual_misreadings():
    assert nb06.check_cloak_helps(nb06.solution_cloak_helps) is nb06.solution_cloak_helps

    def threshold(p, lo, u):  # a fixed threshold, ignoring the error without a cloak
        return "helps" if p >= 0.8 else ("no help" if p <= 0.2 else "cannot tell")

    def point(p, lo, u):  # ignores the interval
        return "helps" if p > u else "no help"

    with pytest.raises(ExerciseFailed, match="unprotected_error"):
        nb06.check_cloak_helps(threshold)
    with pytest.raises(ExerciseFailed, match="low end of the interval"):
        nb06.check_cloak_helps(point)
    with pytest.raises(ExerciseFailed, match="exactly as written"):
        nb06.check_cloak_helps(lambda p, lo, u: "yes")


# ----------------------------------------------------------------------------- predict/reveal
def test_predict_and_reveal_print_plain_text_outside_a_notebook(capsys):
    notebook.predict("Will **it** work?", ["yes", "no"])
    notebook.reveal("It **did**, at 0.8.")
    out = capsys.readouterr().out
    assert out.startswith("Predict, then run: Will **it** work? Options: yes, no.")
    assert "Answer (written from this run's numbers): It **did**, at 0.8." in out


def test_predict_and_reveal_render_html_in_a_notebook(monkeypatch):
    shown = []
    monkeypatch.setattr(notebook.plots, "in_notebook", lambda: True)
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    notebook.predict("Will <it> work?", ["yes", "no"])
    notebook.reveal("It **did**.\n\n- a *b*\n- `c`")
    box, answer = shown
    assert "Predict, then run" in box["text/html"] and "&lt;it&gt;" in box["text/html"]
    assert "<code>yes</code>" in box["text/html"] and box["text/plain"].startswith("Predict")
    html = answer["text/html"]
    assert html.startswith("<details") and html.endswith("</details>")
    assert "<summary>" in html and "<b>did</b>" in html
    assert "<ul><li>a <i>b</i></li><li><code>c</code></li></ul>" in html
    assert "open" not in html.split(">")[0]  # collapsed until clicked


def test_markdown_to_html_escapes_and_keeps_emphasis():
    html = notebook.markdown_inline_html("a < b, **bold** and *it* and 2*3*4")
    assert html == "<p>a &lt; b, <b>bold</b> and <i>it</i> and 2*3*4</p>"


# ----------------------------------------------------------------------------- the lesson
@pytest.fixture
def colours(tmp_cache):
    from facecure_lib.scenario import load_scenario

    ds = colour_dataset(n_ids=8, per_id=10, size=16)
    return load_scenario("quick", 0, dataset=ds, n_public=3, n_attackers=2, progress=False)


def test_attack_budgets_come_from_the_registry():
    table = lesson.attack_budgets("quick")
    assert list(table.index) == ["fawkes_v03", "fawkes_v10", "lowkey"]
    assert table.loc["fawkes_v03", "targeted"] and not table.loc["lowkey", "targeted"]
    assert "DSSIM <= 0.017" in table.loc["fawkes_v10", "budget"]
    assert "15/255" in table.loc["fawkes_v10", "budget"]
    paper = lesson.attack_budgets("paper")
    assert paper.loc["lowkey", "steps"] == 50 and table.loc["lowkey", "steps"] < 50
    assert "facenet" in paper.loc["fawkes_v10", "surrogates"]


def test_a_cloak_moves_a_picture_and_the_report_says_whom_1nn_names(colours, one_thread):
    model = mean_colour_extractor(16)
    proto = colours.protocol
    user, index = lesson.pick_picture({"m": model}, proto, torch.device("cpu"))
    assert index in proto.user_train_idx(user).tolist()
    picture = colours.ds.float_images([index])
    same = lesson.shift_report(model, "m", proto, index, picture, torch.device("cpu"))
    assert same.shift == 0 and same.clean_recognised and not same.fooled
    assert 0 < same.same_person < same.other_person  # colour identities: tight and apart
    # a mean-colour model is fooled by a colour shift far beyond the budget of any cloak
    far = (picture + 0.5).clamp(0, 1)
    moved = lesson.shift_report(
        model, "m", proto, index, far, torch.device("cpu"), nb00.solution_nearest_identity
    )
    assert moved.shift > moved.other_person and moved.fooled
    assert moved.to_dict()["fooled"] is True
    # the student's cloak on a toy CNN stays inside its budget and moves the embedding
    toy = nb00.toy_extractor(1)
    torch.manual_seed(0)
    cloaked = nb00.solution_push_away(toy, picture, 8 / 255, 5, 2 / 255)
    assert float((cloaked - picture).abs().max()) <= 8 / 255 + 1e-6
    assert lesson.shift_report(toy, "toy", proto, index, cloaked).shift > 0


# ----------------------------------------------------------------------------- notebooks
@pytest.mark.parametrize("stem", ["00_quickstart", "06_check_your_own_cloak"])
def test_notebook_has_exercises_and_a_prediction_and_a_closing(stem, tmp_path):
    import nbformat

    from facecure_lib.student import count_exercises, student_notebook

    from .nbrun import NOTEBOOKS

    source = (NOTEBOOKS / f"{stem}.py").read_text()
    assert count_exercises(NOTEBOOKS / f"{stem}.ipynb") >= 3
    assert "check_prediction(" in source and "notebook.predict(" in source
    assert "notebook.reveal(" in source and ".closing(" in source
    n = student_notebook(NOTEBOOKS / f"{stem}.ipynb", tmp_path / f"{stem}.ipynb")
    code = "\n".join(
        c.source
        for c in nbformat.read(tmp_path / f"{stem}.ipynb", 4).cells
        if c.cell_type == "code"
    )
    assert "BEGIN SOLUTION" not in code and code.count("raise NotImplementedError(") == n


def _section_cells(path, start: str, stop: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Code of the cells of a notebook from the markdown cell starting with `start` up to
    (without) the first code cell containing `stop`, leaving out cells containing any of
    `skip`."""
    import nbformat

    cells, inside = [], False
    for c in nbformat.read(path, 4).cells:
        inside = inside or (c.cell_type == "markdown" and c.source.startswith(start))
        if inside and c.cell_type == "code":
            if stop in c.source:
                break
            if not any(k in c.source for k in skip):
                cells.append(c.source)
    return cells


def _run_cells(cells: list[str], namespace: dict) -> dict[str, str]:
    """Execute cells as a notebook would (unfinished exercises fall back); return how the
    exercises went."""
    exercises.record(reset=True)
    exercises._STRICT.append(False)
    try:
        for code in cells:
            exec(compile(code, "cell", "exec"), namespace)
    finally:
        exercises._STRICT.pop()
    return exercises.record(reset=True)


def _version(stem: str, version: str, tmp_path):
    from facecure_lib.student import student_notebook

    from .nbrun import NOTEBOOKS

    path = NOTEBOOKS / f"{stem}.ipynb"
    if version == "student":
        student_notebook(path, tmp_path / path.name)
        path = tmp_path / path.name
    return path


@pytest.mark.parametrize("version", ["solution", "student"])
def test_the_cloak_section_runs_to_its_closing(version, colours, tmp_path, monkeypatch, capsys):
    """Notebook 00's new section, executed as written (solution) and with every exercise
    unfinished (student): on a colour world with two small CNNs standing in for the
    profile's surrogate and contemporary, it runs to the closing note."""
    from types import SimpleNamespace

    from facecure_lib.profiles import get_profile

    monkeypatch.setenv("FACECURE_FIGURES", str(tmp_path / "figures"))
    path = _version("00_quickstart", version, tmp_path)
    cells = _section_cells(path, "## How a cloak is made", "session.finish(")
    profile = get_profile("quick")
    white, unseen = profile.surrogates["fawkes_v10"][0], profile.contemporaries["fawkes_v10"][0]
    namespace = {
        "torch": torch,
        "notebook": notebook,
        "plots": __import__("facecure_lib.plots", fromlist=["plots"]),
        "zoo": None,  # every model the section needs is in `models`
        "session": SimpleNamespace(profile="quick", device=torch.device("cpu")),
        "scenario": colours,
        "models": {white: nb00.toy_extractor(0), unseen: nb00.toy_extractor(1)},
        "accuracy": {white: 0.9, unseen: 0.8},
        "CLOAK_EPS": 8 / 255,
        "CLOAK_STEPS": 5,
        "CLOAK_STEP_SIZE": 2 / 255,
    }
    states = _run_cells(cells, namespace)
    out = capsys.readouterr().out
    assert len(states) == 3 and set(states.values()) == (
        {"pass"} if version == "solution" else {"todo"}
    )
    assert out.count("[TODO]") == (3 if version == "student" else 0)
    assert "Predict, then run:" in out and "Answer (written from this run's numbers)" in out
    assert "**What we found.**" in out and "Exercises in this notebook:" in out
    assert namespace["white"].model == white and namespace["unseen"].model == unseen
    assert float((namespace["cloaked"] - namespace["picture"]).abs().max()) <= 8 / 255 + 1e-6
    assert (tmp_path / "figures" / "00_my_cloak.png").exists()


@pytest.mark.parametrize("version", ["solution", "student"])
def test_notebook_06_from_the_prediction_to_its_closing(
    version, world, tmp_path, monkeypatch, capsys, one_thread
):
    """Notebook 06 from its prediction to its closing note (all but the CLI cell), as
    written and with every exercise unfinished, on the colour world of `facecure check`'s
    tests (two recognisers, a person whose cloak is plain noise)."""
    from types import SimpleNamespace

    import pandas as pd

    from facecure_lib import plots, selfcheck
    from facecure_lib.narrative import selfcheck as story

    from .test_selfcheck import tiny_extractor, write_person

    monkeypatch.setenv("FACECURE_FIGURES", str(tmp_path / "figures"))
    path = _version("06_check_your_own_cloak", version, tmp_path)
    cells = _section_cells(path, "### Exercise 2", "session.finish(", skip=("cli.main(",))
    scenario, gallery = world
    namespace = {
        "notebook": notebook,
        "plots": plots,
        "pd": pd,
        "selfcheck": selfcheck,
        "story": story,
        "ex": nb06,
        "session": SimpleNamespace(profile="quick", device=torch.device("cpu")),
        "scenario": scenario,
        "gallery": gallery,
        "models": {"mean_colour": mean_colour_extractor(), "tiny": tiny_extractor(0)},
        "photos_dir": (photos := write_person(tmp_path / "me", n=10)),
        "hashes_before": selfcheck.folder_hashes(photos),
        "source": "a test person",
        "SEED": 0,
        "PATTERN": "fawkes",
        "SPLIT_SEEDS": 2,
    }
    states = _run_cells(cells, namespace)
    out = capsys.readouterr().out
    assert len(states) == 3  # the prediction, wilson_interval and cloak_helps
    assert set(states.values()) == ({"pass"} if version == "solution" else {"todo"})
    assert "Predict, then run:" in out and "Answer (written from this run's numbers)" in out
    assert "**What we found.**" in out and "Exercises in this notebook:" in out
    assert namespace["newest"] == "tiny" and namespace["helps"] == namespace["reference"]
    assert set(namespace["reference"].values()) <= set(nb06.HELP_CHOICES)
