"""Copy the quick zoo and notebook 02's robust extractor (default scenario) into
facecure_lib/assets/zoo/.

    FACECURE_TRAIN_ZOO=1 python scripts/ship_zoo.py   # retrain from scratch, then ship

Run after changing a recipe, the generator, an attack or `RobustConfig`'s defaults; the
files are keyed by the same config hash as the cache, so stale files are simply never used
(and are removed here). The robust extractor is built from cloaks of the public identities
(several minutes on a CPU the first time; cached afterwards).
"""

from __future__ import annotations

import shutil

from facecure_lib.cache import artefact_path, config_hash
from facecure_lib.defenses import robust
from facecure_lib.scenario import load_scenario
from facecure_lib.zoo import QUICK_ZOO, SHIPPED_DIR, load_extractor, model_key


def main() -> None:
    sc = load_scenario("quick", seed=0)
    SHIPPED_DIR.mkdir(parents=True, exist_ok=True)
    keep = set()
    keys = {}
    for name in QUICK_ZOO:
        load_extractor(name, sc)
        keys[name] = config_hash(model_key(name, sc))
    config = robust.RobustConfig()
    robust.train_robust_extractor(sc, config)
    base = load_extractor(config.base, sc)
    keys[f"robust_{config.base}"] = config_hash(robust.robust_key(sc, config, base))
    for name, key in keys.items():
        src = artefact_path("extractor", key)
        for suffix in (".safetensors", ".json"):
            shutil.copyfile(src.with_suffix(suffix), SHIPPED_DIR / f"{key}{suffix}")
            keep.add(f"{key}{suffix}")
        print(f"{name}: {key}")
    for stale in SHIPPED_DIR.iterdir():
        if stale.name not in keep:
            stale.unlink()


if __name__ == "__main__":
    main()
