"""Student versions of the notebooks: every solution becomes a stub that raises.

Solutions live in the notebooks themselves (one source of truth), between a
`# BEGIN SOLUTION` and an `# END SOLUTION` line; a `# HINT: ...` line above them becomes the
message of the `NotImplementedError` that replaces the solution. Usage:

    python -m facecure_lib.student notebooks output/student
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

BEGIN, END, HINT = "# BEGIN SOLUTION", "# END SOLUTION", "# HINT:"


class MarkerError(ValueError):
    """Unbalanced or nested solution markers."""


def stub_source(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every solution block in a cell's source; return (new source, blocks replaced)."""
    out, hint, inside, n, indent = [], "complete this exercise", False, 0, ""
    for lineno, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(HINT) and not inside:
            hint = stripped[len(HINT):].strip() or hint
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


def student_notebook(src: Path, dst: Path) -> int:
    """Write the student version of one notebook (outputs cleared); return exercises stubbed."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    total = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if BEGIN in cell.source:
            cell.source, n = stub_source(cell.source, f"{src.name} cell {i}")
            total += n
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(
        "**Student version.** Cells that raise `NotImplementedError` are your exercises: "
        "complete them, then run the check cell below each one."))
    nb.cells[1]["id"] = "student-note"
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    return total


def count_exercises(path: Path) -> int:
    """Number of solution blocks in a notebook."""
    text = Path(path).read_text()
    return len(re.findall(re.escape(BEGIN), text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write student versions of the notebooks.")
    ap.add_argument("src", nargs="?", default="notebooks")
    ap.add_argument("dst", nargs="?", default="output/student")
    args = ap.parse_args(argv)
    src, dst = Path(args.src), Path(args.dst)
    if src.resolve() == dst.resolve():
        print("refusing to overwrite the solution notebooks: choose another output folder",
              file=sys.stderr)
        return 2
    for nb in sorted(src.glob("[0-9][0-9]_*.ipynb")):
        n = student_notebook(nb, dst / nb.name)
        print(f"{nb.name}: {n} exercise(s) stubbed -> {dst / nb.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
