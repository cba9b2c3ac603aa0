"""Content-addressed cache for expensive artefacts (data, models, cloaks, embeddings).

Every artefact is keyed by a hash of everything that determines it, written atomically
(temporary file + rename), and checked against a sha256 stored beside it. A corrupt or
partial file is reported, deleted and rebuilt, never silently used. Tensors are stored with
safetensors, so loading never unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .config import cache_dir

CACHE_VERSION = 1


def config_hash(obj: Any, length: int = 16) -> str:
    """Stable hex digest of a JSON-serialisable config (dict key order does not matter)."""
    blob = json.dumps(obj, sort_keys=True, default=_jsonable).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def tensor_hash(t: torch.Tensor, length: int = 16) -> str:
    """Digest of a tensor's dtype, shape and bytes."""
    h = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:length]


def _jsonable(o: Any) -> Any:
    if isinstance(o, torch.Tensor):
        return tensor_hash(o)
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "__dict__"):
        return vars(o)
    return str(o)


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Atomically write a text file (UTF-8)."""
    atomic_write_bytes(Path(path), text.encode("utf-8"))


class CacheCorruption(RuntimeError):
    """A cache file that fails its checksum or cannot be parsed."""


def artefact_path(kind: str, key: str, suffix: str = ".safetensors") -> Path:
    """Path of a cached artefact of a given kind ("data", "extractor", "cloak", ...)."""
    return cache_dir() / f"v{CACHE_VERSION}" / kind / f"{key}{suffix}"


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict | None = None) -> None:
    """Save tensors atomically with a `.json` sidecar holding their sha256 and metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp)
        digest = file_sha256(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sidecar = {"sha256": digest, "meta": meta or {}}
    atomic_write_text(path.with_suffix(".json"), json.dumps(sidecar, indent=1, default=_jsonable))


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Load tensors saved by `save_tensors`; raise CacheCorruption if anything is off."""
    path = Path(path)
    side = path.with_suffix(".json")
    if not path.exists() or not side.exists():
        raise FileNotFoundError(path)
    try:
        sidecar = json.loads(side.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CacheCorruption(f"{side}: unreadable sidecar ({err})") from err
    if file_sha256(path) != sidecar.get("sha256"):
        raise CacheCorruption(f"{path}: checksum mismatch (partial or corrupt file)")
    try:
        tensors = load_file(str(path))
    except Exception as err:  # safetensors raises several types on bad files
        raise CacheCorruption(f"{path}: cannot be parsed ({err})") from err
    return tensors, sidecar.get("meta", {})


def cached_tensors(
    kind: str,
    config: Any,
    build: Callable[[], dict[str, torch.Tensor]],
    meta: dict | None = None,
    enabled: bool = True,
) -> dict[str, torch.Tensor]:
    """Return the artefact for `config`, building and storing it on a miss.

    A corrupt cache entry triggers a warning, is removed, and is rebuilt.
    """
    if not enabled:
        return build()
    path = artefact_path(kind, config_hash(config))
    if path.exists():
        try:
            tensors, _ = load_tensors(path)
            return tensors
        except FileNotFoundError:
            pass
        except CacheCorruption as err:
            warnings.warn(f"Cache entry rebuilt: {err}", stacklevel=2)
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)
    tensors = build()
    save_tensors(path, tensors, {"config": config, **(meta or {})})
    return tensors


def load_weights(model: torch.nn.Module, path: Path, action: str = "rebuilding") -> dict | None:
    """Fill `model` from weights saved by `save_tensors`; return their metadata.

    None on a miss, and also (with a warning naming `action`, e.g. "retraining") when the
    file is corrupt or does not fit the model: the caller then builds the weights anew.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        state, meta = load_tensors(path)
        model.load_state_dict(state)
    except (CacheCorruption, FileNotFoundError, RuntimeError) as err:
        name = getattr(model, "name", type(model).__name__)
        warnings.warn(f"{name}: saved weights {path.name} unusable ({err}); {action}", stacklevel=3)
        return None
    return meta
