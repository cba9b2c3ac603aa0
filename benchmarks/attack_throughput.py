"""Throughput of the white-box cloaks and their overhead over the surrogates' own cost.

For each attack and mode: pictures per second, and the ratio of the attack's wall time to
the bare forward+backward time of the surrogate passes it needs (same batch, same number
of passes, measured in the same run). Goal: ratio <= 1.3.

    python benchmarks/attack_throughput.py            # every attack and mode
    python benchmarks/attack_throughput.py --quick    # mid modes only, fewer repeats
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F

from facecure_lib.attacks import ATTACKS, attack_params, cloak
from facecure_lib.models.base import Extractor


def small_cnn(seed: int, size: int = 64) -> Extractor:
    """Stand-in surrogate (SmallCNN's default shape) when no trained zoo is available."""
    from torch import nn

    torch.manual_seed(seed)
    layers, cin = [], 3
    for i, w in enumerate((32, 64, 128, 128)):
        layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
        if i < 3:
            layers.append(nn.MaxPool2d(2))
        cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 128)]
    return Extractor(
        nn.Sequential(*layers), f"bench_cnn{seed}", size, cache_key=f"bench_cnn{seed}"
    ).eval()


def zoo_setup(train: bool) -> tuple[list[Extractor], torch.Tensor, dict, str] | None:
    """Two quick-profile zoo extractors and one attacking user's scraped pictures.

    Uses extractors already trained (cached) unless `train`; None when the zoo cannot help.
    """
    try:
        from facecure_lib import zoo
        from facecure_lib.cache import artefact_path, config_hash
        from facecure_lib.scenario import load_scenario

        sc = load_scenario("quick", progress=False)
        names = zoo.available("quick")[:2]
        cached = all(
            artefact_path("extractor", config_hash(zoo.model_key(n, sc))).exists() for n in names
        )
        if len(names) < 2 or not (cached or train):
            return None
        models = [
            zoo.load_extractor(n, sc, device=torch.device("cpu"), progress=False) for n in names
        ]
        user = sc.protocol.attackers[0]
        x = sc.protocol.user_train_images(user)
        ds = sc.ds
        pool = {int(k): ds.float_images(ds.indices_of(k)[:5]) for k in sc.public[:30]}
        return models, x, pool, "zoo: " + ", ".join(names) + f"; attacker {user}"
    except Exception as err:  # zoo or scenario API not there (yet)
        print(f"(zoo unavailable: {type(err).__name__}: {err})")
        return None


def fallback_setup(n: int, size: int) -> tuple[list[Extractor], torch.Tensor, dict, str]:
    """Random SmallCNN-shaped surrogates and smooth textured pictures."""
    pool = {f"other{i}": pictures(5, size, seed=100 + i) for i in range(30)}
    return (
        [small_cnn(1, size), small_cnn(2, size)],
        pictures(n, size),
        pool,
        "random SmallCNN-shaped (32-64-128-128)",
    )


def pictures(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Smooth, textured, 8-bit pictures."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(n, 3, 8, 8, generator=g), size=size, mode="bicubic")
    x = x + 0.05 * torch.rand(n, 3, size, size, generator=g)
    return (x.clamp(0, 1) * 255).round() / 255


def bare_seconds(models: list[Extractor], x: torch.Tensor, reps: int) -> float:
    """Mean seconds of one forward+backward (w.r.t. the input) through every model.

    Consecutive passes after one warm-up, like an attack's steps (a mean, not a best-of, so
    that it compares fairly with the attack's own wall time on a busy machine).
    """
    for m in models:
        m.eval().requires_grad_(False)

    def one() -> None:
        for m in models:
            xa = x.clone().requires_grad_(True)
            m(xa).sum().backward()

    one()
    start = time.perf_counter()
    for _ in range(reps):
        one()
    return (time.perf_counter() - start) / reps


def passes(attack: str, models: list[Extractor], params: dict, x: torch.Tensor) -> tuple:
    """(models, batch) that one step of the attack pushes through forward and backward."""
    if attack == "fawkes_v03":
        return models[:1], x
    if attack == "fawkes_v10":
        return models[: params["n_extractors"]], x
    return models, torch.cat([x] * 4)  # LowKey: plain, blurred, and both flipped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="mid/default modes only")
    ap.add_argument("--n", type=int, default=14, help="pictures per call (one user)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--train-zoo",
        action="store_true",
        help="train the zoo extractors if they are not cached yet",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    setup = zoo_setup(args.train_zoo) or fallback_setup(args.n, args.size)
    models, x, pool, origin = setup
    print(
        f"surrogates: {origin}; {x.shape[0]} pictures of {x.shape[-1]} px; "
        f"{torch.get_num_threads()} threads; profile {args.profile}"
    )
    print(
        f"{'attack':<11} {'mode':<8} {'steps':>5} {'seconds':>8} {'img/s':>7} "
        f"{'bare s':>7} {'ratio':>6}"
    )
    for attack, spec in ATTACKS.items():
        for mode in spec.modes:
            if args.quick and mode not in ("mid", "default"):
                continue
            _, params, _ = attack_params(attack, mode, args.profile)
            kw = {"target_pool": pool} if spec.targeted else {}
            res = cloak(
                attack,
                x,
                models,
                mode=mode,
                profile=args.profile,
                cache=False,
                progress=False,
                **kw,
            )
            used, batch = passes(attack, models, params, x)
            reps = min(params["steps"], 10 if args.quick else 50)
            bare = bare_seconds(used, batch, reps) * params["steps"]
            print(
                f"{attack:<11} {mode:<8} {params['steps']:>5} {res.seconds:>8.2f} "
                f"{x.shape[0] / res.seconds:>7.2f} {bare:>7.2f} {res.seconds / bare:>6.2f}"
            )


if __name__ == "__main__":
    main()
