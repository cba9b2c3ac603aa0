"""Copy the quick zoo and notebook 02's robust extractor and its control (quick profile's
config) for the given SEEDs into facecure_lib/assets/zoo/.

    FACECURE_TRAIN_ZOO=1 python scripts/ship_zoo.py --seeds 0 1 2   # retrain, then ship

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


def keys_for(seed: int) -> dict[str, str]:
    """{what: weights key} of everything shipped for one SEED (training what is missing)."""
    sc = load_scenario("quick", seed=seed)
    keys = {}
    for name in QUICK_ZOO:
        load_extractor(name, sc)
        keys[name] = config_hash(model_key(name, sc))
    for config in (QUICK.robust, robust.control_config(QUICK.robust)):
        model = robust.train_robust_extractor(sc, config)
        base = load_extractor(config.base, sc)
        keys[model.name] = config_hash(robust.robust_key(sc, config, base))
    return keys


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    seeds = ap.parse_args().seeds
    SHIPPED_DIR.mkdir(parents=True, exist_ok=True)
    keep = set()
    for seed in seeds:
        for name, key in keys_for(seed).items():
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
