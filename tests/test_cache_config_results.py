import json

import pytest
import torch

from facecure_lib import cache
from facecure_lib.config import check_profile, seed_everything
from facecure_lib.results import read_results, stable_view, write_results


def test_cache_roundtrip_and_corruption(tmp_cache):
    calls = []

    def build():
        calls.append(1)
        return {"x": torch.arange(10.0)}

    a = cache.cached_tensors("demo", {"k": 1}, build)
    b = cache.cached_tensors("demo", {"k": 1}, build)
    assert torch.equal(a["x"], b["x"]) and len(calls) == 1
    path = cache.artefact_path("demo", cache.config_hash({"k": 1}))
    path.write_bytes(path.read_bytes()[:-7])  # truncate: a partial file
    with pytest.warns(UserWarning, match="checksum mismatch"):
        c = cache.cached_tensors("demo", {"k": 1}, build)
    assert torch.equal(c["x"], a["x"]) and len(calls) == 2
    assert not list(path.parent.glob("*.tmp"))


def test_config_hash_ignores_key_order():
    assert cache.config_hash({"a": 1, "b": 2}) == cache.config_hash({"b": 2, "a": 1})
    assert cache.config_hash({"a": 1}) != cache.config_hash({"a": 2})


def test_profiles():
    assert check_profile("QUICK") == "quick"
    with pytest.raises(ValueError, match="valid profiles: quick, paper"):
        check_profile("quik")
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_results_file(tmp_path):
    path = write_results(
        "99_demo",
        "quick",
        0,
        1.5,
        {"name": "x", "identities": 2, "images": 4},
        {"value": torch.tensor(0.5), "nan": float("nan")},
        out_dir=tmp_path,
    )
    data = json.loads(path.read_text())
    assert data["value"] == 0.5 and data["nan"] is None and data["provenance"]["packages"]["torch"]
    assert read_results("99_demo", out_dir=tmp_path)["notebook"] == "99_demo"
    assert "runtime_s" not in stable_view(data)
    with pytest.raises(ValueError, match="may not override"):
        write_results("99_demo", "quick", 0, 1.0, {}, {"seed": 3}, out_dir=tmp_path)


# --------------------------------------------------------------------------- threads


@pytest.fixture
def thread_env(monkeypatch):
    """set_threads with a fake CPU quota of 3; returns the thread count it chose."""
    from facecure_lib import config

    chosen = []
    monkeypatch.setattr(config, "cpu_quota", lambda: 3)
    monkeypatch.setattr(config.torch, "set_num_threads", chosen.append)
    monkeypatch.setattr(config.torch, "get_num_threads", lambda: -1)
    for var in ("FACECURE_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)

    def threads(**env) -> int:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        config.set_threads()
        return chosen[-1]

    return threads


def test_threads_follow_the_cpu_quota(thread_env):
    assert thread_env() == 3


def test_threads_env_order(thread_env):
    assert thread_env(OMP_NUM_THREADS="2") == 2
    assert thread_env(FACECURE_THREADS="1", OMP_NUM_THREADS="2") == 1


def test_bad_thread_settings_fall_through_with_a_warning(thread_env):
    with pytest.warns(UserWarning, match="FACECURE_THREADS"):
        assert thread_env(FACECURE_THREADS="lots", OMP_NUM_THREADS="2") == 2
    with pytest.warns(UserWarning, match="OMP_NUM_THREADS"):
        assert thread_env(FACECURE_THREADS="", OMP_NUM_THREADS="0") == 3


def test_cpu_quota_is_within_the_affinity_mask():
    import os

    from facecure_lib.config import cpu_quota

    n = cpu_quota()
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert 1 <= n <= allowed
