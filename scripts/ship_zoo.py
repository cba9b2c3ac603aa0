"""Copy the quick zoo and notebook 02's robust extractor and its control (quick profile's
config) for the given SEEDs into facecure_lib/assets/zoo/.

    FACECURE_TRAIN_ZOO=1 python scripts/ship_zoo.py --seeds 0 1 2   # retrain, then ship
    python scripts/ship_zoo.py --seeds 0 1 --cached-only   # ship what is cached, train nothing

Run after changing a recipe, the generator, an attack or the profile's `RobustConfig`; the
files are keyed by the same config hash as the cache, so stale files are simply never used
(and are removed here). Training what is not cached takes a while on a CPU (the robust
extractor cloaks public identities first); everything is cached afterwards.
"""

from __future__ import annotations

import argparse
import shutil

from facecure_lib.cache import artefact_path, config_hash
from facecure_lib.defenses import robust
from facecure_lib.profiles import QUICK
from facecure_lib.scenario import load_scenario
from facecure_lib.zoo import QUICK_ZOO, SHIPPED_DIR, load_extractor, model_key


def _cached(key: str) -> bool:
    return artefact_path("extractor", key).with_suffix(".safetensors").exists()


def keys_for(seed: int, cached_only: bool = False) -> dict[str, str]:
    """{what: weights key} of everything shipped for one SEED (training what is missing, or
    with `cached_only` leaving out what is not cached)."""
    sc = load_scenario("quick", seed=seed)
    keys = {}
    for name in QUICK_ZOO:
        key = config_hash(model_key(name, sc))
        if cached_only and not _cached(key):
            print(f"seed {seed} {name}: not cached, left out")
            continue
        load_extractor(name, sc)
        keys[name] = key
    for config in (QUICK.robust, robust.control_config(QUICK.robust)):
        if cached_only and config.base not in keys:
            print(f"seed {seed} {config.base} -> robust/control: base not cached, left out")
            continue
        base = load_extractor(config.base, sc)
        key = config_hash(robust.robust_key(sc, config, base))
        if cached_only and not _cached(key):
            print(f"seed {seed} robust extractor ({config.loss}, {key}): not cached, left out")
            continue
        model = robust.train_robust_extractor(sc, config)
        keys[model.name] = key
    return keys


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument(
        "--cached-only",
        action="store_true",
        help="ship only what is already cached (a seed's zoo in part); train nothing",
    )
    args = ap.parse_args()
    seeds = args.seeds
    SHIPPED_DIR.mkdir(parents=True, exist_ok=True)
    keep = set()
    for seed in seeds:
        for name, key in keys_for(seed, args.cached_only).items():
            src = artefact_path("extractor", key)
            for suffix in (".safetensors", ".json"):
                shutil.copyfile(src.with_suffix(suffix), SHIPPED_DIR / f"{key}{suffix}")
                keep.add(f"{key}{suffix}")
            print(f"seed {seed} {name}: {key}")
    for stale in SHIPPED_DIR.iterdir():
        if stale.name not in keep:
            stale.unlink()


if __name__ == "__main__":
    main()
