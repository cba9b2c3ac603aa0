"""Student versions of the notebooks: every solution becomes a stub that raises (and the
notebook goes on with the library's solution, see `facecure_lib.exercises`).

Solutions live in the notebooks themselves (one source of truth), between a
`# BEGIN SOLUTION` and an `# END SOLUTION` line; a `# HINT: ...` line above them becomes the
message of the `NotImplementedError` that replaces the solution. Usage:

    python -m facecure_lib.student notebooks output/student
    python -m facecure_lib.student notebooks student --badges student   # `make student`

The second form writes the published student versions (`student/`, committed): their
"Open in Colab" badges open the student version itself, and the README's badges point there.
`scripts/build_notebooks.py` rewrites them with the notebooks, and `--check` finds them stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

BEGIN, END, HINT = "# BEGIN SOLUTION", "# END SOLUTION", "# HINT:"


class MarkerError(ValueError):
    """Unbalanced or nested solution markers."""


def stub_source(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every solution block in a cell's source; return (new source, blocks replaced)."""
    out, hint, inside, n, indent = [], "complete this exercise", False, 0, ""
    for lineno, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(HINT) and not inside:
            hint = stripped[len(HINT) :].strip() or hint
            out.append(line)
        elif stripped == BEGIN:
            if inside:
                raise MarkerError(f"{where}, line {lineno}: nested {BEGIN}")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if not inside:
                raise MarkerError(f"{where}, line {lineno}: {END} without {BEGIN}")
            out.append(f"{indent}raise NotImplementedError({hint!r})")
            inside, n = False, n + 1
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out), n


# a grading cell: `fn = ex.check_fn(fn)`, or a graded prediction (`exercises.check_prediction`)
GRADE_CALL = re.compile(r"=\s*ex\.check_\w+\(|\bcheck_prediction\(")
IGNORE_OUTPUT = "nbval-ignore-output"


def student_notebook(
    src: Path, dst: Path, executed: Path | None = None, badge_folder: str | None = None
) -> int:
    """Write the student version of one notebook; return how many exercises were stubbed.

    Outputs are cleared; with `executed` (the same notebook, executed headless), every
    non-exercise cell instead carries that run's outputs (stderr dropped) as the reference
    nbval compares the student version against, exercise and grading cells are tagged
    `nbval-ignore-output`, and a last cell prints how the exercises went. With
    `badge_folder`, links to `notebooks/<this notebook>` (the Colab badge) point to
    `<badge_folder>/<this notebook>` instead, where the student version is published.
    """
    nb, total = student_node(src, executed, badge_folder)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(_text(nb))
    return total


def _text(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


def student_node(
    src: Path, executed: Path | None = None, badge_folder: str | None = None
) -> tuple[Any, int]:
    """The student version of one notebook as a notebook node, and how many exercises were
    stubbed (see `student_notebook`)."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    ran = _outputs_by_id(executed) if executed is not None else {}
    total, count = 0, 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        count += 1
        # a reference cell needs an execution count: nbval fails "unrun" cells with outputs
        cell.outputs = ran.get(cell.get("id"), [])
        cell.execution_count = count if executed is not None else None
        exercise = BEGIN in cell.source
        if exercise:
            cell.source, n = stub_source(cell.source, f"{src.name} cell {i}")
            total += n
        if executed is not None and (exercise or GRADE_CALL.search(cell.source)):
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), IGNORE_OUTPUT]
            cell.outputs = []
    nb.cells.insert(
        1,
        nbformat.v4.new_markdown_cell(
            "**Student version.** Functions whose body raises `NotImplementedError` are your "
            "exercises: complete them and run the check cell below each one. Until then the "
            "notebook goes on with the library's solution (the check says `[TODO]`)."
        ),
    )
    nb.cells[1]["id"] = "student-note"
    if badge_folder is not None:
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = cell.source.replace(
                    f"/notebooks/{src.name}", f"/{badge_folder.strip('/')}/{src.name}"
                )
    if executed is not None:
        tally = nbformat.v4.new_code_cell(
            "from facecure_lib import exercises\n\nprint(exercises.summary())"
        )
        tally["id"], tally["execution_count"] = "student-tally", count + 1
        tally.outputs = [nbformat.v4.new_output("stream", name="stdout", text=_tally_text(total))]
        nb.cells.append(tally)
    return nb, total


def publish(src: Path, dst: Path, badge_folder: str, check: bool = False) -> list[str]:
    """Write the student version of every notebook of `src` into `dst` with badges that open
    `badge_folder` (or, with `check`, only compare); return the names that were stale (or
    are left over in `dst` without a notebook)."""
    stale = []
    for nb_path in sorted(Path(src).glob("[0-9][0-9]_*.ipynb")):
        node, _ = student_node(nb_path, None, badge_folder)
        want, target = _text(node), Path(dst) / nb_path.name
        if check:
            if not target.exists() or target.read_text() != want:
                stale.append(nb_path.name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(want)
    known = {p.name for p in Path(src).glob("[0-9][0-9]_*.ipynb")}
    stale += [p.name for p in Path(dst).glob("[0-9][0-9]_*.ipynb") if p.name not in known]
    return stale


def _tally_text(n: int) -> str:
    """What `exercises.summary()` prints when all `n` exercises were left unfinished."""
    from .exercises import summary

    return summary({f"exercise {k}": "todo" for k in range(n)}) + "\n"


def _outputs_by_id(executed: Path) -> dict[str, list]:
    """Outputs of an executed notebook by cell id, without stderr (progress bars, warnings)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return {
        c.get("id"): [
            o
            for o in c.get("outputs", [])
            if not (o.output_type == "stream" and o.name == "stderr")
        ]
        for c in nb.cells
        if c.cell_type == "code"
    }


def count_exercises(path: Path) -> int:
    """Number of solution blocks in a notebook."""
    text = Path(path).read_text()
    return len(re.findall(re.escape(BEGIN), text))


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of `python -m facecure_lib.student` and `facecure student`."""
    ap.add_argument("src", nargs="?", default="notebooks", help="default: notebooks")
    ap.add_argument("dst", nargs="?", default="output/student", help="default: output/student")
    ap.add_argument(
        "--badges",
        metavar="FOLDER",
        help="badges open FOLDER/<notebook>, where they are published (e.g. student)",
    )
    ap.add_argument(
        "--reference",
        metavar="FOLDER",
        help="executed solution notebooks whose outputs the student versions carry "
        "as nbval references (the test pipeline's second stage)",
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m facecure_lib.student [src] [dst] [--reference FOLDER]`."""
    ap = argparse.ArgumentParser(description="Write student versions of the notebooks.")
    add_arguments(ap)
    return run(ap.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Write the student notebooks chosen by parsed `add_arguments` options."""
    src, dst = Path(args.src), Path(args.dst)
    if src.resolve() == dst.resolve():
        print(
            "refusing to overwrite the solution notebooks: choose another output folder",
            file=sys.stderr,
        )
        return 2
    for nb in sorted(src.glob("[0-9][0-9]_*.ipynb")):
        executed = Path(args.reference) / nb.name if args.reference else None
        if executed is not None and not executed.exists():
            print(
                f"{executed}: no executed notebook to take reference outputs from (run the "
                "notebook tests first)",
                file=sys.stderr,
            )
            return 2
        n = student_notebook(nb, dst / nb.name, executed, getattr(args, "badges", None))
        print(f"{nb.name}: {n} exercise(s) stubbed -> {dst / nb.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
