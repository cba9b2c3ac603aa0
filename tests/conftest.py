"""Shared fixtures: every test run uses its own cache folder unless FACECURE_CACHE is set."""

from __future__ import annotations

import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(scope="session", autouse=True)
def _threads():
    torch.set_num_threads(max(1, os.cpu_count() or 1))


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A private, empty cache folder for one test."""
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def one_thread():
    """Run a test's tiny models on one thread (much faster than two on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _strict_exercises():
    """In tests an exercise check raises on a wrong or unfinished answer (in notebooks it falls
    back to the library's solution instead)."""
    from facecure_lib import exercises

    with exercises.strict():
        yield


@pytest.fixture
def world(tmp_cache):
    """A colour 'world' for `facecure check`: 8 flat-colour identities (32 px) and the
    gallery of its private ones (see tests.helpers.colour_dataset)."""
    from facecure_lib.data.dataset import subset
    from facecure_lib.scenario import load_scenario

    from .helpers import colour_dataset

    ds = colour_dataset(n_ids=8, per_id=10, size=32)
    scenario = load_scenario("quick", 0, dataset=ds, n_public=3, n_attackers=1, progress=False)
    gallery = subset(ds, scenario.private, "colours")
    return scenario, gallery
