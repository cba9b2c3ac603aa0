"""Preflight of the paper profile: one fast message naming every missing file, nothing
written; a mirror or the cache satisfies it."""

from __future__ import annotations

import time

import pytest

from facecure_lib import assets_check as ac
from facecure_lib import download as dl
from facecure_lib import mirror as mr
from facecure_lib import run_all


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for var in (mr.MIRROR_ENV, "FACECURE_DATASET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(dl, "is_reachable", lambda url, timeout=3.0: False)


def _files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_paper_profile_needs_every_model_detector_and_lpips_asset():
    needed = ac.needed_assets("paper")
    for asset in (
        "facenet-casia-webface",
        "facenet-vggface2",
        "arcface-r50-webface600k",
        "clip-vit-b32-openai",
        "clip-vit-b16-laion2b",
        "mobilenet-v2-imagenet",
        "alexnet-imagenet",
    ):
        assert asset in needed, asset
    assert "clip-vit-b32-faces" in needed["clip-vit-b32-openai"]  # tuned from it
    assert set(needed) <= set(dl.ASSETS)
    assert ac.needed_assets("quick") == {} and ac.preflight("quick") == []


def test_offline_fails_fast_naming_every_missing_file(tmp_path):
    start = time.perf_counter()
    with pytest.raises(dl.DownloadError) as info:
        ac.preflight("paper")
    assert time.perf_counter() - start < 10
    msg = str(info.value)
    for name in ac.needed_assets("paper"):
        assert dl.ASSETS[name].file_name in msg and dl.ASSETS[name].url in msg
    assert "LFW" in msg and "quick profile" in msg and mr.MIRROR_ENV in msg
    assert _files(tmp_path / "cache") == []  # nothing downloaded, nothing partial


def test_run_all_paper_stops_before_any_notebook(capsys, monkeypatch):
    monkeypatch.setattr(run_all, "run_notebook", lambda *a, **k: pytest.fail("ran a notebook"))
    start = time.perf_counter()
    assert run_all.main(["--profile", "paper"]) == 1
    assert time.perf_counter() - start < 10
    err = capsys.readouterr().err
    assert err.count("The paper profile needs") == 1 and "quick profile" in err


def test_mirror_cache_and_folder_satisfy_it(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    needed = ac.needed_assets("paper")
    cached = "facenet-vggface2"
    for name in needed:
        if name != cached:
            (mirror / dl.ASSETS[name].file_name).write_bytes(name.encode())
    mr.write_manifest(mirror)
    faces = tmp_path / "faces"
    faces.mkdir()
    monkeypatch.setenv(mr.MIRROR_ENV, str(mirror))
    with pytest.raises(dl.DownloadError) as info:  # one asset is neither mirrored nor cached
        ac.preflight("paper", dataset=faces)
    assert dl.ASSETS[cached].file_name in str(info.value)
    assert "arcface" not in str(info.value)
    copy = dl.mirror_dir() / dl.ASSETS[cached].file_name
    copy.parent.mkdir(parents=True)
    copy.write_bytes(b"cached from an earlier run")
    status = {n.name: n.status for n in ac.preflight("paper", dataset=faces)}
    assert status.pop(cached) == "cached" and status.pop("dataset") == "folder"
    assert set(status.values()) == {"mirror"}


def test_missing_dataset_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "is_reachable", lambda url, timeout=3.0: True)
    monkeypatch.setenv("FACECURE_DATASET", str(tmp_path / "no-such-folder"))
    with pytest.raises(dl.DownloadError, match="no-such-folder") as info:
        ac.preflight("paper")
    assert "1 file(s)" in str(info.value)
