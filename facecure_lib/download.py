"""sha256-checked, atomic downloads for the paper profile (weights and data).

`download` streams a URL into a temporary file next to its destination, checks the size
and the hash, and only then renames it into place: a failed, truncated or tampered
download never leaves anything half-written in the cache. A file already present with
the right hash is returned without touching the network. Offline, the call fails fast
(short connect timeout) with a message naming the file, where it comes from, and the
quick profile, which needs no download at all.

How each registered file is checked (a published sha256, a published prefix, or trust on
first use) is decided per asset in `facecure_lib.asset_registry`. Trust on first use: the
sha256 of the first copy is written beside it, `<file>.tofu.json` (URL, sha256, date), and
every later use is checked against that record, so a file that changes afterwards is
caught; the first copy is only as good as the connection it came over (HTTPS).
`FACECURE_MIRROR` (see `facecure_lib.mirror`) makes `fetch_asset` take every file from a
local folder or server instead, checked against the mirror's own manifest.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .asset_registry import ASSETS, QUICK_ALTERNATIVE, Asset, ChecksumError, DownloadError
from .cache import atomic_write_text, file_sha256, make_shared
from .config import cache_dir
from .mirror import MIRROR_ENV, Mirror, active_mirror, announce
from .progress import tqdm
from .streaming import Pace, removed_on_sigterm

__all__ = [
    "ASSETS",
    "QUICK_ALTERNATIVE",
    "Asset",
    "ChecksumError",
    "DownloadError",
    "cached_asset",
    "download",
    "downloads_dir",
    "fetch_asset",
    "file_sha256",
    "is_reachable",
    "place_in_torch_hub",
    "tofu_record",
]

USER_AGENT = "facecure-tutorials (+https://github.com/ftramer/FaceCure reproduction)"


def downloads_dir(create: bool = True) -> Path:
    """Folder of downloaded files in the cache (`mirror/` below it: copies from a mirror)."""
    path = cache_dir() / "downloads"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _resolve_dest(dest_or_name: str | os.PathLike) -> Path:
    dest = Path(dest_or_name)
    if dest.is_absolute() or len(dest.parts) > 1:
        return dest
    return downloads_dir() / dest


def tofu_path(dest: Path) -> Path:
    """Where the trust-on-first-use record of a file lives: beside it."""
    return dest.with_name(dest.name + ".tofu.json")


def tofu_record(dest: str | os.PathLike) -> dict | None:
    """The trust-on-first-use record of a file ({url, sha256, first_used}), or None when there
    is none. A record that cannot be read is never taken for "no record" (which would trust
    whatever file lies there): it raises `ChecksumError` naming it and the fix."""
    path = tofu_path(Path(dest))
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
        raise ChecksumError(
            f"the trust-on-first-use record {path} is damaged, so {Path(dest).name} cannot be "
            f"checked. Delete both files to download and trust a fresh copy."
        )
    return record


def _write_tofu(dest: Path, url: str, digest: str) -> None:
    record = {
        "url": url,
        "sha256": digest,
        "file": dest.name,
        "first_used": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "note": "trust on first use: no published sha256; later uses are checked against this",
    }
    atomic_write_text(tofu_path(dest), json.dumps(record, indent=1))


def _check_prefix(digest: str, prefix: str | None, what: str, where: str) -> None:
    if prefix and not digest.startswith(prefix.lower()):
        raise ChecksumError(
            f"{what}: {where} has sha256 {digest}, which does not start with the published "
            f"prefix {prefix}. It is a different or damaged file; it was not used."
        )


def _check_cached(
    dest: Path, url: str, expected: str | None, prefix: str | None, what: str
) -> Path:
    """Return a file already at `dest` if it passes its check (recording it on first use)."""
    digest = file_sha256(dest)
    record = tofu_record(dest) if expected is None else None
    if expected is not None and digest != expected:
        raise ChecksumError(
            f"{what}: the file already at {dest} has sha256 {digest}, expected {expected}. "
            "It is corrupt or a different file; delete it and run again to re-download."
        )
    if record is not None and digest != record["sha256"]:
        raise ChecksumError(
            f"{what}: the file at {dest} changed since it was first trusted on "
            f"{record.get('first_used', '?')} (sha256 {record['sha256']}, now {digest}). "
            f"Delete it and {tofu_path(dest).name} to download and trust a new copy."
        )
    if expected is None and record is None:  # unpinned file placed by hand: record it now
        _check_prefix(digest, prefix, what, str(dest))
        _write_tofu(dest, url, digest)
    return dest


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
    sha256_prefix: str | None = None,
    chunk_size: int = 1 << 20,
    progress: bool = True,
    min_rate: float = 1024.0,
    max_time: float | None = None,
) -> Path:
    """Download `url` to the cache (or to a given path) and return the verified file.

    `dest_or_name` is a bare file name (stored under `<cache>/downloads/`) or a path.
    `sha256=None` is refused unless `allow_unpinned` (trust on first use, see the module
    docstring); `sha256_prefix` is then checked if given. `connect_timeout` bounds the time
    to reach the server, `timeout` each later read; over every `timeout` seconds at least
    `min_rate` bytes/s must arrive, and the whole body within `max_time` seconds if given (a
    server that trickles bytes fails too). `progress` shows a progress bar in bytes. Raises
    `DownloadError` (offline, HTTP error, truncated, too slow) or `ChecksumError`; in every
    failure case, SIGTERM included, nothing is left behind.
    """
    dest = _resolve_dest(dest_or_name)
    expected = sha256.lower() if sha256 else None
    if expected is None and not allow_unpinned:
        raise DownloadError(
            f"{what} ({dest.name}) has no published sha256 to check it against. Pass "
            "allow_unpinned=True to trust the first copy downloaded (its hash is then "
            f"recorded in {tofu_path(dest).name} beside it and checked on every later use), "
            f"or use {alternative}."
        )
    if dest.exists():
        return _check_cached(dest, url, expected, sha256_prefix, what)
    record = tofu_record(dest) if expected is None else None
    want = expected or (record["sha256"] if record else None)

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
                want,
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
                f"bytes. Nothing was kept; run again (or use {alternative})."
            )
        if want is not None and digest != want:
            first = f" (first trusted {record.get('first_used', '?')})" if record else ""
            raise ChecksumError(
                f"{what} downloaded from {url} has sha256 {digest}, expected {want}{first}. "
                "The file was deleted; the server may serve a different or damaged file."
            )
        if want is None:
            _check_prefix(digest, sha256_prefix, what, f"the copy from {url}")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if want is None:
        _write_tofu(dest, url, digest)
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


def _asset(name: str) -> Asset:
    if name not in ASSETS:
        raise ValueError(f"Unknown asset {name!r}; known assets: {', '.join(sorted(ASSETS))}.")
    return ASSETS[name]


def mirror_dir(create: bool = True) -> Path:
    """Where copies taken from a mirror are kept (apart from publishers' downloads)."""
    return downloads_dir(create) / "mirror"


def fetch_asset(
    name: str,
    *,
    allow_unpinned: bool | None = None,
    url: str | None = None,
    timeout: float = 60.0,
    connect_timeout: float = 5.0,
    progress: bool = True,
) -> Path:
    """Download (or find in the cache) a registered asset; see `ASSETS`.

    `allow_unpinned` defaults to the asset's own `trust_on_first_use` choice. With
    `FACECURE_MIRROR` set, the file comes from the mirror (see `facecure_lib.mirror`);
    `url` overrides both (a server known to serve the publisher's bytes).
    """
    asset = _asset(name)
    allow = asset.trust_on_first_use if allow_unpinned is None else allow_unpinned
    mirror = active_mirror()
    if mirror is not None and url is None:
        return _fetch_from_mirror(asset, mirror, timeout, connect_timeout)
    return download(
        url or asset.url,
        asset.file_name,
        asset.sha256,
        what=asset.name,
        size=asset.size,
        allow_unpinned=allow,
        sha256_prefix=asset.sha256_prefix,
        timeout=timeout,
        connect_timeout=connect_timeout,
        progress=progress,
    )


def _fetch_from_mirror(
    asset: Asset, mirror: Mirror, timeout: float, connect_timeout: float
) -> Path:
    digest = mirror.sha256_of(asset.file_name)
    announce(asset, mirror, digest)
    dest = mirror_dir() / asset.file_name
    if dest.exists():
        if file_sha256(dest) == digest:
            return dest
        dest.unlink()  # the mirror's file changed since it was copied: take the new one
    return download(
        mirror.url_of(asset.file_name),
        dest,
        digest,
        what=f"{asset.name} (from the mirror {MIRROR_ENV}={mirror.location})",
        alternative=f"another {MIRROR_ENV}, or unset it, or {QUICK_ALTERNATIVE}",
        timeout=timeout,
        connect_timeout=connect_timeout,
    )


def cached_asset(name: str) -> Path | None:
    """Where the asset already lies (no network, no hashing: a quick look), or None."""
    asset = _asset(name)
    folder = mirror_dir(False) if active_mirror() is not None else downloads_dir(False)
    places = [folder / asset.file_name]
    if asset.torch_hub:
        places.append(torch_hub_dir() / asset.file_name)
    return next((p for p in places if p.is_file()), None)


def torch_hub_dir() -> Path:
    """torch hub's weights folder (`$TORCH_HOME/hub/checkpoints`), where torchvision looks."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def _publisher_match(asset: Asset, path: Path) -> bool:
    digest = file_sha256(path)
    if asset.sha256:
        return digest == asset.sha256
    return digest.startswith(asset.sha256_prefix or "")


def place_in_torch_hub(name: str, **fetch_kwargs) -> Path:
    """Put an asset where torchvision (and packages built on it, e.g. lpips) look for it, so
    that they load it without a download of their own; the copy goes through `fetch_asset`
    (so through the mirror when one is set). A mirror's file that is not the publisher's
    (stand-in weights) is only placed in a private torch hub folder (`TORCH_HOME` set)."""
    asset = _asset(name)
    target = torch_hub_dir() / asset.file_name
    if target.is_file():
        return target
    source = fetch_asset(name, **fetch_kwargs)
    if not _publisher_match(asset, source) and not os.environ.get("TORCH_HOME"):
        raise DownloadError(
            f"{asset.name}: the copy at {source} is not the publisher's file, so it is not put "
            f"into torch hub's shared folder {target.parent}. Set TORCH_HOME to a private "
            "folder to use it there."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def is_reachable(url: str, timeout: float = 3.0) -> bool:
    """True if a TCP connection to the host of `url` opens within `timeout` seconds."""
    parsed = urllib.parse.urlsplit(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False
