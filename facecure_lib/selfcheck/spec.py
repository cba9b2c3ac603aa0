"""What `facecure check` accepts and promises, without importing torch.

The command line reads these (so that `facecure --help` answers at once); the check itself
uses the same objects. Nothing here touches pixels or models.
"""

from __future__ import annotations

import os

PATTERNS = {"fawkes": "{stem}_cloaked.png", "lowkey": "{stem}_attacked.png"}
REPORT_FILES = ("report.md", "check.json", "cloak_examples.png")
MIN_PICTURES = 5
FOOLED, PARTLY = 0.8, 0.2  # protection >= FOOLED: fooled; <= PARTLY: recognised you
DEFENSE_MODES = ("cached", "train", "off")
# A photo and its cloak look alike: cloaks are budgeted to stay invisible (Fawkes high's
# DSSIM budget is 0.017, LowKey's cloaks average DSSIM ~0.02-0.03, both well above 25 dB
# PSNR). A pair far beyond that is two different pictures -- e.g. a photo and a sideways
# copy of it (DSSIM ~0.4) -- and would make any recogniser look fooled.
MAX_PAIR_DSSIM = 0.25
MIN_PAIR_PSNR = 15.0  # dB
ATTACKS = ("fawkes_v03", "fawkes_v10", "lowkey")
# The modes of each built-in attack, and every mode name (tests check them against
# `facecure_lib.attacks.ATTACKS`, which the command line must not import: it needs torch).
ATTACK_MODES = {
    "fawkes_v03": ("min", "low", "mid", "high"),
    "fawkes_v10": ("low", "mid", "high"),
    "lowkey": ("default",),
}
MODES = tuple(dict.fromkeys(m for modes in ATTACK_MODES.values() for m in modes))
# The recognisers of each profile, oldest first (tests check them against the live
# `facecure_lib.zoo.available(profile)`: update this when the zoo changes).
EXTRACTORS = {
    "quick": (
        "era1_softmax",
        "surrogate_era1",
        "dlib-resnet",
        "era2_cosface",
        "surrogate_era2",
        "era3_arcface",
        "era3_arcface_seed2",
        "surrogate_era3",
        "era4_robust",
        "generic_vit",
        "era5_vit_tuned",
    ),
    "paper": (
        "dlib-resnet",
        "facenet-casia-webface",
        "facenet-vggface2",
        "arcface-r50-webface600k",
        "clip-vit-b32-openai",
        "clip-vit-b16-laion2b",
    ),
}
MAX_SEED = 2**32 - 1  # the range every random generator in the library accepts
EXIT_CODES = {
    0: "the check ran and the report was written",
    1: "an unexpected failure (add --debug for the traceback)",
    2: "bad input or options: each problem is named, nothing was written",
}


def one_line(path: str | os.PathLike) -> str:
    """A path as a problem list shows it: control characters (a newline) escaped."""
    text = str(path)
    return text if text.isprintable() else ascii(text)[1:-1]


class CheckInputError(ValueError):
    """Input the check cannot use; `problems` holds (path, what is wrong and how to fix it)."""

    def __init__(self, where: str | os.PathLike, problems: list[tuple[str, str]]) -> None:
        self.where = str(where)
        self.problems = list(problems)
        lines = "\n".join(f"  - {one_line(path)}: {msg}" for path, msg in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) with {self.where}:\n{lines}\n"
            "Nothing in your photo folder was changed."
        )


class ReportExistsError(CheckInputError):
    """The report folder already holds report files (pass force=True / --force)."""
