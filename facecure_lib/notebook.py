"""What the first and the last cells of every notebook do: set up, start, and write the
results file. Notebooks call `setup(name)` (generated setup cell), `start(PROFILE, SEED)`
(after the parameters cell), `say(markdown)` for generated sentences, `predict(question)`
and `reveal(answer)` around a key result, and `session.finish(data, findings)` at the end."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from . import budget, exercises, plots
from .config import (
    check_profile,
    check_versions,
    get_device,
    in_colab,
    seed_everything,
    set_threads,
)
from .results import Timer, write_results

if TYPE_CHECKING:
    from .data.dataset import FaceDataset
    from .scenario import Scenario

_NAME: list[str] = []  # the running notebook's name, set by its setup cell


@dataclass
class Session:
    """A running notebook: its profile, seed, device and timer."""

    notebook: str
    profile: str
    seed: int
    device: torch.device
    timer: Timer = field(default_factory=Timer)
    max_steps: int | None = None

    def finish(self, data: dict, findings: dict, out_dir: Path | None = None) -> None:
        """Write `results/<profile>/<notebook>.json` and say where it went.

        Adds the figures the notebook showed (`figures`), how its exercises went
        (`exercises`) and the step cap in force (`max_steps`, None: none) to the findings.
        """
        extra = {
            "figures": plots.shown_figures(),
            "exercises": exercises.record(),
            "max_steps": self.max_steps,
        }
        path = write_results(
            self.notebook,
            self.profile,
            self.seed,
            self.timer.elapsed(),
            data,
            {**findings, **extra},
            out_dir,
        )
        print(f"results written to {_short(path)} ({self.timer.elapsed():.0f} s)")


def _short(path: Path) -> str:
    """A path relative to the current folder when it lies below it (shorter to read)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


COLAB_CPU_HINT = (
    "Colab without a GPU: the quick profile is used. For the paper profile, choose "
    'Runtime > Change runtime type > GPU (then run again), or set PROFILE = "paper" in the '
    "parameters cell, or FACECURE_PROFILE=paper."
)


def setup(name: str) -> None:
    """The generated setup cell: remember the notebook's name, print the versions in use,
    and in Colab without a GPU say how to get the paper profile."""
    _NAME[:] = [name]
    check_versions()
    if in_colab() and not torch.cuda.is_available() and not os.environ.get("FACECURE_PROFILE"):
        print(COLAB_CPU_HINT)


def notebook_name() -> str:
    """The running notebook's name: set by `setup`, else the script being run (`NN_name`)."""
    if _NAME:
        return _NAME[0]
    stem = Path(sys.argv[0]).stem
    if re.fullmatch(r"\d\d_\w+", stem):
        return stem
    raise RuntimeError(
        "unknown notebook: run the notebook's setup cell first "
        "(it calls facecure_lib.notebook.setup(<name>))"
    )


def start(
    profile: str | None,
    seed: int,
    quiet: bool = False,
    name: str | None = None,
    max_steps: int | None = None,
) -> Session:
    """Validate parameters, seed everything, pick the device, set the plot style.

    `name` defaults to the notebook's (see `notebook_name`). `max_steps` caps every attack's
    and every training loop's steps (`budget`; None: the profile's step counts)."""
    name = name or notebook_name()
    profile = check_profile(profile)
    budget.set_max_steps(max_steps)
    seed_everything(seed)
    set_threads()
    plots.set_style()
    plots.shown_figures(reset=True)
    exercises.record(reset=True)
    device = get_device()
    if not quiet:
        print(f"{name}: profile={profile} seed={seed} device={device} torch={torch.__version__}")
        if profile == "paper" and device.type == "cpu":
            hint = (
                "In Colab: Runtime > Change runtime type > GPU."
                if in_colab()
                else "No GPU found: the paper profile will be slow on a CPU."
            )
            print(f"Hint: the paper profile wants a GPU. {hint}")
        if max_steps is not None:
            print(f"Every attack and training loop is capped at {max_steps} steps (MAX_STEPS).")
    return Session(name, profile, seed, device, max_steps=max_steps)


def say(markdown: str) -> None:
    """Display a generated sentence (Markdown) in a notebook; print it anywhere else."""
    if plots.in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(markdown))
    else:
        print(markdown)


_PREDICT_STYLE = (
    "border-left: 4px solid #d9822b; background: rgba(217, 130, 43, 0.08); "
    "padding: 0.5em 0.8em; margin: 0.5em 0;"
)
_REVEAL_STYLE = (
    "border-left: 4px solid #2b7bd9; background: rgba(43, 123, 217, 0.06); "
    "padding: 0.4em 0.8em; margin: 0.5em 0;"
)


def _inline(s: str) -> str:
    """One line of Markdown (**bold**, *italic*, `code`) as HTML, everything else escaped."""
    import html

    s = html.escape(s, quote=False)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)
    return re.sub(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])", r"<i>\1</i>", s)


def markdown_inline_html(text: str) -> str:
    """The small Markdown a narrative sentence uses (**bold**, *italic*, `code`, paragraphs
    and "- " lists), as HTML, with everything else escaped."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if lines and all(ln.lstrip().startswith("- ") for ln in lines):
            items = "".join(f"<li>{_inline(ln.lstrip()[2:])}</li>" for ln in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{_inline(' '.join(ln.strip() for ln in lines))}</p>")
    return "".join(blocks)


def _display(html_text: str, plain: str) -> None:
    """Show HTML in a notebook (with a plain-text fallback in the saved output); print the
    plain text anywhere else."""
    if plots.in_notebook():
        from IPython.display import display

        display({"text/html": html_text, "text/plain": plain}, raw=True)
    else:
        print(plain)


def predict(question: str, options: list[str] | None = None) -> None:
    """A "predict, then run" box: show a question *before* the cell that computes its answer.

    Use it right before a key result, with `reveal` right after it:

        notebook.predict("Will the robust model still be fooled by the cloaks?",
                         ["fooled", "partly", "not fooled"])
        # ... the cell that computes the result ...
        notebook.reveal(story.robust_answer(...))   # written from the numbers

    Notebooks 01-05 use it before the dynamic game's rounds, robust training, detection, the
    timeline and thresholding. To grade a prediction as an exercise, let the student return
    a choice from a function with a solution block and check it with
    `exercises.check_prediction` once the outcome is known.
    """
    opts = f" Options: {', '.join(options)}." if options else ""
    plain = f"Predict, then run: {question}{opts} (write your answer down before running on)"
    choices = (
        "<br><small>options: " + ", ".join(f"<code>{o}</code>" for o in options) + "</small>"
        if options
        else ""
    )
    html_text = (
        f'<div style="{_PREDICT_STYLE}"><b>Predict, then run.</b> '
        f"{_inline(question)}{choices}<br><small>Write your answer "
        "down before you run the next cells; the answer appears below them.</small></div>"
    )
    _display(html_text, plain)


def reveal(answer: str, title: str = "Answer (written from this run's numbers)") -> None:
    """The answer to the last `predict` box, collapsed: an HTML `<details>` block in a
    notebook, plain text elsewhere. `answer` must come from a narrative helper that writes
    it from the numbers just computed (never a fixed text), so it matches the output."""
    body = markdown_inline_html(answer)
    html_text = (
        f'<details style="{_REVEAL_STYLE}"><summary><b>{title}</b> (click to open)</summary>'
        f"{body}</details>"
    )
    _display(html_text, f"{title}: {answer}")


def load_world(
    session: Session, dataset: str | None = None, seed: int | None = None, **sizes
) -> Scenario:
    """The scenario a notebook runs on, from `seed` (None: the session's).

    Quick: the generated world of that seed. Paper: first check that every download the
    profile needs can be had (one message naming each missing file, in seconds), then the
    faces of `dataset` ("lfw" or a folder with one sub-folder per person; None reads
    `FACECURE_DATASET`), at most `n_identities` people and `pictures_per_identity` pictures
    each (the profile's sizes by default), half of the people public; then print the
    notebook's estimated time on a Colab T4 for these sizes. The other `sizes` go to
    `scenario.load_scenario` (None values are left out).
    """
    from .scenario import load_scenario

    seed = session.seed if seed is None else seed
    sizes = {k: v for k, v in sizes.items() if v is not None}
    if session.profile != "paper":
        return load_scenario(session.profile, seed, **sizes)
    faces = paper_faces(session, dataset, seed, sizes)
    scenario = load_scenario("paper", seed, dataset=faces, **sizes)
    print_estimate(session, scenario)
    return scenario


def paper_faces(
    session: Session, dataset: str | None, seed: int, sizes: dict | None = None
) -> FaceDataset:
    """Preflight, then the paper profile's faces with the profile's caps (`sizes` may hold
    `n_identities` and `pictures_per_identity`, which are taken out of it)."""
    from .assets_check import preflight
    from .data.paper_data import load_paper_dataset
    from .profiles import get_profile

    sizes = {} if sizes is None else sizes
    default = get_profile("paper").sizes
    people = sizes.pop("n_identities", default.n_identities)
    pictures = sizes.pop("pictures_per_identity", default.pictures_per_identity)
    preflight("paper", dataset)
    return load_paper_dataset(
        dataset,
        image_size=default.image_size,
        seed=seed,
        max_identities=people or None,
        max_pictures=pictures or None,
    )


def print_estimate(session: Session, scenario: Scenario) -> None:
    """Print the notebook's estimated minutes on a Colab T4 for this scenario's sizes."""
    from .estimate import PaperSizes, estimate_line

    print(estimate_line(session.notebook, PaperSizes.from_scenario(scenario)))


def load_check_world(
    session: Session, dataset: str | None = None, seed: int = 0
) -> tuple[Scenario, FaceDataset, str]:
    """Notebook 06's world: (scenario, gallery of other people, its description), as
    `selfcheck.load_world`; in the paper profile the gallery is `dataset`'s private people
    (`load_world`'s preflight, faces and estimate)."""
    from .selfcheck import load_world as check_world

    if session.profile != "paper":
        return check_world(session.profile, seed)
    faces = paper_faces(session, dataset, seed)
    scenario, gallery, desc = check_world("paper", seed, gallery=faces)
    print_estimate(session, scenario)
    return scenario, gallery, desc
