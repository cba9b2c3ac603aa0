"""The threat-model games on a toy world with known answers.

Identities are flat colours. The "old" model embeds a picture by its mean colour, the "new"
one by the mean colour of its centre. The toy cloak repaints the border so that the *whole*
picture's mean colour moves far away while the centre stays: it fools the old model only.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facecure_lib import game, oracle, plots, static_game
from facecure_lib.game import DynamicGame, TrainerStrategy, UserStrategy
from facecure_lib.models.base import Extractor
from facecure_lib.recognition import Protocol, evaluate_protection

from .helpers import ROUND_KEYS, colour_dataset, mean_colour_extractor

SIZE = 32


class CentreColour(nn.Module):
    def forward(self, x):
        c = x.shape[-1] // 2
        return x[:, :, c - 4 : c + 4, c - 4 : c + 4].mean(dim=(2, 3))


def centre_extractor() -> Extractor:
    return Extractor(
        CentreColour(),
        "centre_colour",
        SIZE,
        mean=(0, 0, 0),
        std=(1, 1, 1),
        normalize=False,
        cache_key="centre_colour",
    )


def border_cloak(images: torch.Tensor) -> torch.Tensor:
    """Paint the border with the opposite colour: the whole-picture mean flips, the centre stays."""
    out = images.clone()
    c = SIZE // 2
    mask = torch.ones(SIZE, SIZE, dtype=torch.bool)
    mask[c - 4 : c + 4, c - 4 : c + 4] = False
    out[:, :, mask] = 1.0 - images.mean(dim=(2, 3), keepdim=True).squeeze(-1).expand(
        -1, -1, int(mask.sum())
    )
    return out


@pytest.fixture
def world(tmp_cache):
    ds = colour_dataset(n_ids=8, per_id=10, size=SIZE, seed=3)
    proto = Protocol.build(ds, list(range(8)), n_attackers=3, attacker_seed=1)
    cloaks = {"toy": {u: border_cloak(proto.user_train_images(u)) for u in proto.attackers}}
    models = {"old": mean_colour_extractor(SIZE), "new": centre_extractor()}
    return proto, models, cloaks


def test_the_toy_cloak_fools_only_the_old_model(world):
    proto, models, cloaks = world
    old = evaluate_protection(models["old"], proto, cloaks["toy"])
    new = evaluate_protection(models["new"], proto, cloaks["toy"])
    assert old.clean_accuracy == 1.0 and new.clean_accuracy == 1.0
    assert old.mean == 1.0 and new.mean == 0.0


def test_posting_slices_cover_every_picture_once():
    for n, r in [(14, 4), (3, 5), (7, 1)]:
        sl = game.posting_slices(n, r)
        assert len(sl) == r and torch.equal(torch.cat(sl), torch.arange(n))
        rounds = game.posting_round(n, r)
        assert rounds.min() >= 1 and rounds.max() <= r
    assert game.posting_round(14, 4).tolist() == [1] * 4 + [2] * 4 + [3] * 3 + [4] * 3


def test_strategies_and_rules():
    tl = {1: ["a"], 2: ["a", "b"], 3: ["a", "b", "c"]}
    assert TrainerStrategy.of("static").models(3, tl) == ["a", "a", "a"]
    assert TrainerStrategy.of("newest_on_new_data").models(3, tl) == ["a", "b", "c"]
    assert TrainerStrategy.of("retroactive").models(3, tl) == ["c", "c", "c"]
    with pytest.raises(ValueError, match="valid"):
        TrainerStrategy.of("clairvoyant")
    with pytest.raises(ValueError, match="available"):
        TrainerStrategy("cheat", lambda r, t: ["c"] * r).models(1, tl)
    u = UserStrategy.of(["fawkes_v03", None, "lowkey"])
    assert [u.attack(r) for r in (1, 2, 3, 4)] == ["fawkes_v03", None, "lowkey", "lowkey"]
    assert UserStrategy.of({1: "x", 3: "none"}).attacks == ("x", "x", None)
    assert UserStrategy.of("x").attack(5) == "x"
    assert static_game.winner(0.5) == "user" and static_game.winner(0.49) == "trainer"
    assert static_game.winner(0.6, threshold=0.7) == "trainer"
    assert game.default_timeline(3, ["p", "q"]) == {1: ["p"], 2: ["p", "q"], 3: ["p", "q"]}
    assert game.first_new_model_round(game.default_timeline(3, ["p", "q"])) == 2
    assert game.first_new_model_round({1: ["p"], 2: ["p"]}) is None
    control = game.control_timeline(game.default_timeline(3, ["p", "q", "r"]), "p2")
    assert control == {1: ["p"], 2: ["p", "p2"], 3: ["p", "p2"]}
    assert game.control_timeline({1: ["p"], 2: ["p"]}, "p2") == {1: ["p"], 2: ["p"]}


def test_one_round_game_is_the_recognition_protocol(world):
    proto, models, cloaks = world
    g = DynamicGame(proto, models, cloaks, n_rounds=1, timeline={1: ["old"]})
    r = g.play("toy", "retroactive")[0]
    ref = evaluate_protection(models["old"], proto, cloaks["toy"])
    assert r.per_user == ref.per_user and r.clean_accuracy == ref.clean_accuracy


def test_dynamic_game_known_answers(world):
    proto, models, cloaks = world
    tl = {1: ["old"], 2: ["old", "new"], 3: ["old", "new"]}
    g = DynamicGame(proto, models, cloaks, n_rounds=3, timeline=tl)
    rates = {s: [r.protection_rate for r in g.play("toy", s)] for s in game.TRAINER_STRATEGIES}
    assert rates["static"] == [1.0, 1.0, 1.0]  # the cloak fools the old model forever
    assert rates["retroactive"] == [1.0, 0.0, 0.0]  # the new model re-embeds everything
    assert rates["newest_on_new_data"] == [1.0, 0.0, 0.0]  # new pictures betray the user
    res = g.play("toy", "retroactive")
    assert [r.winner for r in res] == ["user", "trainer", "trainer"]
    assert [r.trainer_model for r in res] == ["old", "new", "new"]
    assert res[1].models_per_posting == ["new", "new"]
    assert all(r.clean_accuracy == 1.0 for r in res)
    d = res[0].to_dict()
    assert set(d) == ROUND_KEYS
    assert all(r.clean_error == 0.0 for r in res)  # unprotected, the toy users are found
    control = g.with_timeline(game.control_timeline(tl, "old"))
    assert [r.protection_rate for r in control.play("toy", "retroactive")] == [1.0] * 3
    assert d["user_attack"] == "toy" and d["trainer_strategy"] == "retroactive"
    # one clean slice is enough to be recognised by the old model too
    static = g.play(["toy", None, "toy"], "static")
    assert [r.protection_rate for r in static] == [1.0, 0.0, 0.0]
    assert static[1].user_attack is None and static[1].to_dict()["user_attack"] == "none"
    tab = game.rounds_table(res)
    assert list(tab["protection_rate"]) == [1.0, 0.0, 0.0] and "clean_accuracy" in tab


def test_lazy_sources_and_errors(world):
    proto, models, cloaks = world
    loaded = []

    def load(name):
        loaded.append(name)
        return models[name]

    g = DynamicGame(proto, load, lambda a: cloaks[a], n_rounds=2, timeline={1: ["old"], 2: ["old"]})
    g.play("toy", "retroactive")
    assert loaded == ["old"]
    with pytest.raises(ValueError, match="timeline"):
        DynamicGame(proto, models, cloaks, n_rounds=3, timeline={1: ["old"]})
    bad = {"toy": {u: c[:2] for u, c in cloaks["toy"].items()}}
    with pytest.raises(ValueError, match="cloaked pictures for"):
        DynamicGame(proto, models, bad, 1, {1: ["old"]}).play("toy", "static")


def test_static_game_and_oracle(world):
    proto, models, cloaks = world
    res = static_game.play_static(
        models["old"], proto, cloaks["toy"], "toy", budget={"max_dssim": None, "max_linf": None}
    )
    assert res.protection_rate == 1.0 and res.winner == "user" and res.oracle.passed
    # the border repaint is a huge perturbation: a real budget disqualifies it
    res = static_game.play_static(
        models["old"], proto, cloaks["toy"], "toy", budget={"max_dssim": 0.01, "max_linf": 8 / 255}
    )
    assert not res.oracle.passed and res.oracle.n_violations == res.oracle.n_pictures
    assert res.protection_rate == 0.0 and res.winner == "trainer"
    assert set(res.to_dict()) >= {"protection_rate", "winner", "oracle"}
    x = proto.user_train_images(proto.attackers[0])
    assert oracle.oracle_check(x, x.clone(), 0.0, 0.0).passed


def test_attack_budgets():
    assert oracle.attack_budget("fawkes_v03", "high")["max_dssim"] == pytest.approx(0.0088)
    b10 = oracle.attack_budget("fawkes_v10")
    assert b10["max_linf"] == pytest.approx(15 / 255) and b10["max_dssim"] == pytest.approx(0.0187)
    lk = oracle.attack_budget("lowkey")
    assert lk["max_dssim"] is None and 0 < lk["max_linf"] < 0.2


def test_plot_game(world):
    proto, models, cloaks = world
    g = DynamicGame(proto, models, cloaks, 2, {1: ["old"], 2: ["old", "new"]})
    fig = plots.plot_game({s: g.play("toy", s) for s in ("static", "retroactive")})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) >= 2


def test_exercise_checks_pass_solutions_and_catch_mistakes():
    from facecure_lib.exercises import ExerciseFailed, nb01

    assert nb01.check_within_budget(nb01.solution_within_budget)
    assert nb01.check_retroactive(game.assign_retroactive)
    with pytest.raises(ExerciseFailed):
        nb01.check_retroactive(game.assign_newest_on_new_data)
    with pytest.raises(ExerciseFailed):
        nb01.check_retroactive(game.assign_static)
    with pytest.raises(ExerciseFailed):  # ignores the L-inf budget
        nb01.check_within_budget(lambda c, x, d, li: nb01.solution_within_budget(c, x, d, None))
    with pytest.raises(ExerciseFailed):  # strict inequality flags unperturbed pictures
        nb01.check_within_budget(
            lambda c, x, d, li: (c - x).flatten(1).abs().amax(1) < (li if li is not None else 1)
        )
    with pytest.raises(NotImplementedError):
        nb01.check_retroactive(lambda r, t: (_ for _ in ()).throw(NotImplementedError("todo")))


def test_oracle_measures_independently_of_the_attacks():
    """The oracle's DSSIM comes from scikit-image, not from the code the attacks clamp with:
    it agrees with the library's to within its tolerance, and flags a cloak that is over
    budget by more than that."""
    from facecure_lib.attacks import dssim

    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    y = (x + 0.03 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    ours = dssim(x, y).numpy()
    theirs = oracle.independent_dssim(x, y)
    assert abs(theirs - ours).max() <= oracle.DSSIM_REL_TOL * ours.max()
    assert oracle.oracle_check(x, y, float(ours.max()) * 1.001, None).passed
    assert not oracle.oracle_check(x, y, float(ours.max()) * 0.9, None).passed
    assert not oracle.oracle_check(x, y, None, 0.01).passed
