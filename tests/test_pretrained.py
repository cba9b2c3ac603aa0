"""Paper-profile loaders, exercised offline with weights the tests write themselves."""

from __future__ import annotations

import dataclasses
import http.server
import pickle
import socket
import threading
import time
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from facecure_lib import download as dl
from facecure_lib.models import pretrained as pt


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def facenet_file(tmp_path_factory):
    """A random-init InceptionResnetV1 state dict in the layout of the released files."""
    pytest.importorskip("facenet_pytorch")
    torch.manual_seed(0)
    backbone = pt.build_backbone("facenet-vggface2")
    sd = dict(backbone.state_dict())
    sd["logits.weight"] = torch.zeros(7, 512)  # the releases keep their classifier head
    sd["logits.bias"] = torch.zeros(7)
    path = tmp_path_factory.mktemp("w") / "20180402-114759-vggface2.pt"
    torch.save(sd, path)
    return path


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_registry_and_unknown_name():
    assert {
        "facenet-casia-webface",
        "facenet-vggface2",
        "arcface-r50-webface600k",
        "clip-vit-b32-openai",
        "clip-vit-b16-laion2b",
    } <= set(pt.PRETRAINED)
    years = {n: s.info.year for n, s in pt.PRETRAINED.items()}
    assert max(years.values()) >= 2022
    for name, spec in pt.PRETRAINED.items():
        assert spec.info.profile == "paper" and spec.info.name == name
        assert spec.asset in dl.ASSETS
    with pytest.raises(ValueError, match="valid names: facenet-casia-webface"):
        pt.load_pretrained("facenet-v2")


def test_facenet_from_local_file(facenet_file):
    ext, info = pt.load_pretrained("facenet-vggface2", weights_path=facenet_file)
    assert info.input_size == 160 and info.year == 2018 and not ext.training
    assert ext.cache_key.startswith("facenet-vggface2-")
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        e1, e2 = ext(x), ext(x)
    assert e1.shape == (2, 512)
    assert torch.allclose(e1.norm(dim=1), torch.ones(2), atol=1e-5)
    assert torch.equal(e1, e2)
    # Preprocessing is facenet's fixed_image_standardization: (255 x - 127.5) / 128.
    raw = F.interpolate(x, size=(160, 160), mode="bilinear", align_corners=False)
    with torch.no_grad():
        ref = F.normalize(ext.backbone((raw * 255 - 127.5) / 128), dim=1)
    assert torch.allclose(e1, ref, atol=1e-4)


def test_clip_b32_from_safetensors(tmp_path):
    pytest.importorskip("open_clip")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    visual = pt.build_backbone("clip-vit-b32-openai")
    sd = {f"visual.{k}": v.contiguous() for k, v in visual.state_dict().items()}
    sd["token_embedding.weight"] = torch.zeros(4, 8)  # text tower keys are ignored
    path = tmp_path / "clip.safetensors"
    save_file(sd, str(path))
    ext, info = pt.load_pretrained("clip-vit-b32-openai", weights_path=path)
    assert info.year == 2021 and info.input_size == 224
    with torch.no_grad():
        e = ext(torch.rand(1, 3, 112, 112))
    assert e.shape == (1, 512) and abs(float(e.norm()) - 1) < 1e-5
    assert torch.equal(ext.backbone.conv1.weight, visual.conv1.weight)


def test_corrupt_and_wrong_files(tmp_path, facenet_file):
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(facenet_file.read_bytes()[: 1 << 16])
    with pytest.raises(pt.WeightsError, match="cannot read weights file .*trunc.pt"):
        pt.load_pretrained("facenet-vggface2", weights_path=truncated)

    wrong = tmp_path / "wrong.pt"
    torch.save({"conv.weight": torch.zeros(3)}, wrong)
    with pytest.raises(pt.WeightsError, match="does not fit facenet-vggface2.*missing"):
        pt.load_pretrained("facenet-vggface2", weights_path=wrong)

    with pytest.raises(pt.WeightsError, match="does not exist"):
        pt.load_pretrained("facenet-vggface2", weights_path=tmp_path / "nope.pt")


class _Evil:
    def __reduce__(self):
        return (print, ("pickle code ran",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_never_unpickles_arbitrary_objects(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"w": _Evil()}, f)
    with pytest.raises(pt.WeightsError):
        pt.read_state_dict(evil)
    assert "pickle code ran" not in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_torchscript_only_with_published_hash(tmp_path):
    scripted = torch.jit.script(torch.nn.Linear(3, 2))
    path = tmp_path / "model.pt"
    scripted.save(str(path))
    with pytest.raises(pt.WeightsError, match="TorchScript"):
        pt.read_state_dict(path)
    sd = pt.read_state_dict(path, trusted_sha256=dl.file_sha256(path))
    assert set(sd) == {"weight", "bias"}


def test_offline_fails_fast_with_clear_message(monkeypatch):
    pytest.importorskip("facenet_pytorch")
    url = f"http://127.0.0.1:{_closed_port()}/20180402-114759-vggface2.pt"
    monkeypatch.setitem(
        dl.ASSETS, "facenet-vggface2", dataclasses.replace(dl.ASSETS["facenet-vggface2"], url=url)
    )
    start = time.perf_counter()
    with pytest.raises(dl.DownloadError) as info:
        pt.load_pretrained("facenet-vggface2")
    assert time.perf_counter() - start < 10  # includes building the network
    msg = str(info.value)
    assert "20180402-114759-vggface2.pt" in msg and url in msg and "quick profile" in msg


def test_unpinned_asset_needs_consent_unless_registered_as_tofu(monkeypatch):
    pytest.importorskip("facenet_pytorch")
    asset = dl.ASSETS["facenet-casia-webface"]
    assert asset.sha256 is None and asset.trust_on_first_use
    with pytest.raises(dl.DownloadError, match="allow_unpinned=True"):
        pt.load_pretrained("facenet-casia-webface", allow_unpinned=False)
    # By default the asset's own choice applies: it is fetched (here: offline, so the
    # error is the download's, not a refusal).
    url = f"http://127.0.0.1:{_closed_port()}/{asset.file_name}"
    monkeypatch.setitem(dl.ASSETS, asset.name, dataclasses.replace(asset, url=url))
    with pytest.raises(dl.DownloadError, match="looks offline"):
        pt.load_pretrained("facenet-casia-webface")


def test_arcface_iresnet50_loads_released_layout(tmp_path):
    """py-feat's safetensors layout: fused-BN IResNet-50, maybe without BN step counters."""
    from safetensors.torch import save_file

    from facecure_lib.models.iresnet import iresnet50

    torch.manual_seed(0)
    net = iresnet50()
    assert 43_500_000 < sum(p.numel() for p in net.parameters()) < 43_700_000
    sd = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    for key in ("layer1.0.bn1.weight", "layer1.0.downsample.weight", "layer4.2.conv2.bias"):
        assert key in sd
    assert {"prelu.weight", "bn2.running_var", "fc.weight", "features.weight"} <= set(sd)
    path = tmp_path / "arcface_r50.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    ext, info = pt.load_pretrained("arcface-r50-webface600k", weights_path=path)
    assert info.year == 2021 and info.input_size == 112 and info.embedding_dim == 512
    x = torch.rand(2, 3, 112, 112, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        e = ext(x)
        ref = F.normalize(net.eval()(x * 2 - 1), dim=1)  # input scaled to [-1, 1]
    assert e.shape == (2, 512) and torch.allclose(e, ref, atol=1e-5)


def test_eras_follow_years():
    assert [pt.era_of(y) for y in (2017, 2018, 2019, 2021, 2022, 2024)] == [1, 1, 2, 2, 3, 3]
    for spec in pt.PRETRAINED.values():
        assert spec.info.era == pt.era_of(spec.info.year)


def test_download_then_load(facenet_file, monkeypatch):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(facenet_file.parent))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{facenet_file.name}"
        monkeypatch.setitem(
            dl.ASSETS,
            "facenet-vggface2",
            dataclasses.replace(
                dl.ASSETS["facenet-vggface2"], url=url, sha256=dl.file_sha256(facenet_file)
            ),
        )
        ext, _ = pt.load_pretrained("facenet-vggface2")
        cached = dl.downloads_dir() / facenet_file.name
        assert cached.read_bytes() == facenet_file.read_bytes()
        assert ext.cache_key.startswith("facenet-vggface2-")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
