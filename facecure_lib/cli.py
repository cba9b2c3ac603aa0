"""Command line: `facecure check PHOTOS_DIR`, `facecure run`, `facecure student` (also
`python -m facecure_lib.cli ...`).

Exit codes (`spec.EXIT_CODES`): 0 the command ran (the check wrote its report); 2 bad input
or options (each problem named, no traceback); 1 any other failure (add --debug for the
traceback). `--help` answers without importing torch.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence

# torch-free: `facecure --help` answers at once
from . import __version__
from .selfcheck.spec import (
    ATTACK_MODES,
    ATTACKS,
    DEFENSE_MODES,
    EXIT_CODES,
    EXTRACTORS,
    MAX_SEED,
    MIN_PICTURES,
    MODES,
    PATTERNS,
    CheckInputError,
)

EXAMPLES = """examples:
  facecure check ~/photos/me                     # me/a.jpg + me/a_cloaked.png (Fawkes)
  facecure check ~/photos/me --pattern lowkey    # me/a.jpg + me/a_attacked.png (LowKey)
  facecure check ~/photos/me --pattern '{stem}_protected.jpg'
  facecure check ~/photos/me --attack fawkes_v10 --mode high   # clean photos only
  facecure check ~/photos/me --profile paper --align           # real photos, pretrained models

The report goes to a new folder next to yours (me_facecure_report/) or to --out; your
photo folder is only read."""


def exit_codes_text() -> str:
    """The exit codes as the end of a help text (kept line by line)."""
    return "exit codes:\n" + "\n".join(f"  {code}  {what}" for code, what in EXIT_CODES.items())


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions and option help to the terminal (at most `MAX_WIDTH` columns); a
    text that holds line breaks (examples, exit codes) keeps them."""

    MAX_WIDTH = 100

    def __init__(self, prog: str, **kwargs) -> None:
        width = kwargs.pop("width", None) or shutil.get_terminal_size().columns - 2
        super().__init__(prog, width=min(width, self.MAX_WIDTH), **kwargs)

    def _split_lines(self, text: str, width: int) -> list[str]:
        # never break inside a hyphenated name (facenet-casia-webface)
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _sub(
    sub, name: str, help_text: str, description: str, epilog: str = ""
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=(epilog + "\n\n" if epilog else "") + exit_codes_text(),
        formatter_class=HelpFormatter,
    )


def _mode_help() -> str:
    per_attack = "; ".join(f"{a}: {', '.join(m)}" for a, m in ATTACK_MODES.items())
    return f"mode of the built-in attack ({per_attack}; default: the attack's own)"


def add_check_arguments(c: argparse.ArgumentParser) -> None:
    """The options of `facecure check`."""
    c.add_argument("photos_dir", metavar="PHOTOS_DIR", help="folder of ONE person's photos")
    c.add_argument(
        "--pattern",
        default="fawkes",
        help="how cloaked files are named: a preset ("
        + ", ".join(f"{k}: {v}" for k, v in PATTERNS.items())
        + ") or a pattern with {stem} and optionally {ext}",
    )
    c.add_argument(
        "--attack", choices=ATTACKS, help="cloak the clean photos with a built-in attack instead"
    )
    c.add_argument("--mode", choices=MODES, help=_mode_help())
    c.add_argument(
        "--profile",
        choices=("quick", "paper"),
        default=None,
        help="quick (generated gallery, small models; default outside Colab) or "
        "paper (LFW gallery, pretrained models)",
    )
    c.add_argument(
        "--seed", type=int, default=0, help=f"seed of the 70/30 split, 0 to {MAX_SEED} (default 0)"
    )
    c.add_argument(
        "--extractors",
        metavar="NAMES",
        help="comma-separated recognisers (default: all of the profile, oldest to newest); "
        + "; ".join(f"{p}: {', '.join(names)}" for p, names in EXTRACTORS.items()),
    )
    c.add_argument(
        "--gallery",
        help="folder of other people (one sub-folder each) to use as "
        "the gallery instead of the profile's",
    )
    c.add_argument(
        "--align",
        action="store_true",
        help="crop around the face found by MTCNN (needs facenet-pytorch)",
    )
    c.add_argument(
        "--min-pictures",
        type=int,
        default=MIN_PICTURES,
        help=f"fewest usable photos to run, at least 2 (default {MIN_PICTURES})",
    )
    c.add_argument(
        "--defenses",
        choices=DEFENSE_MODES,
        default="cached",
        help="robust recogniser and detector: use if cached (default), train them "
        "if missing, or skip",
    )
    c.add_argument(
        "--out", help="report folder (default: PHOTOS_DIR_facecure_report next to PHOTOS_DIR)"
    )
    c.add_argument("--force", action="store_true", help="replace report files already there")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    c.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `facecure` command."""
    from . import run_all, student

    parser = argparse.ArgumentParser(
        prog="facecure",
        description="FaceCure tutorials: check whether cloaked photos protect you from face "
        "recognition, and run the tutorial notebooks.",
        epilog=exit_codes_text(),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {}
    commands["check"] = check = _sub(
        sub,
        "check",
        "check one person's cloaked photos against every recogniser",
        "Insert the person of PHOTOS_DIR into a gallery of other people, post the cloaked "
        "versions of 70% of the photos, and measure how often each recogniser (oldest to "
        "newest) still recognises the clean 30%.",
        EXAMPLES,
    )
    add_check_arguments(check)
    commands["run"] = _sub(
        sub,
        "run",
        "execute every notebook headless (python -m facecure_lib.run_all)",
        "Execute the notebooks with papermill; write executed copies, figures, results "
        "files and output/SUMMARY.md (our numbers beside the paper's).",
    )
    run_all.add_arguments(commands["run"])
    commands["student"] = _sub(
        sub,
        "student",
        "write student versions of the notebooks (python -m facecure_lib.student)",
        "Write student versions of the notebooks: every solution becomes a stub, and the "
        "notebook goes on with the library's solution.",
    )
    student.add_arguments(commands["student"])
    parser.set_defaults(commands=commands)  # dispatch reports errors with the right usage
    return parser


def _print_table(result) -> None:
    t = result.table
    cols = [
        "recogniser",
        "trained_on",
        "protection_rate",
        "n_probes",
        "ci_low",
        "ci_high",
        "unprotected_error",
        "outcome",
    ]
    show = t[cols].copy()
    for c in ("protection_rate", "ci_low", "ci_high", "unprotected_error"):
        show[c] = show[c].map(lambda v: f"{100 * v:.0f}%")
    print(
        show.rename(
            columns={
                "protection_rate": "protection",
                "n_probes": "test photos",
                "unprotected_error": "unprotected",
                "trained_on": "trained on",
            }
        ).to_string(index=False)
    )


def extractor_names(text: str | None) -> list[str] | None:
    """`--extractors` as a list (None: all of the profile); ValueError when it names none."""
    if text is None:
        return None
    names = [e.strip() for e in text.split(",") if e.strip()]
    if not names:
        raise ValueError(f"names no recogniser ({text!r}); give comma-separated names")
    return names


def check_seed(parser: argparse.ArgumentParser, seed: int) -> None:
    """Reject a seed outside 0..MAX_SEED (exit 2, the option named)."""
    if not 0 <= seed <= MAX_SEED:
        parser.error(f"argument --seed: must be between 0 and {MAX_SEED}, got {seed}")


def validate_check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject bad `facecure check` options before any work (`parser.error`: exit 2)."""
    from .selfcheck.names import resolve_pattern

    check_seed(parser, args.seed)
    if args.min_pictures < 2:
        parser.error(f"argument --min-pictures: must be at least 2, got {args.min_pictures}")
    if args.out is not None and not args.out.strip():
        parser.error("argument --out: empty; give the report folder's path")
    if args.mode and not args.attack:
        parser.error("argument --mode: only with --attack (the mode of a built-in attack)")
    if args.attack and args.mode and args.mode not in ATTACK_MODES[args.attack]:
        parser.error(
            f"argument --mode: Unknown mode {args.mode!r} for {args.attack}; valid modes: "
            f"{', '.join(ATTACK_MODES[args.attack])}"
        )
    try:
        extractor_names(args.extractors)
    except ValueError as err:
        parser.error(f"argument --extractors: {err}")
    if args.attack is None:
        try:
            resolve_pattern(args.pattern)
        except CheckInputError as err:
            parser.error(f"argument --pattern: {err.problems[0][0]!r}: {err.problems[0][1]}")


def cmd_check(args: argparse.Namespace) -> int:
    """Run `facecure check` with parsed arguments; return the exit code."""
    from .selfcheck import check_cloak, report_dir, write_report

    try:
        report_dir(args.photos_dir, args.out, args.force)  # fail before the long part
        result = check_cloak(
            args.photos_dir,
            profile=args.profile,
            seed=args.seed,
            pattern=args.pattern,
            attack=args.attack,
            mode=args.mode,
            extractors=extractor_names(args.extractors),
            gallery=args.gallery,
            align=args.align,
            min_pictures=args.min_pictures,
            defenses=args.defenses,
            progress=not args.quiet,
        )
        path = write_report(result, args.out, force=args.force)
    except CheckInputError as err:
        print(f"facecure check: {err}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:
        if args.debug:
            raise
        print(
            f"facecure check failed: {type(err).__name__}: {err}\n(run with --debug for "
            "the traceback)",
            file=sys.stderr,
        )
        return 1
    _print_table(result)
    print()
    print(result.verdict())
    print(f"\nReport: {path}")
    return 0


def dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Validate the options of a parsed command and run it; return the exit code."""
    from . import run_all, student

    command = getattr(args, "commands", {}).get(args.command, parser)
    if args.command == "check":
        validate_check(command, args)
        return cmd_check(args)
    if args.command == "run":
        check_seed(command, args.seed)
        return run_all.run(args)
    if args.command == "student":
        return student.run(args)
    parser.print_help()
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `facecure` command: the exit code (argparse's own errors, e.g. a
    bad option, give 2 as well; `--help` and `--version` give 0)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return dispatch(parser, args)
    except SystemExit as done:  # parser.error / --help / --version
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)


if __name__ == "__main__":
    sys.exit(main())
