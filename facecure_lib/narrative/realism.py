"""Notebook 00: how realistic are the generated faces, judged by a real face recogniser?"""

from __future__ import annotations

from collections.abc import Mapping

from . import pct


def generated_faces(reports: Mapping[str, Mapping], real: str, pixel_accuracy: float) -> str:
    """The real recogniser's 1-NN accuracy and distances next to the package's own models and
    a raw-pixel baseline, and what the gap means."""
    r = reports[real]
    own = {m: v["nn_accuracy"] for m, v in reports.items() if m != real}
    best = max(own, key=own.get) if own else None
    text = (
        f"**Realism check.** {real}, a real recogniser trained on millions of real faces "
        f"and never on ours, finds the right identity for {pct(r['nn_accuracy'])} of the "
        "probes (1-NN)"
    )
    if best is not None:
        text += f", against {pct(own[best])} for the best of our own models ({best})"
    text += (
        f"; a linear projection of the raw pixels reaches {pct(pixel_accuracy)}. It calls "
        f"{pct(r['diff_under_threshold'])} of the pairs of *different* generated people "
        f"the same person (distance under {r['threshold']:g}), and "
        f"{pct(r['same_under_threshold'])} of the same-person pairs. "
    )
    if r["nn_accuracy"] < pixel_accuracy - 0.1:
        text += (
            "So much of what tells our identities apart is colour and texture that a real "
            "face model is trained to ignore, rather than facial geometry: our models' "
            "results are about this world, and the notebooks say so where it matters."
        )
    else:
        text += (
            "So a real face model tells our identities apart about as well as raw pixels "
            "do: identity lives in the faces here, as it does in photos."
        )
    return text
