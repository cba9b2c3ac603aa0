"""Every paper model, the detector backbone, LPIPS and CLIP's two towers load offline from
a mirror of stand-in weights (tests/paper_fixtures.py), and the preflight accepts it."""

from __future__ import annotations

import os
import time

import pytest
import torch

from facecure_lib import zoo
from facecure_lib.assets_check import preflight
from facecure_lib.clip_tuning import TUNED_NAME, load_clip
from facecure_lib.data.paper_data import load_paper_dataset
from facecure_lib.defenses.detector import mobilenet_v2
from facecure_lib.download import mirror_dir, place_in_torch_hub
from facecure_lib.mirror import MirrorWarning
from tests.paper_fixtures import FACES, paper_mirror, standin_files  # noqa: F401

pytest.importorskip("open_clip")
pytest.importorskip("facenet_pytorch")
pytestmark = pytest.mark.filterwarnings("ignore::facecure_lib.mirror.MirrorWarning")


def test_preflight_accepts_the_mirror_and_the_face_folder(paper_mirror):  # noqa: F811
    status = {n.name: n.status for n in preflight("paper")}
    assert status.pop("dataset") == "folder" and set(status.values()) == {"mirror"}
    faces = load_paper_dataset()
    assert faces.n_identities == FACES["identities"] and len(faces) == 24 * 12
    assert faces.images.shape[1:] == (3, 112, 112)


def test_every_paper_extractor_loads_and_embeds(paper_mirror, one_thread):  # noqa: F811
    x = load_paper_dataset().images[:2].float() / 255
    names = [n for n in zoo.available("paper") if n != TUNED_NAME]  # tuned: needs training
    assert len(names) == 6
    start = time.perf_counter()
    with pytest.warns(MirrorWarning, match="DIFFERS from the publisher's sha256"):
        zoo.load_extractor("facenet-vggface2", device=torch.device("cpu"))
    for name in names:
        ext = zoo.load_extractor(name, device=torch.device("cpu"), progress=False)
        with torch.no_grad():
            e = ext(x)
        assert e.shape == (2, zoo.info(name).embedding_dim) and torch.isfinite(e).all(), name
        assert not torch.allclose(e[0], e[1]), name
    assert time.perf_counter() - start < 60
    copies = {p.name for p in mirror_dir().iterdir() if not p.name.startswith(".")}
    assert "arcface_r50.safetensors" in copies and "ViT-B-32.pt" in copies


def test_clip_towers_detector_and_lpips_from_the_mirror(paper_mirror, one_thread):  # noqa: F811
    model, key = load_clip("clip-vit-b32-openai")  # both towers, strictly
    assert key.startswith("clip-vit-b32-openai-") and hasattr(model, "encode_text")
    net = mobilenet_v2(pretrained=True)
    assert net.features[0][0].weight.dtype == torch.float32
    lpips = pytest.importorskip("lpips")
    hub = place_in_torch_hub("alexnet-imagenet")
    assert hub.is_file() and hub.is_relative_to(os.environ["TORCH_HOME"])  # never ~/.cache
    dist = lpips.LPIPS(net="alex", verbose=False)  # finds the stand-in in TORCH_HOME
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert float(dist(x, x)) == pytest.approx(0.0, abs=1e-6)
