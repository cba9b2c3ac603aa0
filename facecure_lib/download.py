"""sha256-pinned, atomic downloads for the paper profile (weights and data).

`download` streams a URL into a temporary file next to its destination, checks the size
and the sha256, and only then renames it into place: a failed, truncated or tampered
download never leaves anything half-written in the cache. A file already present with
the right hash is returned without touching the network. Offline, the call fails fast
(short connect timeout) with a message naming the file, where it comes from, and the
quick profile, which needs no download at all.

Pinning. Every asset in `ASSETS` should carry the sha256 its publisher released. Where
no published hash could be found (see `Asset.hash_source`), the asset has `sha256=None`
and `download` refuses it unless `allow_unpinned=True`. Then it trusts the first copy
it gets (trust on first use): the computed hash is recorded in `downloads/pins.json`
in the cache and every later use is checked against that record, so a file that
changes afterwards is caught, but the first copy is only as good as the connection
it came over (HTTPS).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .cache import atomic_write_text, file_sha256, make_shared
from .config import cache_dir
from .streaming import Pace, removed_on_sigterm

QUICK_ALTERNATIVE = "the quick profile (PROFILE='quick'), which needs no download"
USER_AGENT = "facecure-tutorials (+https://github.com/ftramer/FaceCure reproduction)"


class DownloadError(RuntimeError):
    """A file could not be downloaded (offline, HTTP error, truncated, bad checksum)."""


class ChecksumError(DownloadError):
    """A downloaded or cached file does not have the expected sha256."""


@dataclass(frozen=True)
class Asset:
    """A file the paper profile may download."""

    name: str
    url: str
    sha256: str | None
    size: int | None
    licence: str
    used_by: str
    hash_source: str
    filename: str = ""

    @property
    def file_name(self) -> str:
        return self.filename or self.url.rstrip("/").rsplit("/", 1)[-1]


_FACENET = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
_OPENAI_B32 = (
    "https://openaipublic.azureedge.net/clip/models/"
    "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt"
)

ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            name="facenet-vggface2",
            url=_FACENET + "20180402-114759-vggface2.pt",
            sha256="281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b",
            size=None,
            licence="MIT (facenet-pytorch port of davidsandberg/facenet 20180402-114759); "
            "trained on VGGFace2 (research use)",
            used_by="models.pretrained: 'facenet-vggface2' (the paper's 'FaceNet')",
            hash_source="not published by facenet-pytorch; taken from public code that pins "
            "this file and whose MTCNN and LPIPS pins match the wheel files "
            "byte for byte; not re-checked against the file itself here",
        ),
        Asset(
            name="facenet-casia-webface",
            url=_FACENET + "20180408-102900-casia-webface.pt",
            sha256=None,
            size=None,
            licence="MIT (facenet-pytorch port of davidsandberg/facenet 20180408-102900); "
            "trained on CASIA-WebFace (research use)",
            used_by="models.pretrained: 'facenet-casia-webface' (the paper's 'WebFace')",
            hash_source="none found: trust on first use (allow_unpinned=True)",
        ),
        Asset(
            name="clip-vit-b32-openai",
            url=_OPENAI_B32,
            sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
            size=None,
            licence="MIT (openai/CLIP)",
            used_by="models.pretrained: 'clip-vit-b32-openai' (zero-shot CLIP, App. B.3)",
            hash_source="published by OpenAI in the URL path (openai/CLIP clip.py checks it)",
        ),
        Asset(
            name="clip-vit-b16-laion2b",
            url="https://huggingface.co/laion/CLIP-ViT-B-16-laion2B-s34B-b88K/resolve/main/"
            "open_clip_pytorch_model.bin",
            sha256=None,
            size=None,
            licence="MIT (LAION / open_clip)",
            used_by="models.pretrained: 'clip-vit-b16-laion2b' (a 2022 CLIP, newer than the paper)",
            hash_source="none found offline (the Hugging Face hub shows it as the LFS oid): "
            "trust on first use (allow_unpinned=True)",
            filename="CLIP-ViT-B-16-laion2B-s34B-b88K.bin",
        ),
    )
}


def downloads_dir() -> Path:
    """Folder of downloaded files in the cache."""
    path = cache_dir() / "downloads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _resolve_dest(dest_or_name: str | os.PathLike) -> Path:
    dest = Path(dest_or_name)
    if dest.is_absolute() or len(dest.parts) > 1:
        return dest
    return downloads_dir() / dest


def _pins_path() -> Path:
    return downloads_dir() / "pins.json"


def _read_pins() -> dict:
    """The recorded pins; an unreadable file, or one that is not a JSON object, is empty."""
    try:
        pins = json.loads(_pins_path().read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return pins if isinstance(pins, dict) else {}


def recorded_pin(url: str) -> str | None:
    """The sha256 recorded on first use of an unpinned URL, if any."""
    entry = _read_pins().get(url)
    return entry.get("sha256") if isinstance(entry, dict) else None


def _record_pin(url: str, digest: str, dest: Path) -> None:
    pins = _read_pins()
    pins[url] = {
        "sha256": digest,
        "file": dest.name,
        "first_used": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_text(_pins_path(), json.dumps(pins, indent=1, sort_keys=True))


def _offline_message(
    what: str, dest: Path, url: str, reason: object, alternative: str, sha256: str | None
) -> str:
    pin = f" (sha256 {sha256})" if sha256 else ""
    return (
        f"Could not download {what} ({dest.name}) from {url}: {reason}.\n"
        f"This machine looks offline, or the server is unreachable. Either use "
        f"{alternative}, or fetch the file on a machine with internet access and put "
        f"it at {dest}{pin}; it is then used without any network access."
    )


def _set_read_timeout(resp: http.client.HTTPResponse, timeout: float) -> None:
    """After a short connect timeout, give slow reads a longer one (best effort)."""
    with contextlib.suppress(AttributeError, OSError):
        resp.fp.raw._sock.settimeout(timeout)  # type: ignore[union-attr]


def download(
    url: str,
    dest_or_name: str | os.PathLike,
    sha256: str | None,
    *,
    what: str,
    alternative: str = QUICK_ALTERNATIVE,
    timeout: float = 60.0,
    connect_timeout: float = 5.0,
    size: int | None = None,
    allow_unpinned: bool = False,
    chunk_size: int = 1 << 20,
    progress: bool = True,
    min_rate: float = 1024.0,
    max_time: float | None = None,
) -> Path:
    """Download `url` to the cache (or to a given path) and return the verified file.

    `dest_or_name` is a bare file name (stored under `<cache>/downloads/`) or a path.
    `sha256=None` is refused unless `allow_unpinned` (trust on first use, see the module
    docstring). `connect_timeout` bounds the time to reach the server, `timeout` each
    later read; over every `timeout` seconds at least `min_rate` bytes/s must arrive, and
    the whole body within `max_time` seconds if given (a server that trickles bytes fails
    too). `progress` shows a progress bar in bytes. Raises `DownloadError` (offline, HTTP
    error, truncated, too slow) or `ChecksumError`; in every failure case, SIGTERM
    included, nothing is left at the destination.
    """
    dest = _resolve_dest(dest_or_name)
    expected = sha256.lower() if sha256 else None
    if expected is None:
        if not allow_unpinned:
            raise DownloadError(
                f"{what} ({dest.name}) has no published sha256 to check it against. Pass "
                "allow_unpinned=True to trust the first copy downloaded (its hash is then "
                f"recorded in {_pins_path()} and checked on every later use), or use "
                f"{alternative}."
            )
        expected = recorded_pin(url)

    if dest.exists():
        digest = file_sha256(dest)
        if expected is None:  # unpinned file placed by hand: record it now
            _record_pin(url, digest, dest)
            return dest
        if digest == expected:
            return dest
        raise ChecksumError(
            f"{what}: the file already at {dest} has sha256 {digest}, expected {expected}. "
            "It is corrupt or a different file; delete it and run again to re-download."
        )

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    pace = Pace(min_rate=min_rate, window=timeout, max_time=max_time)
    try:
        make_shared(fd)
        with removed_on_sigterm(tmp), os.fdopen(fd, "wb") as out:
            digest, received, announced = _stream(
                url,
                out,
                what,
                dest,
                alternative,
                expected,
                pace.read_timeout(timeout),
                connect_timeout,
                chunk_size,
                pace,
                progress,
            )
            out.flush()
            os.fsync(out.fileno())
        want_size = announced if announced is not None else size
        if want_size is not None and received != want_size:
            raise DownloadError(
                f"Download of {what} from {url} was cut short: got {received} of {want_size} "
                "bytes. Nothing was kept; run again (or use "
                f"{alternative})."
            )
        if expected is not None and digest != expected:
            raise ChecksumError(
                f"{what} downloaded from {url} has sha256 {digest}, expected {expected}. "
                "The file was deleted; the server may serve a different or damaged file."
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sha256 is None and recorded_pin(url) is None:
        _record_pin(url, digest, dest)
    return dest


def _stream(
    url: str,
    out,
    what: str,
    dest: Path,
    alternative: str,
    expected: str | None,
    timeout: float,
    connect_timeout: float,
    chunk_size: int,
    pace: Pace | None = None,
    progress: bool = False,
) -> tuple[str, int, int | None]:
    """Copy the body of `url` into `out` (a progress bar in bytes unless `progress` is
    False; stopped when `pace` says it is too slow); return (sha256, bytes, Content-Length)."""
    pace = pace or Pace(window=timeout)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        resp = urllib.request.urlopen(request, timeout=connect_timeout)  # noqa: S310
    except urllib.error.HTTPError as err:
        raise DownloadError(
            f"Could not download {what} ({dest.name}) from {url}: HTTP {err.code} "
            f"{err.reason}. The file may have moved; use {alternative}, or put a copy at "
            f"{dest}."
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(
            _offline_message(what, dest, url, reason, alternative, expected)
        ) from None
    h = hashlib.sha256()
    received = 0
    with resp:
        _set_read_timeout(resp, timeout)
        length = resp.headers.get("Content-Length")
        announced = int(length) if length and length.isdigit() else None
        bar = tqdm(
            total=announced,
            desc=dest.name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=not progress,
            leave=False,
        )
        try:
            while True:
                chunk = resp.read1(chunk_size)  # what has arrived: the pace is checked often
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
                slow = pace.problem(received)
                if slow:
                    raise DownloadError(
                        f"Download of {what} from {url} {slow}. Nothing was kept; run again "
                        f"later (or use {alternative})."
                    )
        except http.client.IncompleteRead as err:
            raise DownloadError(
                f"Download of {what} from {url} was cut short after {received} bytes "
                f"({err!r}). Nothing was kept; run again (or use {alternative})."
            ) from None
        except OSError as err:  # includes TimeoutError
            raise DownloadError(
                f"Download of {what} from {url} failed after {received} bytes: {err}. "
                f"Nothing was kept; run again (or use {alternative})."
            ) from None
        finally:
            bar.close()
    return h.hexdigest(), received, announced


def fetch_asset(
    name: str,
    *,
    allow_unpinned: bool = False,
    url: str | None = None,
    timeout: float = 60.0,
    connect_timeout: float = 5.0,
    progress: bool = True,
) -> Path:
    """Download (or find in the cache) a registered asset; see `ASSETS`.

    `url` overrides the registered address (a mirror serving the same bytes).
    """
    if name not in ASSETS:
        raise ValueError(f"Unknown asset {name!r}; known assets: {', '.join(sorted(ASSETS))}.")
    asset = ASSETS[name]
    return download(
        url or asset.url,
        asset.file_name,
        asset.sha256,
        what=asset.name,
        size=asset.size,
        allow_unpinned=allow_unpinned,
        timeout=timeout,
        connect_timeout=connect_timeout,
        progress=progress,
    )


def is_reachable(url: str, timeout: float = 3.0) -> bool:
    """True if a TCP connection to the host of `url` opens within `timeout` seconds."""
    parsed = urllib.parse.urlsplit(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False
