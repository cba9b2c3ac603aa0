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


def shared_mode() -> int:
    """Mode of a new file as `open()` would create it (0o666 less the umask): a cache or a
    download built by one user stays readable by the others (mkstemp alone gives 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def make_shared(fd: int) -> None:
    """Give a file opened by `tempfile.mkstemp` the mode of an ordinary new file."""
    os.fchmod(fd, shared_mode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        make_shared(fd)
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
        os.chmod(tmp, shared_mode())  # safetensors recreates the file: mode set afterwards
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
    if not isinstance(sidecar, dict):
        raise CacheCorruption(f"{side}: sidecar is not a JSON object ({type(sidecar).__name__})")
    if file_sha256(path) != sidecar.get("sha256"):
        raise CacheCorruption(f"{path}: checksum mismatch (partial or corrupt file)")
    try:
        tensors = load_file(str(path))
    except Exception as err:  # safetensors raises several types on bad files
        raise CacheCorruption(f"{path}: cannot be parsed ({err})") from err
    meta = sidecar.get("meta", {})
    return tensors, meta if isinstance(meta, dict) else {}


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


def check_owner(model: torch.nn.Module, path: Path, meta: dict, key: str | None = None) -> None:
    """Raise CacheCorruption when saved weights belong to another model than `model`.

    The sidecar records the model's name and the config its key hashes: the name must be
    the model's, and the config must hash to `key` (default: the file's stem, which is the
    key of every artefact path). Catches a weights file and its sidecar copied over
    another model's of the same architecture, which `load_state_dict` would accept.
    """
    name = getattr(model, "name", None)
    saved_name = meta.get("name")
    if isinstance(name, str) and isinstance(saved_name, str) and saved_name != name:
        raise CacheCorruption(f"{path}: weights saved for {saved_name}, not {name}")
    saved_key = meta.get("key")
    if isinstance(saved_key, dict):
        want = key or Path(path).stem
        if config_hash(saved_key) != want:
            owner = saved_key.get("name", saved_name or "another model")
            raise CacheCorruption(
                f"{path}: weights saved for {owner} (key {config_hash(saved_key)}), "
                f"not for key {want}"
            )


def load_weights(
    model: torch.nn.Module, path: Path, action: str = "rebuilding", key: str | None = None
) -> dict | None:
    """Fill `model` from weights saved by `save_tensors`; return their metadata.

    None on a miss, and also (with a warning naming `action`, e.g. "retraining") when the
    file is corrupt, belongs to another model (`check_owner`; `key` defaults to the file's
    stem) or does not fit the model: the caller then builds the weights anew.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        state, meta = load_tensors(path)
        check_owner(model, path, meta, key)
        model.load_state_dict(state)
    except (CacheCorruption, FileNotFoundError, RuntimeError) as err:
        name = getattr(model, "name", type(model).__name__)
        warnings.warn(f"{name}: saved weights {path.name} unusable ({err}); {action}", stacklevel=3)
        return None
    return meta
