"""Design experiments for the quick profile's world (see docs/quick_world.md for the results).

Question: which world makes cloaks behave as in the paper: protecting against contemporary
models they never saw, and failing on newer ones? Two disjoint pools of generated public
identities, one for the attacks' surrogates and one for the trainer's models (as WebFace,
Celeb1M or LowKey's ensemble sit outside the paper's timeline); cloaks of private users
crafted on the surrogates; every trainer model scored by excess protection (protection rate
minus its clean error on the same protocol).

    python scripts/quick_world/sweep.py --seed 0 --pool 1000 --pictures 10 --out sweep0.json

Everything is cached (faces, models, cloaks), so a second run with more models is cheap.
Uses one process and the machine's threads (FACECURE_THREADS).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from facecure_lib.attacks import cloak
from facecure_lib.cache import artefact_path, config_hash, load_weights, save_tensors
from facecure_lib.config import set_threads
from facecure_lib.data.generate import generate_faces
from facecure_lib.models.train import Recipe, fit, freeze, new_extractor
from facecure_lib.recognition import Protocol, evaluate_protection

CNN = Recipe(arch="cnn", widths=(16, 32, 64, 128), batch_size=64)
RES = Recipe(arch="resnet", widths=(24, 48, 96), batch_size=64)

# name -> (pool, recipe, parent)
MODELS: dict[str, tuple[str, Recipe, str | None]] = {
    "s1_softmax": ("attacker", CNN.with_(loss="softmax", seed=11), None),
    "s2_cosface": ("attacker", CNN.with_(loss="cosface", margin=0.25, seed=12), None),
    "s3_arcface": ("attacker", RES.with_(loss="arcface", margin=0.3, seed=13), None),
    "t1_softmax": ("trainer", CNN.with_(loss="softmax", seed=21), None),
    "t2_cosface": ("trainer", CNN.with_(loss="cosface", margin=0.25, seed=22), None),
    "t3_arcface": ("trainer", RES.with_(loss="arcface", margin=0.3, seed=23), None),
    "t4_noise_blur": ("trainer", RES.with_(loss="arcface", augment="noise_blur", seed=24), None),
    "t4_robust": ("trainer", RES.with_(loss="arcface", augment="robust", seed=25), None),
    "t4_robust_lowpass": (
        "trainer",
        RES.with_(loss="arcface", augment="robust", seed=26, input_size=32, antialias=True),
        None,
    ),
    "t5_vit_arcface": (
        "trainer",
        Recipe(arch="vit", widths=(96, 4, 8), batch_size=64, loss="arcface", margin=0.3, seed=30),
        None,
    ),
    "t5_vit_robust": (
        "trainer",
        Recipe(
            arch="vit",
            widths=(96, 4, 8),
            batch_size=64,
            loss="arcface",
            margin=0.3,
            augment="robust",
            seed=31,
        ),
        None,
    ),
    "t5_vit_lowpass": (
        "trainer",
        Recipe(
            arch="vit",
            widths=(96, 4, 4),
            batch_size=64,
            loss="arcface",
            margin=0.3,
            augment="robust",
            input_size=32,
            antialias=True,
            seed=32,
        ),
        None,
    ),
    "t6_vit_ssl": (
        "trainer",
        Recipe(arch="vit", widths=(96, 4, 8), batch_size=64, loss="simclr", seed=33),
        None,
    ),
    "t6_vit_tuned": (
        "trainer",
        Recipe(
            arch="vit",
            widths=(96, 4, 8),
            batch_size=64,
            loss="arcface",
            margin=0.3,
            lr=1e-3,
            seed=34,
        ),
        "t6_vit_ssl",
    ),
    "t5_ssl": ("trainer", CNN.with_(loss="simclr", widths=(24, 48, 96, 128), seed=27), None),
    "t5_tuned": (
        "trainer",
        CNN.with_(loss="cosface", widths=(24, 48, 96, 128), margin=0.25, lr=1e-3, seed=28),
        "t5_ssl",
    ),
    "t5_tuned_robust": (
        "trainer",
        CNN.with_(
            loss="cosface",
            widths=(24, 48, 96, 128),
            margin=0.25,
            lr=1e-3,
            augment="robust",
            seed=29,
        ),
        "t5_ssl",
    ),
}
ATTACKS = {  # attack -> surrogates
    "fawkes_v03": ["s1_softmax"],
    "fawkes_v10": ["s2_cosface", "s3_arcface"],
    "lowkey": ["s2_cosface", "s3_arcface"],
}
POOL_START = {"private": 0, "attacker": 100_000, "trainer": 200_000}


def pool(name: str, args) -> object:
    n, k = (args.private, 20) if name == "private" else (args.pool, args.pictures)
    return generate_faces(
        n, k, 64, seed=args.seed, first_identity=POOL_START[name], appearance=args.appearance
    )


def train(name: str, args, pools: dict) -> torch.nn.Module:
    pool_name, recipe, parent = MODELS[name]
    recipe = recipe.with_(steps=args.steps, seed=recipe.seed + 100 * args.seed)
    key = config_hash(
        {
            "sweep": 1,
            "name": name,
            "recipe": recipe.to_dict(),
            "parent": parent,
            "pool": pool_name,
            "n": args.pool,
            "k": args.pictures,
            "seed": args.seed,
            "appearance": args.appearance,
            "parent_key": parent and config_hash([parent, args.seed, args.pool]),
        }
    )
    model = new_extractor(recipe, name, cache_key=f"sweep-{name}-{key}")
    path = artefact_path("sweep_model", key)
    if load_weights(model, path) is not None:
        return freeze(model)
    if parent:
        model.load_state_dict(train(parent, args, pools).state_dict())
        for p in model.parameters():
            p.requires_grad_(True)
    ds = pools[pool_name]
    start = time.perf_counter()
    fit(model, ds.images, ds.labels, recipe, progress=True, desc=f"training {name}")
    print(f"  trained {name} in {time.perf_counter() - start:.0f} s", flush=True)
    save_tensors(path, model.state_dict(), {"name": name})
    return freeze(model)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pool", type=int, default=1000)
    ap.add_argument("--pictures", type=int, default=10)
    ap.add_argument("--private", type=int, default=50)
    ap.add_argument("--attackers", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--appearance", type=float, default=1.0)
    ap.add_argument("--models", default=",".join(m for m in MODELS if m.startswith("t")))
    ap.add_argument("--v03-steps", type=int, default=None, help="Fawkes v0.3 steps override")
    ap.add_argument("--v03-surrogates", default=None, help="Fawkes v0.3 surrogates (comma list)")
    ap.add_argument(
        "--interp", default="", help="generic,tuned[,alpha...]: also score weight interpolations"
    )
    ap.add_argument("--out", default="sweep.json")
    args = ap.parse_args()
    set_threads()
    t0 = time.perf_counter()
    pools = {p: pool(p, args) for p in ("private", "attacker", "trainer")}
    print(f"faces: {time.perf_counter() - t0:.0f} s", flush=True)
    private = pools["private"]
    proto = Protocol.build(
        private,
        list(range(private.n_identities)),
        args.attackers,
        split_seed=10,
        attacker_seed=args.seed,
    )
    if args.v03_surrogates:
        ATTACKS["fawkes_v03"] = args.v03_surrogates.split(",")
    surrogates = {n: train(n, args, pools) for n in {s for v in ATTACKS.values() for s in v}}
    targets = {
        i: pools["attacker"].float_images(pools["attacker"].indices_of(i)[:4])
        for i in range(min(200, pools["attacker"].n_identities))
    }
    cloaks = {}
    for attack, names in ATTACKS.items():
        start = time.perf_counter()
        out = {}
        users = list(proto.attackers)
        if attack == "fawkes_v03":
            extra = {"steps": args.v03_steps} if args.v03_steps else {}
            for u in users:
                out[u] = cloak(
                    attack,
                    proto.user_train_images(u),
                    [surrogates[n] for n in names],
                    seed=args.seed + u,
                    target_pool=targets,
                    progress=False,
                    **extra,
                ).images
        else:
            pics = [proto.user_train_images(u) for u in users]
            res = cloak(
                attack,
                torch.cat(pics),
                [surrogates[n] for n in names],
                seed=args.seed,
                progress=False,
            )
            out = dict(zip(users, torch.split(res.images, [len(p) for p in pics])))
        cloaks[attack] = out
        print(f"cloaks {attack}: {time.perf_counter() - start:.0f} s", flush=True)
    rows = {}
    candidates = {n: None for n in [*surrogates, *args.models.split(",")]}
    if args.interp:
        generic, tuned, *alphas = args.interp.split(",")
        for a in alphas or ["0.5"]:
            candidates[f"interp_{a}"] = (generic, tuned, float(a))
    for name, spec in candidates.items():
        if spec is not None:
            from facecure_lib.interpolation import interpolated_extractor

            model = interpolated_extractor(
                train(spec[0], args, pools), train(spec[1], args, pools), spec[2]
            )
        else:
            model = surrogates.get(name) or train(name, args, pools)
        row = {}
        for attack, c in cloaks.items():
            r = evaluate_protection(model, proto, c)
            per_user = np.array(list(r.per_user.values()))
            row[attack] = {
                "protection": r.mean,
                "excess": r.mean - r.clean_error,
                "per_user": per_user.tolist(),
            }
            row["clean_error"] = r.clean_error
        rows[name] = row
        print(
            f"{name:20s} clean_err {row['clean_error']:.3f} "
            + "  ".join(f"{a} {row[a]['excess']:+.2f}" for a in ATTACKS),
            flush=True,
        )
    json.dump(
        {"args": vars(args), "rows": rows, "seconds": time.perf_counter() - t0},
        open(args.out, "w"),
        indent=1,
    )


if __name__ == "__main__":
    main()
