"""Throughput of the white-box cloaks, their overhead over the surrogates' own cost, and
where the rest of the time goes.

For each attack and mode: the attack's wall time (median of `--repeats` runs), pictures per
second, and two ratios: to the bare forward+backward time of the surrogate passes of its
steps ("ratio", goal <= 1.3), and to all the surrogate passes it needs, the forward passes
outside the loop included (Fawkes v0.3 embeds its target pool; every attack embeds the
clean pictures and checks its last step). Then a breakdown of the attack's time: the
surrogates' passes, and each extra (tanh reparametrisation, DSSIM, optimiser, keeping the
best step, projection, blur, set-up and finish) timed on its own with the same shapes;
"other" is what is left (Python, allocation, noise). Measured on one thread by default.

    python benchmarks/attack_throughput.py              # every attack and mode
    python benchmarks/attack_throughput.py --quick      # mid modes only, fewer repeats
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torchvision.transforms.functional import gaussian_blur

from facecure_lib.attacks import ATTACKS, DSSIMTo, attack_params, cloak
from facecure_lib.attacks import fawkes as fawkes_mod
from facecure_lib.attacks.core import enforce_budget, from_tanh, quantize, to_tanh
from facecure_lib.models.base import Extractor

Timer = Callable[[], None]


def zoo_setup(train: bool, n: int) -> tuple[list[Extractor], torch.Tensor, dict, str]:
    """Two quick-zoo extractors and one attacking user's pictures. Trained weights when
    cached (or with `train`), else the same architectures untrained: a pass costs the same."""
    from facecure_lib import zoo
    from facecure_lib.cache import artefact_path
    from facecure_lib.models.train import freeze, new_extractor
    from facecure_lib.scenario import load_scenario

    sc = load_scenario("quick", progress=False)
    names = zoo.available("quick")[:2]
    cached = all(artefact_path("extractor", zoo.weights_key(m, sc)).exists() for m in names)
    if cached or train:
        models = [zoo.load_extractor(m, sc, torch.device("cpu"), progress=False) for m in names]
        origin = "zoo (trained)"
    else:
        models = [freeze(new_extractor(zoo.QUICK_ZOO[m].recipe, m, m)) for m in names]
        origin = "zoo architectures, untrained (same cost per pass)"
    user = sc.protocol.attackers[0]
    x = sc.protocol.user_train_images(user)[:n]
    ds = sc.ds
    pool = {int(k): ds.float_images(ds.indices_of(k)[:5]) for k in sc.public[:30]}
    return models, x, pool, f"{origin}: {', '.join(names)}; attacker {user}"


def per_call(fn: Timer, reps: int) -> float:
    """Mean seconds of `fn()` over `reps` consecutive calls after one warm-up."""
    fn()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def fwd_bwd(models: list[Extractor], x: torch.Tensor) -> Timer:
    """One forward+backward (w.r.t. the input) through every model: a step's surrogate cost."""

    def one() -> None:
        for m in models:
            xa = x.clone().requires_grad_(True)
            m(xa).sum().backward()

    return one


def fwd(models: list[Extractor], x: torch.Tensor) -> Timer:
    def one() -> None:
        with torch.no_grad():
            for m in models:
                m(x)

    return one


def step_batch(attack: str, x: torch.Tensor) -> torch.Tensor:
    """The batch one step pushes through each surrogate (LowKey: 4 views)."""
    return torch.cat([x] * 4) if attack == "lowkey" else x


def outside_seconds(attack, models, x, pool, reps) -> float:
    """Bare time of the surrogate forward passes outside the loop (clean pictures, last
    step; Fawkes v0.3 also embeds its target pool)."""
    batch = step_batch(attack, x)
    outside = 2 * per_call(fwd(models, batch), reps)
    if attack == "fawkes_v03":
        pictures = torch.cat([torch.as_tensor(v) for v in pool.values()])
        outside += per_call(fwd(models, pictures), max(1, reps // 5))
    return outside


def fawkes_extras(
    attack, params, x, over_steps: int, over_pictures: int, reps: int
) -> dict[str, float]:
    """Per-attack extras of a Fawkes run, each timed alone with the run's shapes."""
    steps, th = params["steps"], params["th"]
    dssim = DSSIMTo(x)
    w = to_tanh(x).requires_grad_(True)
    lo, hi = (x - 15 / 255).clamp(0, 1), (x + 15 / 255).clamp(0, 1)

    def image() -> torch.Tensor:
        xa = from_tanh(w)
        return torch.minimum(torch.maximum(xa, lo), hi) if attack == "fawkes_v10" else xa

    def tanh_pass() -> None:
        image().sum().backward()

    def dssim_fwd() -> None:
        with torch.no_grad():
            dssim(x)

    k = max(1, round(over_pictures / max(1, over_steps)))  # mean pictures over the budget
    part = dssim.subset(torch.arange(k))

    def penalty_fwd_bwd() -> None:
        part(x[:k].clone().requires_grad_(True)).sum().backward()

    opt = torch.optim.Adadelta([w], lr=params["lr"], rho=0.95, eps=1e-7)
    w.grad = torch.randn_like(w) * 1e-3
    best, best_v = x.clone(), torch.zeros(x.shape[0])

    def keep_best() -> None:
        with torch.no_grad():
            better = (torch.rand(x.shape[0]) * 2 * th < th) & (torch.rand(x.shape[0]) > best_v)
            best[better] = x[better]
            best_v[better] = 1.0

    out = {
        "tanh reparametrisation (fwd+bwd)": per_call(tanh_pass, reps) * steps,
        "DSSIM of every picture (fwd)": per_call(dssim_fwd, reps) * steps,
        "DSSIM penalty of pictures over budget (fwd+bwd)": per_call(penalty_fwd_bwd, reps)
        * over_steps,
        "Adadelta step": per_call(opt.step, reps) * steps,
        "keep the best step": per_call(keep_best, reps) * steps,
    }
    if attack == "fawkes_v10":
        c = torch.ones(x.shape[0])
        d = torch.rand(x.shape[0]) * 2 * th
        project = getattr(fawkes_mod, "project_box_", None)  # absent before issue 21
        out["projection to +-15/255 (float64 tanh)"] = (
            per_call(lambda: project(w, lo, hi), reps) * steps if project else float("nan")
        )
        out["balance c update"] = per_call(lambda: torch.where(d <= 0.9 * th, c * 2, c), reps) * (
            2 * steps
        )
    return out


def lowkey_extras(params, x, reps: int) -> dict[str, float]:
    """Per-step extras of a LowKey run (its DSSIM penalty, the blur, the flip, the step)."""
    steps, k, s = params["steps"], params["blur_kernel"], params["blur_sigma"]
    dssim = DSSIMTo(x)

    def blur_flip() -> None:
        xa = x.clone().requires_grad_(True)
        z = torch.cat([xa, gaussian_blur(xa, [k, k], [s, s])])
        torch.cat([z, z.flip(-1)]).sum().backward()

    def perceptual() -> None:
        dssim(x.clone().requires_grad_(True)).sum().backward()

    g = torch.randn_like(x)
    return {
        "blur + flip views (fwd+bwd)": per_call(blur_flip, reps) * steps,
        "DSSIM penalty (fwd+bwd)": per_call(perceptual, reps) * steps,
        "signed step + clamp": per_call(lambda: (x + 0.01 * g.sign()).clamp(0, 1), reps) * steps,
    }


def fixed_extras(attack, params, x, pool, models, reps: int) -> dict[str, float]:
    """Once-per-call extras: set-up (tanh, DSSIM statistics), target choice, finish."""

    def setup() -> None:
        DSSIMTo(x)
        to_tanh(x)

    out = {"set-up (DSSIM reference, tanh)": per_call(setup, reps)}
    if attack == "fawkes_v03":
        with torch.no_grad():
            emb = models[0](x)
            cents = torch.stack([models[0](torch.as_tensor(v)).mean(0) for v in pool.values()])
        g = torch.Generator().manual_seed(0)
        out["target choice (ranking the pool)"] = per_call(
            lambda: fawkes_mod.select_target(emb, cents, g), reps
        )
    budget = 1.1 * params["th"] if "th" in params else None
    out["finish (8-bit rounding, budget check)"] = per_call(
        lambda: enforce_budget(x, quantize(x), budget, params.get("max_change"), True), reps
    )
    return out


def run_attack(
    attack, mode, models, x, pool, profile, repeats, bare: Callable[[], float]
) -> tuple[float, float, int, int]:
    """(median wall seconds of the attack, median bare seconds of its loop's surrogate
    passes, measured right after each run so that both see the same machine load; steps
    whose DSSIM penalty was active; pictures over the budget summed over the steps)."""
    spec = ATTACKS[attack]
    counted: list[int] = []
    real = getattr(fawkes_mod, "budget_penalty", None)  # absent before issue 21

    def counting(dssim, xa, d, th, const):
        counted.append(int((d > th).sum()))
        return real(dssim, xa, d, th, const)

    if real is not None:
        fawkes_mod.budget_penalty = counting  # counts the steps whose penalty is active
    try:
        times, bares = [], []
        for _ in range(repeats):
            counted.clear()
            res = cloak(
                attack,
                x,
                models,
                mode=mode,
                profile=profile,
                cache=False,
                progress=False,
                target_pool=pool if spec.targeted else None,
            )
            times.append(res.seconds)
            bares.append(bare())
    finally:
        if real is not None:
            fawkes_mod.budget_penalty = real
    median = statistics.median
    return median(times), median(bares), sum(c > 0 for c in counted), sum(counted)


def measure(attack, mode, models, x, pool, profile, repeats, reps, breakdown=True) -> dict:
    """Everything the tables print for one attack and mode (`breakdown=False`: the ratios
    only, e.g. to measure an older version of the library with this script)."""
    _, params, _ = attack_params(attack, mode, profile)
    used = models[:1] if attack == "fawkes_v03" else models[: params.get("n_extractors", 2)]
    loop_pass = fwd_bwd(used, step_batch(attack, x))
    seconds, loop, over, over_pictures = run_attack(
        attack,
        mode,
        models,
        x,
        pool,
        profile,
        repeats,
        lambda: per_call(loop_pass, min(reps, params["steps"])) * params["steps"],
    )
    parts = {
        "surrogates, loop (fwd+bwd)": loop,
        "surrogates, outside the loop (fwd)": outside_seconds(attack, used, x, pool, reps),
    }
    if breakdown and attack == "lowkey":
        parts.update(lowkey_extras(params, x, reps))
    elif breakdown:
        parts.update(fawkes_extras(attack, params, x, over, over_pictures, reps))
    if breakdown:
        parts.update(fixed_extras(attack, params, x, pool, used, reps))
    parts["other (Python, allocation, noise)" if breakdown else "rest"] = seconds - sum(
        parts.values()
    )
    every_pass = loop + parts["surrogates, outside the loop (fwd)"]
    return {
        "attack": attack,
        "mode": mode,
        "steps": params["steps"],
        "over": over,
        "over_pictures": over_pictures,
        "seconds": seconds,
        "img_s": x.shape[0] / seconds,
        "bare": loop,
        "ratio": seconds / loop,
        "ratio_all": seconds / every_pass,
        "parts": parts,
    }


def print_tables(rows: list[dict]) -> None:
    print(
        f"{'attack':<11} {'mode':<8} {'steps':>5} {'seconds':>8} {'img/s':>7} "
        f"{'bare s':>7} {'ratio':>6} {'all passes':>10}"
    )
    for r in rows:
        print(
            f"{r['attack']:<11} {r['mode']:<8} {r['steps']:>5} {r['seconds']:>8.2f} "
            f"{r['img_s']:>7.2f} {r['bare']:>7.2f} {r['ratio']:>6.2f} {r['ratio_all']:>10.2f}"
        )
    print("\nwhere the time goes (% of the attack's wall time; bare loop passes = 'ratio' base)")
    for r in rows:
        head = (
            f"{r['attack']} {r['mode']} ({r['steps']} steps; {r['over']} with pictures over "
            f"the DSSIM budget, {r['over_pictures']} pictures in all)"
        )
        print(head)
        for name, sec in r["parts"].items():
            print(f"  {name:<48} {sec:>7.3f} s {100 * sec / r['seconds']:>6.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="mid/default modes only")
    ap.add_argument("--n", type=int, default=14, help="pictures per call (one user)")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="attack runs per mode (median)")
    ap.add_argument(
        "--train-zoo", action="store_true", help="train the zoo extractors if not cached"
    )
    ap.add_argument("--ratios-only", action="store_true", help="no breakdown (older versions)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    models, x, pool, origin = zoo_setup(args.train_zoo, args.n)
    print(
        f"surrogates: {origin}; {x.shape[0]} pictures of {x.shape[-1]} px; "
        f"{torch.get_num_threads()} thread(s); profile {args.profile}; median of "
        f"{1 if args.quick else args.repeats} run(s)"
    )
    rows = []
    for attack, spec in ATTACKS.items():
        for mode in spec.modes:
            if args.quick and mode not in ("mid", "default"):
                continue
            repeats, reps = (1, 10) if args.quick else (args.repeats, 30)
            rows.append(
                measure(
                    attack, mode, models, x, pool, args.profile, repeats, reps, not args.ratios_only
                )
            )
    print_tables(rows)


if __name__ == "__main__":
    main()
