"""Paper smoke: every notebook runs its paper branch end to end on CPU, offline.

The faces are a small generated folder in LFW's layout, the weights random stand-ins with
the real architectures served through `FACECURE_MIRROR` (tests/paper_fixtures.py) and
checked like real downloads. The sizes are tiny and every attack and training loop is
capped at one step (`MAX_STEPS`), all passed as papermill parameters: every line of the
paper branch runs, and the numbers mean nothing. Notebook 00 runs as a student would start
it in Colab with a GPU: no PROFILE given, the paper profile chosen by the launcher.

The notebooks share one cache (as notebooks run one after the other on one machine do), so
cloaks, embeddings and the robust extractor built by one are reused by the next.

    make paper-smoke          # this module alone (also a stage of `make test`)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from facecure_lib import zoo
from facecure_lib.data.paper_data import DATASET_ENV
from facecure_lib.mirror import MIRROR_ENV
from facecure_lib.profiles import PAPER
from facecure_lib.zoo import QUICK_ZOO

from .fake_colab import RECORD, with_fake_colab
from .nbrun import NOTEBOOKS, check_outputs
from .paper_fixtures import standin_files, write_face_folder  # noqa: F401

pytestmark = [
    pytest.mark.paper_smoke,
    pytest.mark.slow,
    pytest.mark.notebooks,
    pytest.mark.filterwarnings("ignore::facecure_lib.mirror.MirrorWarning"),
]
pm = pytest.importorskip("papermill")
pytest.importorskip("open_clip")
pytest.importorskip("facenet_pytorch")

# 4 public, 4 private: 2 attackers (one collusion pair in notebook 05) and 2 other people
# (notebook 05 calibrates its threshold on one and measures on the other)
FACES = {"identities": 8, "pictures": 10}
ONE_STEP = {"MAX_STEPS": 1}
# tiny sizes per notebook (papermill parameters); notebooks run in this order
SMOKE: dict[str, dict] = {
    "00_quickstart": {},
    "01_threat_model_game": {
        **ONE_STEP,
        "N_ATTACKERS": 2,
        "N_ROUNDS": 2,
        "USER_PLAN": ["fawkes_v10", "lowkey"],
    },
    "02_adaptive_robust_training": {**ONE_STEP, "N_ATTACKERS": 2, "E2E_STEPS": 1},
    "03_detection": {**ONE_STEP, "N_TRAIN_USERS": 2, "N_TEST_USERS": 2, "PICTURES_PER_USER": 2},
    "04_oblivious_timeline": {
        **ONE_STEP,
        "N_ATTACKERS": 2,
        "ALPHAS": [0.0, 1.0],
        "UNPROTECTED_LEVELS": [0.0, "1 picture"],
    },
    "05_top2_and_thresholding": {**ONE_STEP, "N_ATTACKERS": 2},
    "06_check_your_own_cloak": {
        **ONE_STEP,
        "N_PHOTOS": 10,
        "SPLIT_SEEDS": 2,
        # the slowest model on a CPU (ViT-B/16) left out: notebooks 00 and 04 run it
        "EXTRACTORS": [n for n in zoo.available("paper") if n != "clip-vit-b16-laion2b"],
    },
}
ESTIMATE = re.compile(r"estimated on a T4: ~\d+ min \(estimate, not measured\)")


@pytest.fixture(scope="module")
def world(standin_files, tmp_path_factory):  # noqa: F811
    """The environment of the stage: mirror, faces, one cache, results and figures."""
    mirror, _ = standin_files
    base = tmp_path_factory.mktemp("paper_smoke")
    faces = write_face_folder(base / "faces", FACES["identities"], FACES["pictures"])
    env = {
        MIRROR_ENV: str(mirror),
        DATASET_ENV: str(faces),
        "FACECURE_CACHE": str(base / "cache"),
        "TORCH_HOME": str(base / "torch"),
        "FACECURE_RESULTS": str(base / "results"),
        "FACECURE_FIGURES": str(base / "figures"),
        "FACECURE_DEVICE": "cpu",
        "TQDM_DISABLE": "1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.delenv("FACECURE_PROFILE", raising=False)
        yield {"base": base, "faces": faces}


def _run(stem: str, world: dict) -> tuple[dict, dict]:
    """Execute one notebook's paper branch; return (results, executed notebook)."""
    import nbformat

    source = NOTEBOOKS / f"{stem}.ipynb"
    params = dict(SMOKE[stem])
    if stem == "00_quickstart":  # as in Colab with a GPU: the launcher picks the profile
        nb = with_fake_colab(nbformat.read(source, as_version=4), gpu=True)
        source = world["base"] / f"{stem}_colab.ipynb"
        nbformat.write(nb, source)
    else:  # the folder as a parameter (notebook 00 reads FACECURE_DATASET)
        params.update(PROFILE="paper", DATASET=str(world["faces"]))
    executed = world["base"] / "executed" / f"{stem}.ipynb"
    executed.parent.mkdir(exist_ok=True)
    pm.execute_notebook(
        str(source),
        str(executed),
        parameters=params,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOKS),
    )
    results = json.loads((world["base"] / "results" / "paper" / f"{stem}.json").read_text())
    return results, json.loads(executed.read_text())


def _printed(executed: dict) -> str:
    return "".join(
        o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
        for c in executed["cells"]
        if c["cell_type"] == "code"
        for o in c["outputs"]
    )


@pytest.mark.parametrize("stem", list(SMOKE))
def test_paper_branch_runs_end_to_end(stem, world):
    results, executed = _run(stem, world)
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{stem}: a code cell did not run"
    check_outputs(stem, executed, results)  # figures shown once each, exercises pass
    for key in ("notebook", "profile", "seed", "runtime_s", "data", "figures", "exercises"):
        assert key in results, f"{stem}: no {key!r} in its results file"
    assert results["notebook"] == stem and results["profile"] == "paper"
    assert results["figures"], f"{stem}: showed no figure"
    data = results["data"]
    assert data["identities"] in (FACES["identities"], FACES["identities"] // 2)  # 06: gallery
    assert data["images"] > 0 and data["image_size"] == PAPER.sizes.image_size
    assert results["max_steps"] == SMOKE[stem].get("MAX_STEPS")
    printed = _printed(executed)
    assert "profile=paper" in printed and ESTIMATE.search(printed), printed[:2000]
    # every model the paper branch used comes from the paper profile, none from the quick zoo
    text = json.dumps(results)
    quick = sorted(n for n in QUICK_ZOO if re.search(rf'"{re.escape(n)}[-"]', text))
    assert not quick, f"{stem}: quick-zoo models in a paper run: {quick}"


def test_notebook_00_chose_the_paper_profile_as_colab_with_a_gpu(world):
    executed = json.loads((world["base"] / "executed" / "00_quickstart.ipynb").read_text())
    first = executed["cells"][0]
    assert RECORD in "".join(first["source"])
    printed = _printed(executed)
    assert "GPU: Tesla T4 (fake)" in printed and "quick profile is used" not in printed
    results = json.loads((world["base"] / "results" / "paper" / "00_quickstart.json").read_text())
    assert set(results["clean_accuracy"]) >= set(PAPER.timeline.timeline)


def test_paper_models_where_the_paper_used_them(world):
    folder = world["base"] / "results" / "paper"
    nb02 = json.loads((folder / "02_adaptive_robust_training.json").read_text())
    assert nb02["base_model"] == PAPER.robust.base == "facenet-casia-webface"
    assert nb02["robust_config"]["loss"] == "softmax" and nb02["robust_config"]["batch_size"] == 32
    nb05 = json.loads((folder / "05_top2_and_thresholding.json").read_text())
    assert nb05["accurate_model"] in PAPER.accurate_candidates
    nb03 = json.loads((folder / "03_detection.json").read_text())
    assert nb03["recipe"]["backbone"] == "mobilenet_v2" and nb03["recipe"]["lr"] == 5e-5
    nb04 = json.loads((folder / "04_oblivious_timeline.json").read_text())
    assert set(PAPER.timeline.timeline) <= {r["model"] for r in nb04["timeline"]}


def test_paper_smoke_is_wired_into_make(tmp_path):
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert re.search(r"^paper-smoke:", makefile, re.M)
    assert "-m paper_smoke" in makefile
