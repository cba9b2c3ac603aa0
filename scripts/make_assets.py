"""Build the figures the README and docs show (`make assets`): `assets/teaser.png`.

The teaser states the paper's argument with numbers this script computes, in about half a
minute on one CPU core, from tiny generated data (quick profile code paths, small sizes):

1. the user cloaks their photos once (Fawkes v1.0-style, against the recogniser of the day)
   and posts them; that recogniser is fooled;
2. the trainer moves second: a model trained later on its own data, and the same model
   fine-tuned on pictures it cloaked itself with the public attack (the adaptive trainer,
   paper §3.3), are asked to recognise the user's clean photos.

    python scripts/make_assets.py            # writes assets/teaser.png (+ teaser.json)
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SIZE, IDENTITIES, PER_IDENTITY, PUBLIC, ATTACKERS = 32, 60, 12, 40, 6
STEPS, ADAPT_STEPS, CLOAKED_PUBLIC = 200, 120, 3  # the trainer cloaks 1 public picture in 3
TINY = {"arch": "cnn", "widths": (16, 32, 64), "embedding_dim": 64, "batch_size": 64}


@dataclass
class Teaser:
    """What the teaser shows: example pictures and the measured protection rates."""

    clean: torch.Tensor  # [k, 3, S, S] float
    cloaked: torch.Tensor
    rates: dict[str, float]  # stage -> mean protection over the attacking users
    clean_error: dict[str, float]  # stage -> the same model's error with clean photos
    seconds: float


def train_tiny(scenario, name: str, seed: int, steps: int):
    """A small CNN trained on the scenario's public identities (seconds on one core)."""
    from facecure_lib.models.train import Recipe, fit, freeze, new_extractor

    recipe = Recipe(**TINY, input_size=SIZE, loss="cosface", steps=steps, seed=seed)
    model = new_extractor(recipe, name, cache_key=f"teaser-{name}-{seed}")
    fit(model, scenario.public_images, scenario.public_labels, recipe, progress=False)
    return freeze(model), recipe


def adapt(model, recipe, scenario, cloaked: torch.Tensor, labels: torch.Tensor, steps: int):
    """The adaptive trainer: fine-tune on its public pictures, clean and self-cloaked."""
    import copy

    from facecure_lib.models.train import fit, freeze

    tuned = copy.deepcopy(model)
    for p in tuned.parameters():
        p.requires_grad_(True)
    images = torch.cat([scenario.public_images, (cloaked * 255).round().byte()])
    labels = torch.cat([scenario.public_labels, labels])
    fit(
        tuned,
        images,
        labels,
        recipe.with_(steps=steps, lr=1e-3, seed=recipe.seed + 1),
        progress=False,
    )
    tuned.name = f"{model.name}_adaptive"
    tuned.cache_key = f"{model.cache_key}-adaptive-{steps}"
    return freeze(tuned)


def protection(model, scenario, cloaks: dict) -> tuple[float, float]:
    """(mean protection of the attacking users with their cloaks, the same without)."""
    from facecure_lib.recognition import evaluate_protection

    users = scenario.protocol.attackers
    cloaked = evaluate_protection(model, scenario.protocol, cloaks, device=torch.device("cpu"))
    clean = evaluate_protection(model, scenario.protocol, {}, device=torch.device("cpu"))
    return (
        float(np.mean([cloaked.per_user[u] for u in users])),
        float(np.mean([clean.per_user[u] for u in users])),
    )


def compute(seed: int = 0) -> Teaser:
    """Generate the world, cloak, train, adapt and measure (deterministic from `seed`)."""
    from facecure_lib.attacks import cloak
    from facecure_lib.data.generate import generate_faces
    from facecure_lib.scenario import load_scenario

    start = time.perf_counter()
    ds = generate_faces(IDENTITIES, PER_IDENTITY, SIZE, seed=seed, cache=False, progress=False)
    scenario = load_scenario(
        "quick", seed, dataset=ds, n_public=PUBLIC, n_attackers=ATTACKERS, progress=False
    )
    surrogate, _ = train_tiny(scenario, "posting_time", seed=1, steps=STEPS)
    later, recipe = train_tiny(scenario, "later", seed=2, steps=STEPS)

    def run(images: torch.Tensor) -> torch.Tensor:
        res = cloak(
            "fawkes_v10", images, [surrogate], mode="low", seed=seed, cache=False, progress=False
        )
        return res.images

    cloaks = {u: run(scenario.protocol.user_train_images(u)) for u in scenario.protocol.attackers}
    own = slice(None, None, CLOAKED_PUBLIC)  # the trainer runs the public attack itself
    own_cloaks = run(scenario.public_images[own].float() / 255)
    adaptive = adapt(later, recipe, scenario, own_cloaks, scenario.public_labels[own], ADAPT_STEPS)
    rates, errors = {}, {}
    for stage, model in (("posting", surrogate), ("later", later), ("adaptive", adaptive)):
        rates[stage], errors[stage] = protection(model, scenario, cloaks)
    user = scenario.protocol.attackers[0]
    clean = scenario.protocol.user_train_images(user)[:3]
    return Teaser(clean, cloaks[user][:3], rates, errors, time.perf_counter() - start)


def draw(t: Teaser):
    """Faces (clean, cloaked, difference x10) beside the three stages' protection rates."""
    from matplotlib.figure import Figure

    from facecure_lib.plots import COLORS, PALETTE, to_hwc

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    faces, bars = fig.subfigures(1, 2, width_ratios=[1, 1.5])
    axes = faces.subplots(3, 3)
    for i in range(3):
        diff = (0.5 + 10 * (t.cloaked[i] - t.clean[i])).clamp(0, 1)
        for j, (img, label) in enumerate(
            ((t.clean[i], "clean"), (t.cloaked[i], "cloaked"), (diff, "difference x10"))
        ):
            axes[i, j].imshow(to_hwc(img))
            axes[i, j].axis("off")
            if i == 0:
                axes[i, j].set_title(label, fontsize=9)
    faces.suptitle("1. The user cloaks once, and posts", fontsize=10)
    ax = bars.subplots()
    stages = ["posting", "later", "adaptive"]
    labels = [
        "recogniser of the day\n(the cloak's target)",
        "a model trained later\n(oblivious trainer)",
        "the later model, tuned on\nself-cloaked pictures",
    ]
    colours = [PALETTE["baseline"], COLORS[0], COLORS[2]]
    hatches = ["", "//", "xx"]
    for x, (s, c, h) in enumerate(zip(stages, colours, hatches)):
        ax.bar(x, t.rates[s], color=c, hatch=h, edgecolor="k", lw=0.5, width=0.6)
        top = max(t.rates[s], t.clean_error[s]) + 0.03
        ax.text(x, top, f"{100 * t.rates[s]:.0f}%", ha="center", fontsize=10)
        ax.plot([x - 0.3, x + 0.3], [t.clean_error[s]] * 2, "k--", lw=1)
    ax.plot([], [], "k--", lw=1, label="error with clean photos")
    ax.set_xticks(range(3), labels, fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("protection (user's clean photos missed)")
    ax.legend(fontsize=8, loc="upper right")
    bars.suptitle("2. The trainer moves second", fontsize=10)
    fig.supxlabel(
        f"Computed by scripts/make_assets.py: {IDENTITIES} generated identities ({PUBLIC} the "
        f"trainer's own), {SIZE} px, small CNNs, Fawkes v1.0-style cloak (low), mean over "
        f"{ATTACKERS} users.",
        fontsize=7,
        color=PALETTE["clean"],
    )
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "assets")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    teaser = compute(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    draw(teaser).savefig(args.out / "teaser.png", dpi=110)
    summary = {"protection": teaser.rates, "clean_error": teaser.clean_error, "seed": args.seed}
    (args.out / "teaser.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{args.out / 'teaser.png'} in {teaser.seconds:.0f} s: {json.dumps(summary)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
