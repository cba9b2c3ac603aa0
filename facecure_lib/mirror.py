"""`FACECURE_MIRROR`: one setting for offline copies of the paper profile's files (and for
the paper-smoke test, which serves stand-in weights this way).

`FACECURE_MIRROR` is a local folder or an `http(s)://host:port/path/` URL that holds asset
files under their `Asset.file_name` plus a `SHA256SUMS` manifest in `sha256sum` format (one
`<sha256>  <file name>` line per file; `write_manifest(folder)` writes it). When it is set,
`download.fetch_asset` takes every asset from the mirror, checks the copy against the
manifest, and warns once per asset that a mirror is used and whether its file matches the
publisher's hash (stand-in weights do not).

Make an offline copy: run the paper profile once online, copy `<cache>/downloads/*` (and
torch hub's `checkpoints/alexnet-owt-7be5be79.pth`) into a folder, run
`python -m facecure_lib.mirror FOLDER`, then `export FACECURE_MIRROR=FOLDER` elsewhere.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from .asset_registry import Asset, DownloadError
from .cache import atomic_write_text, file_sha256

MIRROR_ENV = "FACECURE_MIRROR"
MANIFEST = "SHA256SUMS"
_ANNOUNCED: set[tuple[str, str]] = set()


class MirrorWarning(UserWarning):
    """Files come from a mirror, not from their publishers."""


@dataclass(frozen=True)
class Mirror:
    """A folder or an HTTP location holding asset files and their `SHA256SUMS`."""

    location: str

    @property
    def is_remote(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    def url_of(self, file_name: str) -> str:
        """The URL of one file (a file:// URL for a folder)."""
        if self.is_remote:
            return self.location.rstrip("/") + "/" + urllib.parse.quote(file_name)
        return (Path(self.location).expanduser().resolve() / file_name).as_uri()

    def manifest(self, timeout: float = 5.0) -> dict[str, str]:
        """File name -> sha256, read from the mirror's `SHA256SUMS`."""
        return parse_manifest(self._read_manifest(timeout))

    def _read_manifest(self, timeout: float) -> str:
        where = f"{MIRROR_ENV}={self.location}"
        fix = f"Write it with `python -m facecure_lib.mirror FOLDER`, or unset {MIRROR_ENV}."
        if not self.is_remote:
            path = Path(self.location).expanduser() / MANIFEST
            if not path.is_file():
                raise DownloadError(f"{where}: no {MANIFEST} manifest at {path}. {fix}")
            return path.read_text()
        try:
            with urllib.request.urlopen(self.url_of(MANIFEST), timeout=timeout) as resp:  # noqa: S310
                return resp.read().decode()
        except (urllib.error.URLError, OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "reason", err)
            raise DownloadError(f"{where}: cannot read {MANIFEST} ({reason}). {fix}") from None

    def sha256_of(self, file_name: str) -> str:
        """The manifest's hash of a file; a DownloadError when the mirror lacks it."""
        sums = self.manifest()
        if file_name not in sums:
            raise DownloadError(
                f"The mirror {MIRROR_ENV}={self.location} has no {file_name} in its "
                f"{MANIFEST}. Add the file and its line, or unset {MIRROR_ENV} to download "
                "it from its publisher."
            )
        return sums[file_name]


def active_mirror() -> Mirror | None:
    """The mirror named by `FACECURE_MIRROR`, or None when it is unset or empty."""
    location = os.environ.get(MIRROR_ENV, "").strip()
    return Mirror(location) if location else None


def parse_manifest(text: str) -> dict[str, str]:
    """`sha256sum` output -> {file name: sha256}; blank lines and `#` comments ignored."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, name = line.partition(" ")
        name = name.strip().lstrip("*")  # "*" marks binary mode in sha256sum output
        if len(digest) != 64 or not name:
            raise DownloadError(f"{MANIFEST} line {n} is not '<sha256>  <file name>': {line!r}")
        out[name] = digest.lower()
    return out


def write_manifest(folder: str | os.PathLike) -> Path:
    """Write `folder/SHA256SUMS` for every file in `folder` (what `sha256sum *` prints)."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
    lines = [f"{file_sha256(p)}  {p.name}" for p in files]
    path = folder / MANIFEST
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def reset_announcements() -> None:
    """Forget which assets were announced, so each warns again (tests, a new session)."""
    _ANNOUNCED.clear()


def announce(asset: Asset, mirror: Mirror, digest: str) -> None:
    """Warn once per asset and mirror that a mirror is used, and how its file compares."""
    key = (mirror.location, asset.name)
    if key in _ANNOUNCED:
        return
    _ANNOUNCED.add(key)
    if asset.sha256 is None:
        how = "no published sha256 to compare it with"
    elif asset.sha256 == digest:
        how = "it matches the publisher's sha256"
    else:
        how = (
            f"it DIFFERS from the publisher's sha256 {asset.sha256[:12]}...: these are not "
            "the published weights (stand-ins?), so results are not the paper's"
        )
    warnings.warn(
        f"{asset.name} ({asset.file_name}) comes from the mirror {MIRROR_ENV}="
        f"{mirror.location} (sha256 {digest[:12]}...): {how}.",
        MirrorWarning,
        stacklevel=3,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write FOLDER/SHA256SUMS for a mirror folder.")
    ap.add_argument("folder", type=Path)
    args = ap.parse_args(argv)
    print(f"wrote {write_manifest(args.folder)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
