"""Reliability of the cache, trust records, file modes, results files and saved weights.

Each test reproduces a failure seen in the field (issue 21) before its fix.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import torch
from torch import nn

from facecure_lib import cache
from facecure_lib import download as dl
from facecure_lib.results import read_results, write_results


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("sidecar", ["null", "[]", '"text"', "3"])
def test_sidecar_that_is_not_an_object_is_corruption_and_rebuilt(tmp_cache, sidecar):
    calls = []

    def build():
        calls.append(1)
        return {"x": torch.arange(4.0)}

    cache.cached_tensors("demo", {"k": 2}, build)
    path = cache.artefact_path("demo", cache.config_hash({"k": 2}))
    path.with_suffix(".json").write_text(sidecar)
    with pytest.raises(cache.CacheCorruption, match="not a JSON object"):
        cache.load_tensors(path)
    with pytest.warns(UserWarning, match="rebuilt"):
        again = cache.cached_tensors("demo", {"k": 2}, build)
    assert torch.equal(again["x"], torch.arange(4.0)) and len(calls) == 2
    assert isinstance(json.loads(path.with_suffix(".json").read_text()), dict)


@pytest.mark.parametrize("record", ["[]", "null", "{", '{"sha256": 3}'])
def test_damaged_trust_record_is_never_taken_for_no_record(tmp_cache, record):
    """A damaged record must not let an arbitrary file be trusted anew."""
    dest = dl.downloads_dir() / "weights.bin"
    dest.write_bytes(b"whatever is there")
    dl.tofu_path(dest).write_text(record)
    with pytest.raises(dl.ChecksumError, match="damaged"):
        dl.download(
            "http://example.invalid/weights.bin", dest, None, what="weights", allow_unpinned=True
        )
    assert dl.tofu_record(dest.with_name("absent.bin")) is None


def test_cache_files_are_readable_by_everyone_else(tmp_cache):
    cache.cached_tensors("demo", {"k": 3}, lambda: {"x": torch.zeros(2)})
    path = cache.artefact_path("demo", cache.config_hash({"k": 3}))
    cache.atomic_write_text(tmp_cache / "note.txt", "hello")
    want = 0o666 & ~_umask()
    for p in (path, path.with_suffix(".json"), tmp_cache / "note.txt"):
        assert stat.S_IMODE(p.stat().st_mode) == want, p


def test_cache_file_mode_follows_the_umask(tmp_cache):
    old = os.umask(0o027)
    try:
        cache.atomic_write_text(tmp_cache / "strict.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_cache / "strict.txt").stat().st_mode) == 0o640


def test_corrupt_results_file_is_named_with_the_fix(tmp_path):
    write_results("98_demo", "quick", 0, 1.0, {"name": "x"}, {}, out_dir=tmp_path)
    path = tmp_path / "98_demo.json"
    path.write_text('{"notebook": "98_de')  # cut short
    with pytest.raises(ValueError) as err:
        read_results("98_demo", out_dir=tmp_path)
    msg = str(err.value)
    assert str(path) in msg and "98_demo" in msg and "run_all --only 98" in msg
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="98_demo.json"):
        read_results("98_demo", out_dir=tmp_path)


class _Tiny(nn.Module):
    def __init__(self, name: str, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.lin = nn.Linear(3, 2)
        self.name = name


def test_weights_swapped_with_another_models_are_refused(tmp_cache):
    """Two models of one architecture: a file (and sidecar) copied over another's is not used."""
    a, b = _Tiny("model_a", 0), _Tiny("model_b", 1)
    key_a, key_b = ({"name": n, "recipe": 1} for n in ("model_a", "model_b"))
    path_a = cache.artefact_path("extractor", cache.config_hash(key_a))
    path_b = cache.artefact_path("extractor", cache.config_hash(key_b))
    cache.save_tensors(path_a, a.state_dict(), {"name": "model_a", "key": key_a})
    cache.save_tensors(path_b, b.state_dict(), {"name": "model_b", "key": key_b})
    fresh = _Tiny("model_a", 5)
    assert cache.load_weights(fresh, path_a) is not None
    assert torch.equal(fresh.lin.weight, a.lin.weight)
    # swap: b's weights and sidecar now sit where a's belong
    path_a.write_bytes(path_b.read_bytes())
    path_a.with_suffix(".json").write_text(path_b.with_suffix(".json").read_text())
    fresh = _Tiny("model_a", 5)
    before = fresh.lin.weight.clone()
    with pytest.warns(UserWarning, match="model_b"):
        assert cache.load_weights(fresh, path_a, "retraining") is None
    assert torch.equal(fresh.lin.weight, before)


def test_weights_of_another_name_are_refused_even_without_a_key(tmp_cache):
    a = _Tiny("model_a", 0)
    path = tmp_cache / "w.safetensors"
    cache.save_tensors(path, a.state_dict(), {"name": "model_b"})
    with pytest.warns(UserWarning, match="saved for model_b"):
        assert cache.load_weights(_Tiny("model_a", 3), path) is None
