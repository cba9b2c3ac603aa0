"""Copy the quick zoo trained on the default scenario into facecure_lib/assets/zoo/.

    FACECURE_TRAIN_ZOO=1 python scripts/ship_zoo.py   # retrain from scratch, then ship

Run after changing a recipe or the generator; the files are keyed by the same config hash
as the cache, so stale files are simply never used (and are removed here).
"""

from __future__ import annotations

import shutil

from facecure_lib.cache import artefact_path, config_hash
from facecure_lib.scenario import load_scenario
from facecure_lib.zoo import QUICK_ZOO, SHIPPED_DIR, load_extractor, model_key


def main() -> None:
    sc = load_scenario("quick", seed=0)
    SHIPPED_DIR.mkdir(parents=True, exist_ok=True)
    keep = set()
    for name in QUICK_ZOO:
        load_extractor(name, sc)
        key = config_hash(model_key(name, sc))
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
