"""The dlib-resnet port: parity with face-api.js, checked weight files, shapes, gradients."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from facecure_lib.models import dlib_resnet as dr

FIXTURE = Path(__file__).parent / "fixtures" / "dlib_parity.npz"

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def extractor():
    return dr.load_dlib_resnet()


@pytest.fixture(scope="module")
def fixture():
    with np.load(FIXTURE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_parity_with_face_api_js(extractor, fixture):
    """The backbone on face-api.js 1.7.15's own normalisation, (x - mean) / 255."""
    x = torch.from_numpy(fixture["images"]).permute(0, 3, 1, 2).float()
    x = (x - torch.tensor(dr.MEAN_RGB).view(1, 3, 1, 1)) / 255.0
    with torch.no_grad():
        got = extractor.backbone(x).numpy()
    want = fixture["descriptors"]
    assert got.shape == want.shape == (len(x), 128)
    assert np.abs(got - want).max() < 1e-5


def test_fixture_was_made_with_the_vendored_weights(fixture):
    info = json.loads(str(fixture["info"]))
    assert info["face-api"] == dr.NPM_VERSION
    assert info["sha256"] == dr.SHA256
    assert fixture["images"].dtype == np.uint8 and fixture["images"].shape[1:] == (150, 150, 3)


def test_extractor_normalises_like_dlib(extractor):
    x = torch.rand(2, 3, 150, 150)
    want = (x * 255 - torch.tensor(dr.MEAN_RGB).view(1, 3, 1, 1)) / 256.0
    torch.testing.assert_close(extractor.preprocess(x), want, rtol=0, atol=1e-5)


def test_info_and_extractor_settings(extractor):
    assert dr.DLIB_INFO.name == "dlib-resnet" and dr.DLIB_INFO.input_size == 150
    assert dr.DLIB_INFO.embedding_dim == 128 and dr.SAME_PERSON_DISTANCE == 0.6
    assert not extractor.normalize and not extractor.training
    assert extractor.cache_key == "dlib-resnet-" + dr.SHA256[dr.BIN_FILE][:16]
    n_conv = sum(isinstance(m, torch.nn.Conv2d) for m in extractor.modules())
    assert n_conv == 29


@pytest.mark.parametrize("size", [64, 150, 200])
def test_any_size_and_batch(extractor, size):
    x = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(size))
    with torch.no_grad():
        out = extractor(x)
        one = extractor(x[1:2])
    assert out.shape == (3, 128) and torch.isfinite(out).all()
    torch.testing.assert_close(one[0], out[1], rtol=0, atol=1e-5)


def test_gradients_reach_the_input(extractor):
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    extractor(x).pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_deterministic(extractor):
    x = torch.rand(2, 3, 150, 150, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(extractor(x), extractor(x))
    with torch.no_grad():
        assert torch.equal(dr.load_dlib_resnet()(x), extractor(x))


def test_vendored_files_match_pins_and_sha256sums():
    sums = {}
    for line in (dr.ASSETS_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    assert sums == dr.SHA256
    for name, digest in dr.SHA256.items():
        assert hashlib.sha256((dr.ASSETS_DIR / name).read_bytes()).hexdigest() == digest
    assert dr.check_weight_files() == dr.ASSETS_DIR
    assert "MIT License" in (dr.ASSETS_DIR / "NOTICE").read_text()


def test_manifest_is_read_without_pickle():
    tensors = dr.read_tfjs_weights(dr.ASSETS_DIR / dr.MANIFEST_FILE)
    assert len(tensors) == 117 and tensors["fc"].shape == (256, 128)
    assert all(v.dtype == np.float32 for v in tensors.values())


def _copy_assets(tmp_path: Path) -> Path:
    dest = tmp_path / "dlib_resnet"
    shutil.copytree(dr.ASSETS_DIR, dest)
    return dest


@pytest.mark.parametrize("name", [dr.BIN_FILE, dr.MANIFEST_FILE])
def test_corrupted_file_raises_a_clear_error(tmp_path, name):
    folder = _copy_assets(tmp_path)
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(dr.DlibWeightsError, match="corrupted") as err:
        dr.load_dlib_resnet(weights_dir=folder)
    assert name in str(err.value) and "scripts/fetch_dlib_weights.py" in str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("name", [dr.BIN_FILE, dr.MANIFEST_FILE])
def test_missing_file_raises_a_clear_error(tmp_path, name):
    folder = _copy_assets(tmp_path)
    (folder / name).unlink()
    with pytest.raises(dr.DlibWeightsError, match="missing") as err:
        dr.load_dlib_resnet(weights_dir=folder)
    assert name in str(err.value) and "scripts/fetch_dlib_weights.py" in str(err.value)


def test_truncated_weights_do_not_fit(tmp_path):
    """Past the sha256 check, a binary shorter than its manifest is still refused."""
    folder = _copy_assets(tmp_path)
    data = (folder / dr.BIN_FILE).read_bytes()[:-1000]
    (folder / dr.BIN_FILE).write_bytes(data)
    with pytest.raises(ValueError):
        dr.read_tfjs_weights(folder / dr.MANIFEST_FILE)
