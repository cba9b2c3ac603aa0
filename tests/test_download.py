"""download.py against a real HTTP server on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from facecure_lib import download as dl

BODY = bytes(range(256)) * 4096  # 1 MiB
BODY_SHA = hashlib.sha256(BODY).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        if self.path == "/file.bin":
            self._send(BODY, len(BODY))
        elif self.path == "/truncated.bin":  # announces more than it sends, then closes
            self._send(BODY[: len(BODY) // 3], len(BODY))
            self.close_connection = True
        elif self.path.startswith("/trickle"):  # one byte every 50 ms, forever-ish
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            try:
                for k in range(len(BODY)):
                    self.wfile.write(BODY[k : k + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:  # the client gave up
                pass
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/file.bin")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404, "Not Found")

    def _send(self, body: bytes, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


@pytest.fixture()
def server():
    _Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _leftovers() -> list[Path]:
    return [p for p in dl.downloads_dir().iterdir() if not p.name.endswith(".tofu.json")]


def test_success_then_no_network(server):
    path = dl.download(f"{server}/file.bin", "file.bin", BODY_SHA, what="test file")
    assert path == dl.downloads_dir() / "file.bin"
    assert path.read_bytes() == BODY
    assert _leftovers() == [path]
    # Already there with the right hash: no second request.
    assert dl.download(f"{server}/file.bin", "file.bin", BODY_SHA, what="test file") == path
    assert _Handler.hits == ["/file.bin"]


def test_redirect_and_explicit_destination(server, tmp_path):
    dest = tmp_path / "elsewhere" / "weights.pt"
    path = dl.download(f"{server}/redirect", dest, BODY_SHA.upper(), what="test file")
    assert path == dest and dest.read_bytes() == BODY


def test_checksum_mismatch_leaves_nothing(server):
    with pytest.raises(dl.ChecksumError, match="expected 0000"):
        dl.download(f"{server}/file.bin", "file.bin", "0" * 64, what="test file")
    assert _leftovers() == []


def test_truncated_download_leaves_nothing(server):
    with pytest.raises(dl.DownloadError, match="cut short"):
        dl.download(f"{server}/truncated.bin", "t.bin", BODY_SHA, what="test file")
    assert _leftovers() == []


def test_http_error_is_clear(server):
    with pytest.raises(dl.DownloadError, match="HTTP 404") as info:
        dl.download(f"{server}/missing.bin", "m.bin", BODY_SHA, what="test file")
    assert "quick profile" in str(info.value)
    assert _leftovers() == []


def test_unreachable_fails_fast_and_names_file_and_quick_profile():
    url = f"http://127.0.0.1:{_closed_port()}/weights/20180402-114759-vggface2.pt"
    start = time.perf_counter()
    with pytest.raises(dl.DownloadError) as info:
        dl.download(url, "20180402-114759-vggface2.pt", BODY_SHA, what="FaceNet weights")
    assert time.perf_counter() - start < 5
    msg = str(info.value)
    for needle in (
        "FaceNet weights",
        "20180402-114759-vggface2.pt",
        url,
        "quick profile",
        "PROFILE='quick'",
        str(dl.downloads_dir()),
    ):
        assert needle in msg
    assert _leftovers() == []


def test_corrupt_cached_file_is_reported(server):
    (dl.downloads_dir() / "file.bin").write_bytes(b"not the file")
    with pytest.raises(dl.ChecksumError, match="delete it"):
        dl.download(f"{server}/file.bin", "file.bin", BODY_SHA, what="test file")
    assert _Handler.hits == []


def test_unpinned_refused_then_trust_on_first_use(server):
    url = f"{server}/file.bin"
    with pytest.raises(dl.DownloadError, match="allow_unpinned=True"):
        dl.download(url, "u.bin", None, what="test file")
    assert _Handler.hits == [] and _leftovers() == []
    path = dl.download(url, "u.bin", None, what="test file", allow_unpinned=True)
    record = json.loads((dl.downloads_dir() / "u.bin.tofu.json").read_text())
    assert record["sha256"] == BODY_SHA and record["url"] == url and record["first_used"]
    assert dl.tofu_record(path) == record
    # A later use is checked against the record, without the network.
    assert dl.download(url, "u.bin", None, what="test file", allow_unpinned=True) == path
    assert _Handler.hits == ["/file.bin"]
    # A later change of the file is caught against the recorded hash.
    path.write_bytes(b"tampered")
    with pytest.raises(dl.ChecksumError, match="changed since it was first trusted"):
        dl.download(url, "u.bin", None, what="test file", allow_unpinned=True)
    # Deleted file, record kept: the new download must match the first copy.
    path.unlink()
    assert dl.download(url, "u.bin", None, what="test file", allow_unpinned=True) == path


def test_tofu_record_rejects_a_different_redownload(server):
    dest = dl.downloads_dir() / "u.bin"
    dest.write_bytes(b"first copy, placed by hand")
    url = f"{server}/file.bin"
    assert dl.download(url, "u.bin", None, what="test file", allow_unpinned=True) == dest
    assert _Handler.hits == []  # placed by hand: recorded, not downloaded
    dest.unlink()
    with pytest.raises(dl.ChecksumError, match="first trusted"):
        dl.download(url, "u.bin", None, what="test file", allow_unpinned=True)
    assert not dest.exists()


def test_published_prefix_is_checked(server):
    url = f"{server}/file.bin"
    with pytest.raises(dl.ChecksumError, match="published prefix deadbeef"):
        dl.download(url, "p.bin", None, what="t", allow_unpinned=True, sha256_prefix="deadbeef")
    assert _leftovers() == []
    path = dl.download(
        url, "p.bin", None, what="t", allow_unpinned=True, sha256_prefix=BODY_SHA[:8]
    )
    assert dl.tofu_record(path)["sha256"] == BODY_SHA


def _tofu_asset(monkeypatch, **changes) -> dl.Asset:
    asset = dl.Asset(
        "fake-tofu",
        "https://example.invalid/file.bin",
        None,
        None,
        "CC0",
        "tests",
        "none published: trust on first use",
        trust_on_first_use=True,
        **changes,
    )
    monkeypatch.setitem(dl.ASSETS, asset.name, asset)
    return asset


def test_fetch_asset_trusts_tofu_assets_without_being_asked(server, monkeypatch):
    _tofu_asset(monkeypatch)
    path = dl.fetch_asset("fake-tofu", url=f"{server}/file.bin")
    assert dl.tofu_record(path)["sha256"] == BODY_SHA
    with pytest.raises(dl.DownloadError, match="allow_unpinned=True"):
        dl.fetch_asset("fake-tofu", url=f"{server}/file.bin", allow_unpinned=False)


def test_registry_is_well_formed():
    for name, asset in dl.ASSETS.items():
        assert asset.name == name
        assert asset.url.startswith("https://")
        assert asset.sha256 is None or len(asset.sha256) == 64
        assert asset.licence and asset.used_by and asset.hash_source
        # No hash published: the per-asset choice to trust the first copy is explicit.
        if asset.sha256 is None:
            assert asset.trust_on_first_use, name
            assert "first use" in asset.hash_source, name
        if asset.sha256_prefix:  # torchvision: the file name carries the published prefix
            assert f"-{asset.sha256_prefix}." in asset.file_name
    with pytest.raises(ValueError, match="known assets"):
        dl.fetch_asset("no-such-asset")


def test_readme_table_is_the_registry():
    from pathlib import Path

    from facecure_lib.asset_registry import readme_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "## What the paper profile downloads" in readme
    assert readme_table() in readme, "README's asset table is stale: paste readme_table()"
    for asset in dl.ASSETS.values():
        assert f"`{asset.name}`" in readme and asset.check in readme


def test_torchvision_assets_match_torchvision():
    tv = pytest.importorskip("torchvision")
    urls = {a.url for a in dl.ASSETS.values()}
    assert tv.models.MobileNet_V2_Weights.IMAGENET1K_V1.url in urls
    assert tv.models.AlexNet_Weights.IMAGENET1K_V1.url in urls


def test_fetch_asset_uses_registry_hash(server, monkeypatch):
    fake = dl.Asset(
        "fake", "https://example.invalid/file.bin", BODY_SHA, len(BODY), "CC0", "tests", "test"
    )
    monkeypatch.setitem(dl.ASSETS, "fake", fake)
    path = dl.fetch_asset("fake", url=f"{server}/file.bin")
    assert path.name == "file.bin" and path.read_bytes() == BODY


def test_is_reachable(server):
    assert dl.is_reachable(server)
    assert not dl.is_reachable(f"http://127.0.0.1:{_closed_port()}/", timeout=1)


# --------------------------------------------------------------------------- reliability


def test_download_files_are_readable_by_everyone_else(server):
    import os
    import stat

    mask = os.umask(0)
    os.umask(mask)
    path = dl.download(f"{server}/file.bin", "file.bin", BODY_SHA, what="test file")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_progress_bar_in_bytes_and_quiet_when_asked(server, capsys, monkeypatch):
    monkeypatch.setenv("FACECURE_PROGRESS", "bar")
    dl.download(f"{server}/file.bin", "a.bin", BODY_SHA, what="test file", progress=True)
    err = capsys.readouterr().err
    assert "a.bin" in err and "1.00M" in err  # total from Content-Length, in bytes
    monkeypatch.setenv("FACECURE_PROGRESS", "line")  # headless: one line at the end
    monkeypatch.setenv("FACECURE_PROGRESS_MIN_S", "0")
    dl.download(f"{server}/file.bin", "c.bin", BODY_SHA, what="test file", progress=True)
    err = capsys.readouterr().err
    assert err.startswith("c.bin: 1.00M/1.00M B in ") and err.count("\n") == 1
    dl.download(f"{server}/file.bin", "b.bin", BODY_SHA, what="test file", progress=False)
    assert capsys.readouterr().err == ""


def test_trickling_server_times_out(server):
    """A server sending one byte every 50 ms never hits the per-read timeout."""
    start = time.perf_counter()
    with pytest.raises(dl.DownloadError, match="too slow") as info:
        dl.download(
            f"{server}/trickle", "t.bin", BODY_SHA, what="test file", timeout=1.0, progress=False
        )
    assert time.perf_counter() - start < 10
    assert "bytes/s" in str(info.value) and _leftovers() == []


def test_overall_deadline(server):
    start = time.perf_counter()
    with pytest.raises(dl.DownloadError, match="did not finish within 1 s"):
        dl.download(
            f"{server}/trickle",
            "t.bin",
            BODY_SHA,
            what="test file",
            min_rate=0,
            max_time=1.0,
            progress=False,
        )
    assert time.perf_counter() - start < 10 and _leftovers() == []


def test_sigterm_during_download_leaves_no_part_file(server, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    cache = tmp_path / "sigterm-cache"
    code = (
        "from facecure_lib import download as dl\n"
        f"dl.download({server + '/trickle'!r}, 't.bin', {BODY_SHA!r}, what='t', "
        "progress=False)\n"
    )
    env = {**os.environ, "FACECURE_CACHE": str(cache)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.time() + 60
        parts: list[Path] = []
        while time.time() < deadline and not parts:
            time.sleep(0.1)
            parts = list((cache / "downloads").glob("*.part")) if cache.exists() else []
        assert parts, "the download never started"
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == -signal.SIGTERM  # still ends as SIGTERM does
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list((cache / "downloads").iterdir()) == []
