"""What a check measured: one object that the report, the CLI and notebook 06 read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import torch


@dataclass
class CheckResult:
    """Everything the check measured; `to_markdown()` is the report, `to_dict()` its numbers."""

    folder: str
    person: str
    profile: str
    seed: int
    source: str
    pattern: str | None
    attack: str | None
    mode: str | None
    surrogates: list[str]
    gallery: dict
    gallery_photos: list[str]
    probe_photos: list[str]
    table: pd.DataFrame
    detection: dict
    perturbation: dict
    notes: list[str]
    clean_examples: torch.Tensor = field(repr=False)
    cloaked_examples: torch.Tensor = field(repr=False)
    example_titles: list[str] = field(default_factory=list)
    created: str = ""

    @property
    def n_probes(self) -> int:
        return len(self.probe_photos)

    def protection(self) -> dict[str, float]:
        """{recogniser: protection rate}."""
        return dict(zip(self.table["recogniser"], self.table["protection_rate"]))

    def verdict(self) -> str:
        """The plain-language verdict (one paragraph)."""
        from .report import verdict

        return verdict(self)

    def limits(self) -> list[str]:
        """What this check cannot tell (one sentence per item)."""
        from .report import limits

        return limits(self)

    def figure(self, n: int = 4):
        """clean | cloaked | amplified difference for the first n cloaked photos."""
        from ..attacks.figures import plot_cloak_triplets

        return plot_cloak_triplets(
            self.clean_examples, self.cloaked_examples, n=n, titles=self.example_titles
        )

    def to_dict(self) -> dict:
        rows = json.loads(self.table.to_json(orient="records"))
        return {
            "folder": self.folder,
            "person": self.person,
            "profile": self.profile,
            "seed": self.seed,
            "source": self.source,
            "pattern": self.pattern,
            "attack": self.attack,
            "mode": self.mode,
            "surrogates": self.surrogates,
            "gallery": self.gallery,
            "gallery_photos": self.gallery_photos,
            "probe_photos": self.probe_photos,
            "n_probes": self.n_probes,
            "recognisers": rows,
            "protection": self.protection(),
            "detection": self.detection,
            "perturbation": self.perturbation,
            "notes": self.notes,
            "verdict": self.verdict(),
            "limits": self.limits(),
            "created": self.created,
        }

    def to_markdown(self, figure: str | None = "cloak_examples.png") -> str:
        from .report import markdown

        return markdown(self, figure)
