"""Out-of-range parameters fail with a message that lists the valid values."""

import pytest
import torch

from facecure_lib import zoo
from facecure_lib.attacks import cloak
from facecure_lib.experiments import surrogate_names
from facecure_lib.notebook import start
from facecure_lib.scenario import load_scenario


def test_profile_typo():
    with pytest.raises(ValueError, match="valid profiles: quick, paper"):
        start("qiuck", 0, quiet=True, name="00_quickstart")


@pytest.mark.parametrize(
    "kw", [{"n_identities": -5}, {"pictures_per_identity": 1}, {"image_size": 4}]
)
def test_negative_or_tiny_sizes(kw, tmp_cache):
    with pytest.raises(ValueError, match="must be an integer"):
        load_scenario("quick", **kw, progress=False)


def test_public_count_out_of_range(tmp_cache):
    from .helpers import colour_dataset

    with pytest.raises(ValueError, match="n_public must be between"):
        load_scenario("quick", dataset=colour_dataset(6, 4), n_public=6, progress=False)


def test_paper_profile_without_data_says_what_to_do():
    with pytest.raises(ValueError, match="load_lfw|PROFILE='quick'"):
        load_scenario("paper")


def test_unknown_names():
    with pytest.raises(ValueError, match="valid: .*era1_softmax"):
        zoo.info("resnet9000")
    with pytest.raises(ValueError, match="valid: fawkes_v03, fawkes_v10, lowkey"):
        surrogate_names("fawkes_v2", "quick")
    with pytest.raises(ValueError, match="valid attacks"):
        cloak("fawkes_v2", torch.rand(1, 3, 32, 32), [torch.nn.Identity()])
