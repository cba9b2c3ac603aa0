"""The paper profile's dataset: LFW's threshold from the wanted sizes, or a folder."""

from __future__ import annotations

import pytest

from facecure_lib.data import paper_data as pd_
from facecure_lib.data.folder import save_identity_folder
from tests.helpers import colour_dataset


def test_lfw_threshold_is_derived_from_the_wanted_sizes():
    # 158 people have >= 10 pictures: 79 stay private; >= 20 would leave 62 -> 31.
    assert pd_.lfw_min_faces(min_private=50, min_pictures=10) == 10
    assert pd_.private_identities(pd_.LFW_PEOPLE_WITH_AT_LEAST[10]) == 79
    assert pd_.private_identities(pd_.LFW_PEOPLE_WITH_AT_LEAST[20]) == 31
    assert pd_.lfw_min_faces(min_private=30, min_pictures=10) == 20  # fewer wanted: more pics
    with pytest.raises(ValueError, match="No known LFW threshold"):
        pd_.lfw_min_faces(min_private=100, min_pictures=10)


def test_lfw_is_loaded_with_that_threshold(monkeypatch):
    calls = []
    ds = colour_dataset(n_ids=6, per_id=10)
    monkeypatch.setattr(pd_, "load_lfw", lambda **kw: calls.append(kw) or ds)
    monkeypatch.delenv(pd_.DATASET_ENV, raising=False)
    assert pd_.load_paper_dataset(image_size=64) is ds
    assert calls == [{"min_faces_per_person": 10, "image_size": 64}]
    subset = pd_.load_paper_dataset("LFW", max_identities=3, seed=1)
    assert subset.n_identities == 3 and len(subset) == 30


def test_folder_dataset_and_env_setting(tmp_path, monkeypatch):
    root = save_identity_folder(colour_dataset(n_ids=3, per_id=10, size=32), tmp_path / "faces")
    ds = pd_.load_paper_dataset(root, image_size=48)
    assert ds.n_identities == 3 and ds.images.shape[1:] == (3, 48, 48)
    monkeypatch.setenv(pd_.DATASET_ENV, str(root))
    assert pd_.load_paper_dataset().n_identities == 3
    # Every identity needs min_pictures pictures (every attacker >= 10).
    with pytest.raises(ValueError, match="min_pictures=11"):
        pd_.load_paper_dataset(root, min_pictures=11)


def test_unknown_name_or_missing_folder_is_clear(tmp_path):
    with pytest.raises(ValueError, match="neither 'lfw' nor an existing folder"):
        pd_.load_paper_dataset("facescrub")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        pd_.load_paper_dataset(tmp_path / "file.txt")
