"""How cloaked files are named next to their clean photos, and how the two are paired
(torch-free: the command line checks `--pattern` with these before any work)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .spec import PATTERNS, CheckInputError


def resolve_pattern(pattern: str | None) -> str:
    """A preset name (`fawkes`, `lowkey`) or a pattern holding `{stem}` -> the pattern."""
    pattern = PATTERNS["fawkes"] if pattern is None else str(pattern)
    pattern = PATTERNS.get(pattern.lower(), pattern)
    if "{stem}" not in pattern:
        raise CheckInputError(
            "--pattern",
            [
                (
                    pattern,
                    "a cloaked-file pattern must contain "
                    "{stem} (the clean file's name without suffix), "
                    f"or be one of {', '.join(PATTERNS)}",
                )
            ],
        )
    fields = set(re.findall(r"\{[^{}]*\}", pattern)) - {"{stem}", "{ext}"}
    if fields or "{" in re.sub(r"\{[^{}]*\}", "", pattern):
        raise CheckInputError(
            "--pattern",
            [(pattern, "only {stem} and {ext} may appear in braces in a cloaked-file pattern")],
        )
    if not re.sub(r"\{stem\}|\{ext\}", "", pattern):
        raise CheckInputError(
            "--pattern",
            [
                (
                    pattern,
                    "the pattern must add something to the clean file's name (e.g. "
                    "'{stem}_cloaked.png'); this one would name the cloaked file like the "
                    "clean one",
                )
            ],
        )
    if "/" in pattern or "\\" in pattern:
        raise CheckInputError(
            "--pattern",
            [
                (
                    pattern,
                    "the pattern names a file in the same "
                    "folder; it cannot contain a path separator",
                )
            ],
        )
    return pattern


def pattern_regex(pattern: str) -> re.Pattern:
    """Regex matching the cloaked names of a pattern; groups `stem` (and `ext` if used)."""
    parts = re.split(r"(\{stem\}|\{ext\})", resolve_pattern(pattern))
    rx = ""
    for part in parts:
        if part == "{stem}":
            rx += r"(?P<stem>.+?)"
        elif part == "{ext}":
            rx += r"(?P<ext>\.[A-Za-z0-9]+)"
        else:
            rx += re.escape(part)
    return re.compile(rf"^{rx}$", re.IGNORECASE)


def pair_names(
    names: Sequence[str], pattern: str = "fawkes"
) -> tuple[dict[str, str], list[str], list[str], list[tuple[str, str]]]:
    """Pair file names: ({clean: cloaked}, clean without a partner, orphan cloaked, problems).

    A name matching the pattern is a cloaked picture of the clean picture whose stem (and
    suffix, if the pattern uses `{ext}`) it names; `problems` lists ambiguous partners.
    """
    rx = pattern_regex(pattern)
    names = sorted(names)
    cloaked = {n: rx.match(n) for n in names}
    cloaked = {n: m for n, m in cloaked.items() if m}
    clean = [n for n in names if n not in cloaked]
    pairs: dict[str, str] = {}
    orphans, problems = [], []
    for name, m in cloaked.items():
        stem, ext = m.group("stem"), m.groupdict().get("ext")
        partners = [
            c
            for c in clean
            if Path(c).stem == stem and (ext is None or Path(c).suffix.lower() == ext.lower())
        ]
        if not partners:
            orphans.append(name)
        elif len(partners) > 1:
            problems.append(
                (
                    name,
                    f"ambiguous: could be the cloaked version of "
                    f"{' or '.join(partners)}; rename one of them",
                )
            )
        elif partners[0] in pairs:
            problems.append(
                (
                    name,
                    f"second cloaked version of {partners[0]} (the first is "
                    f"{pairs[partners[0]]}); keep one",
                )
            )
        else:
            pairs[partners[0]] = name
    unpaired = [c for c in clean if c not in pairs]
    return pairs, unpaired, orphans, problems
