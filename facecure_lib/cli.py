"""Command line: `facecure check PHOTOS_DIR` (also `python -m facecure_lib.cli check ...`).

Exit codes: 0 the check ran and the report was written; 2 bad input (each problem named,
no traceback); 1 any other failure (add --debug for the traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

# torch-free: `facecure --help` answers at once
from .selfcheck.spec import ATTACKS, DEFENSE_MODES, MIN_PICTURES, PATTERNS

EPILOG = """examples:
  facecure check ~/photos/me                     # me/a.jpg + me/a_cloaked.png (Fawkes)
  facecure check ~/photos/me --pattern lowkey    # me/a.jpg + me/a_attacked.png (LowKey)
  facecure check ~/photos/me --pattern '{stem}_protected.jpg'
  facecure check ~/photos/me --attack fawkes_v10 --mode high   # clean photos only
  facecure check ~/photos/me --profile paper --align           # real photos, pretrained models

The report goes to a new folder next to yours (me_facecure_report/) or to --out; your
photo folder is only read."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `facecure` command."""
    parser = argparse.ArgumentParser(
        prog="facecure",
        description="FaceCure tutorials: check whether cloaked photos "
        "protect you from face recognition.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    c = sub.add_parser(
        "check",
        help="check one person's cloaked photos against every recogniser",
        description="Insert the person of PHOTOS_DIR into a gallery of other people, post "
        "the cloaked versions of 70%% of the photos, and measure how often each "
        "recogniser (oldest to newest) still recognises the clean 30%%.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("photos_dir", metavar="PHOTOS_DIR", help="folder of ONE person's photos")
    c.add_argument(
        "--pattern",
        default="fawkes",
        help="how cloaked files are named: fawkes ({stem}_cloaked.png), lowkey "
        "({stem}_attacked.png) or a pattern with {stem} (and optionally {ext}); "
        f"presets: {', '.join(f'{k}={v}' for k, v in PATTERNS.items())}",
    )
    c.add_argument(
        "--attack", choices=ATTACKS, help="cloak the clean photos with a built-in attack instead"
    )
    c.add_argument(
        "--mode", help="mode of the built-in attack (fawkes: low|mid|high; fawkes_v03 also min)"
    )
    c.add_argument(
        "--profile",
        choices=("quick", "paper"),
        default=None,
        help="quick (generated gallery, small models; default outside Colab) or "
        "paper (LFW gallery, pretrained models)",
    )
    c.add_argument("--seed", type=int, default=0, help="seed of the 70/30 split (default 0)")
    c.add_argument(
        "--extractors",
        help="comma-separated recognisers (default: all of the profile, oldest to newest)",
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
        help=f"fewest usable photos to run (default {MIN_PICTURES})",
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


def cmd_check(args: argparse.Namespace) -> int:
    """Run `facecure check` with parsed arguments; return the exit code."""
    from .selfcheck import CheckInputError, check_cloak, report_dir, write_report

    extractors = None
    if args.extractors:
        extractors = [e.strip() for e in args.extractors.split(",") if e.strip()]
    try:
        report_dir(args.photos_dir, args.out, args.force)  # fail before the long part
        result = check_cloak(
            args.photos_dir,
            profile=args.profile,
            seed=args.seed,
            pattern=args.pattern,
            attack=args.attack,
            mode=args.mode,
            extractors=extractors,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `facecure` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "check":
        if args.min_pictures < 2:
            parser.error("--min-pictures must be at least 2")
        return cmd_check(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
