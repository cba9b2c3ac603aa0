"""FACECURE_MIRROR: assets from a local folder or a local HTTP server, checked by manifest."""

from __future__ import annotations

import hashlib
import http.server
import threading
import warnings
from functools import partial

import pytest

from facecure_lib import download as dl
from facecure_lib import mirror as mr

BODY = b"stand-in weights " * 1000
BODY_SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))
    mr.reset_announcements()


@pytest.fixture()
def fake_assets(monkeypatch):
    """A pinned asset whose publisher hash differs from the mirror's, and a TOFU asset."""
    pinned = dl.Asset(
        "fake-pinned", "https://example.invalid/a/pinned.bin", "0" * 64, None, "CC0", "t", "t"
    )
    tofu = dl.Asset(
        "fake-tofu",
        "https://example.invalid/b/tofu.bin",
        None,
        None,
        "CC0",
        "t",
        "trust on first use",
        trust_on_first_use=True,
    )
    for a in (pinned, tofu):
        monkeypatch.setitem(dl.ASSETS, a.name, a)
    return pinned, tofu


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "pinned.bin").write_bytes(BODY)
    (root / "tofu.bin").write_bytes(BODY[::-1])
    mr.write_manifest(root)
    return root


def test_manifest_roundtrip_and_errors(folder):
    sums = mr.parse_manifest((folder / mr.MANIFEST).read_text())
    assert sums == {"pinned.bin": BODY_SHA, "tofu.bin": hashlib.sha256(BODY[::-1]).hexdigest()}
    assert mr.parse_manifest(f"# comment\n\n{BODY_SHA} *x.pt\n") == {"x.pt": BODY_SHA}
    with pytest.raises(dl.DownloadError, match="line 1"):
        mr.parse_manifest("not a line\n")


def test_folder_mirror_serves_pinned_and_tofu_assets(folder, monkeypatch, fake_assets):
    monkeypatch.setenv(mr.MIRROR_ENV, str(folder))
    with pytest.warns(mr.MirrorWarning, match="DIFFERS from the publisher's sha256"):
        path = dl.fetch_asset("fake-pinned")
    assert path.read_bytes() == BODY and path.parent == dl.mirror_dir()
    with pytest.warns(mr.MirrorWarning, match="no published sha256"):
        assert dl.fetch_asset("fake-tofu").read_bytes() == BODY[::-1]
    with warnings.catch_warnings():  # announced once per asset
        warnings.simplefilter("error")
        assert dl.fetch_asset("fake-pinned") == path
    assert dl.cached_asset("fake-pinned") == path
    # The mirror's file changes (a new stand-in): the cached copy is replaced.
    (folder / "pinned.bin").write_bytes(b"new")
    mr.write_manifest(folder)
    assert dl.fetch_asset("fake-pinned").read_bytes() == b"new"


def test_mirror_copy_that_fails_the_manifest_is_not_kept(folder, monkeypatch, fake_assets):
    monkeypatch.setenv(mr.MIRROR_ENV, str(folder))
    (folder / "pinned.bin").write_bytes(b"tampered after the manifest")
    with pytest.warns(mr.MirrorWarning), pytest.raises(dl.ChecksumError, match="expected"):
        dl.fetch_asset("fake-pinned")
    assert not (dl.mirror_dir() / "pinned.bin").exists()


def test_mirror_problems_are_named(tmp_path, monkeypatch, fake_assets):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(mr.MIRROR_ENV, str(empty))
    with pytest.raises(dl.DownloadError, match="no SHA256SUMS manifest.*facecure_lib.mirror"):
        dl.fetch_asset("fake-pinned")
    (empty / mr.MANIFEST).write_text(f"{BODY_SHA}  other.bin\n")
    with pytest.raises(dl.DownloadError, match="has no pinned.bin in its SHA256SUMS"):
        dl.fetch_asset("fake-pinned")


def test_http_mirror(folder, monkeypatch, fake_assets):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        monkeypatch.setenv(mr.MIRROR_ENV, f"http://127.0.0.1:{httpd.server_address[1]}/")
        with pytest.warns(mr.MirrorWarning):
            assert dl.fetch_asset("fake-tofu").read_bytes() == BODY[::-1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_place_in_torch_hub(folder, monkeypatch, tmp_path, fake_assets):
    monkeypatch.setenv(mr.MIRROR_ENV, str(folder))
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setattr(dl, "torch_hub_dir", lambda: tmp_path / "hub" / "checkpoints")
    # A stand-in never lands in the shared torch hub folder...
    with pytest.warns(mr.MirrorWarning), pytest.raises(dl.DownloadError, match="TORCH_HOME"):
        dl.place_in_torch_hub("fake-pinned")
    # ...only in a private one.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    target = dl.place_in_torch_hub("fake-pinned")
    assert target.read_bytes() == BODY and target.parent == tmp_path / "hub" / "checkpoints"
