"""Write the generated part of the instructor pack, `docs/instructors/what_to_expect.md`,
from the results files (`make pack`; `make run` and `make seeds` call it at their end).

    python scripts/instructor_pack.py                       # results/quick/ -> docs/instructors/
    python scripts/instructor_pack.py --results DIR --out FILE --profile quick

Missing results files are said in the page, never guessed; see `facecure_lib.instructor`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's library, even when not installed


def main(argv: list[str] | None = None) -> int:
    from facecure_lib.instructor import write_pack

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=("quick", "paper"))
    ap.add_argument("--results", help="folder of the results files (default results/<profile>)")
    ap.add_argument("--seeds", help="seeds.json (default: <results>/seeds.json)")
    ap.add_argument("--notebooks", default=str(ROOT / "notebooks"))
    ap.add_argument(
        "--out",
        help="default: docs/instructors/what_to_expect.md (quick), what_to_expect_paper.md",
    )
    args = ap.parse_args(argv)
    page = "what_to_expect.md" if args.profile == "quick" else f"what_to_expect_{args.profile}.md"
    args.out = args.out or str(ROOT / "docs" / "instructors" / page)
    results = Path(args.results) if args.results else ROOT / "results" / args.profile
    out = write_pack(
        results,
        Path(args.notebooks),
        Path(args.out),
        args.profile,
        Path(args.seeds) if args.seeds else None,
    )
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
