"""Choose the quick detector's recipe on validation users (issue 18), never on the reported
held-out users: trainer-pool people outside the detector's training users, whose pictures
are cloaked with each Fawkes mode and with LowKey; every candidate recipe trains the mixed
Fawkes detector and the LowKey detector exactly as notebook 03 does, and is scored on them.

    FACECURE_THREADS=1 python scripts/quick_world/detector_validation.py --seed 0 \
        --out docs/detector_validation.json

The rule, fixed before any number was seen: the highest mean validation AUC over the four
test sets (Fawkes low, mid, high, LowKey); ties within 0.005 go to the candidate listed
first (the cheaper). Everything is cached.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from facecure_lib.defenses import detection as D
from facecure_lib.experiments import load_surrogates
from facecure_lib.profiles import get_profile
from facecure_lib.scenario import load_scenario


def candidates(base: D.DetectorRecipe) -> dict[str, D.DetectorRecipe]:
    """The recipes compared, the cheaper first."""
    return {
        "probe, 64 px": base.with_(input_size=64, train_from=6),
        "probe, 128 px": base.with_(input_size=128, train_from=6),
        "probe, 128 px, earlier stages": base.with_(input_size=128, train_from=4),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    sc = load_scenario("quick", args.seed)
    profile = get_profile("quick")
    sizes = profile.detection_sizes
    train_users, _ = D.scenario_users(sc, sizes, args.seed)
    rest = [u for u in range(sc.pool_size("trainer")) if u not in set(train_users)]
    rng = np.random.default_rng([args.seed, 5])
    val_users = sorted(rng.choice(rest, size=args.users, replace=False).tolist())
    pool = sc.pool_part("trainer", val_users)
    ids = list(range(len(val_users)))
    sets = {}
    for key in D.DETECTION_ATTACKS:
        attack, mode, _ = D.resolve_attack(key)
        sur = load_surrogates(attack, sc, progress=False)
        sets[key] = D.detection_set(pool, ids, key, sur, mode, 4, args.seed + 7, progress=False)
    table = {}
    for name, recipe in candidates(profile.detector).items():
        aucs = {}
        for key, data in sets.items():
            det_name = D.DETECTOR_OF[key]
            sur = load_surrogates(D.resolve_attack(det_name)[0], sc, progress=False)
            det = D.get_detector(sc, det_name, "high", None, False, recipe, sizes, sur, args.seed)
            aucs[key] = D.evaluate_detector(det, data).metrics["auc"]
        table[name] = {"auc": aucs, "mean_auc": float(np.mean(list(aucs.values())))}
        print(name, {k: round(v, 3) for k, v in aucs.items()}, flush=True)
    best = max(table.values(), key=lambda r: r["mean_auc"])["mean_auc"]
    chosen = next(n for n, r in table.items() if r["mean_auc"] >= best - 0.005)
    print("chosen:", chosen)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(
                {
                    "seed": args.seed,
                    "validation_users": val_users,
                    "rule": __doc__.split("The rule, ")[1].split("Everything")[0].strip(),
                    "candidates": {n: r.to_dict() for n, r in candidates(profile.detector).items()},
                    "results": table,
                    "chosen": chosen,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
