# %% [markdown]
# # 02 · The adaptive trainer: robust training breaks the cloaks
#
# A cloak is published once; the attack that made it is public software. So the model
# trainer can *run the same tool* on pictures it already owns. This notebook plays that
# trainer (paper §3.3, Fig. 2, App. B.4 and C.1):
#
# 1. **Baseline.** The recogniser uses the trainer's model of the attacks' era, which the
#    attacks reach by transfer (as in the paper's Fig. 2). Do the cloaks work on it?
# 2. **Adaptive robust training.** The trainer cloaks some of its *public* (labelled)
#    identities with every attack it can call, fine-tunes its extractor end to end on clean +
#    cloaked pictures with a softmax head (a cloaked Alice is still labelled Alice), and
#    throws the head away.
# 3. **The same cloaks, the new extractor.** The users' pictures did not change, the model
#    did. The attacking users are never among the public identities the trainer used. A
#    *control* is fine-tuned exactly the same way without any cloaked picture: whatever it
#    achieves is not due to the cloaks.
# 4. **Three ways to recognise** (App. C.1): nearest neighbour, a linear probe, and
#    end-to-end fine-tuning on the gallery.

# %% tags=["parameters"]
# Parameters (papermill overrides these)
# None -> "paper" in Colab, "quick" elsewhere
PROFILE = None
SEED = 0
# paper profile: "lfw", or a folder with one sub-folder per person
# (None: the folder in FACECURE_DATASET if set, else "lfw")
DATASET = None
# attacking users (None: the profile's default)
N_ATTACKERS = None
# None: the profile's step counts; a number caps every attack's and training's steps
# (a quick look, or the tests' smoke run: the numbers then mean nothing)
MAX_STEPS = None
# None below -> the profile's robust-training recipe (profiles: quick / paper), chosen on
# validation identities (scripts/quick_world/robust_validation.py)
# the trainer's starting extractor (also the baseline recogniser): era3_arcface /
# facenet-casia-webface
BASE = None
# public identities the trainer cloaks with each attack (150 / 8)
IDENTITIES_PER_ATTACK = None
# ... and how many of their pictures (4 / 2)
PICTURES_PER_IDENTITY = None
# fine-tuning steps (2000 at batch 64 / 500 at batch 32)
ROBUST_STEPS = None
# "base": BASE's own head (quick: ArcFace); "softmax": a plain linear head (paper)
ROBUST_LOSS = None
# end-to-end recogniser: fine-tuning steps (batch 32)
E2E_STEPS = 120

# %%
import pandas as pd
import torch

from facecure_lib import exercises, experiments, notebook, plots, zoo
from facecure_lib.attacks.figures import plot_cloak_triplets
from facecure_lib.defenses import evaluation, robust
from facecure_lib.exercises import nb02 as ex
from facecure_lib.findings import across_seeds, load_seeds_table
from facecure_lib.narrative import predictions
from facecure_lib.narrative import robust as story
from facecure_lib.profiles import get_profile

session = notebook.start(PROFILE, SEED, max_steps=MAX_STEPS)
scenario = notebook.load_world(session, DATASET, n_attackers=N_ATTACKERS)
config = get_profile(session.profile).robust_with(
    base=BASE,
    identities_per_attack=IDENTITIES_PER_ATTACK,
    pictures_per_identity=PICTURES_PER_IDENTITY,
    steps=ROBUST_STEPS,
    loss=ROBUST_LOSS,
)
BASE, IDENTITIES_PER_ATTACK = config.base, config.identities_per_attack
PICTURES_PER_IDENTITY, ROBUST_STEPS = config.pictures_per_identity, config.steps
ATTACKS = list(experiments.ATTACK_KEYS)
surrogates = {a: experiments.surrogate_names(a, session.profile) for a in ATTACKS}
print(scenario.describe())

# %% [markdown]
# ## Who aims at what
# Each attack crafts its cloaks against its own *surrogate* extractors, trained on other
# people than the trainer's models. The baseline is the trainer's model; the table says
# which attacks, if any, crafted against it.

# %%
from facecure_lib.recognition import evaluate_protection

models = zoo.load_zoo(
    list(dict.fromkeys([*(s for a in ATTACKS for s in surrogates[a]), BASE])),
    scenario,
    session.device,
)
base = models[BASE]
base_seen_by = [a for a in ATTACKS if BASE in surrogates[a]]
base_error = evaluate_protection(base, scenario.protocol, {}, device=session.device).clean_error
pd.DataFrame({"surrogates": {a: ", ".join(surrogates[a]) for a in ATTACKS}}).assign(
    **{f"crafted against {BASE}": [a in base_seen_by for a in ATTACKS]}
)

# %%
notebook.say(story.baseline_choice(BASE, base_seen_by, len(ATTACKS), base_error))

# %% [markdown]
# ## The users cloak their pictures
# Every attacking user cloaks all of its scraped pictures with each attack (default mode:
# *high* for Fawkes), aimed at the attack's surrogates. The cloaks are cached and shared
# with notebook 04.

# %%
cloaks = {
    a: experiments.cloak_users(a, scenario, [models[s] for s in surrogates[a]]) for a in ATTACKS
}
attackers = scenario.protocol.attackers
n_pics = len(cloaks[ATTACKS[0]][attackers[0]])
print(f"{len(attackers)} attacking users, {n_pics} cloaked pictures each")

# %% [markdown]
# ### Exercise 1 · The protection rate
# The recogniser embeds the gallery (everyone's scraped pictures, the user's cloaked ones
# included) and each clean probe picture of the user, and answers with the identity of the
# nearest gallery picture (Euclidean distance). The **protection rate** of a user is the
# fraction of its probes answered with *another* identity. Write it.


# %%
def protection_rate(gallery_emb, gallery_labels, probe_emb, user):
    """Fraction of `probe_emb` (all pictures of `user`) whose nearest gallery picture
    has a label other than `user`."""
    # HINT: torch.cdist(probe_emb, gallery_emb).argmin(dim=1) is each probe's nearest picture
    # BEGIN SOLUTION
    nearest = torch.cdist(probe_emb.float(), gallery_emb.float()).argmin(dim=1)
    return float((gallery_labels[nearest] != user).float().mean())
    # END SOLUTION


# %%
protection_rate = ex.check_protection_rate(protection_rate)

# %% [markdown]
# Your function against the library's (`recognition.evaluate_protection`) on one user
# and one attack, with the baseline extractor:

# %%
from facecure_lib.recognition import embed, evaluate_protection

proto = scenario.protocol
user = attackers[0]
g_idx = proto.gallery_idx
emb = embed(base, scenario.ds.images, device=session.device)
gallery, labels = emb[g_idx].clone(), scenario.ds.labels[g_idx]
gallery[labels == user] = embed(base, cloaks["fawkes_v10"][user], device=session.device)
mine = protection_rate(gallery, labels, emb[proto.user_test_idx(user)], user)
lib = evaluate_protection(base, proto, {user: cloaks["fawkes_v10"][user]}, device=session.device)
print(f"user {user}, fawkes_v10: yours {mine:.3f}, library {lib.per_user[user]:.3f}")

# %% [markdown]
# ## Baseline: do the cloaks work?
# Protection rate per attack, averaged over the attacking users, beside the clean error
# (the same users' error when they post clean pictures) and the excess protection (the
# difference) with its 95% interval over users.

# %%
baseline = evaluation.evaluate_attacks(base, proto, cloaks, "nn", session.device)
evaluation.excess_table({"baseline": baseline}).round(3)

# %% [markdown]
# ## The trainer fights back
# The trainer owns labelled public identities. For each attack it picks some of them
# (a different subset per attack, as in the paper where each attack was run on its own set
# of users), runs the *public attack tool* on their pictures (the tool ships its
# surrogates, so black-box access is all it takes) and adds the cloaked pictures, labelled
# with the person they show, to its clean training set.
#
# ### Exercise 2 · The robust training set
# Write the function that builds that set: the clean uint8 pictures and labels first, then
# the cloaked pictures (floats in [0, 1], which must go back to uint8 without losing a
# pixel) with *their person's* label.


# %%
def robust_training_set(clean_images, clean_labels, cloaked_images, cloaked_labels):
    """(uint8 [N+M, 3, H, W], labels [N+M]) with the clean pictures first."""
    # HINT: (x * 255).round().to(torch.uint8) turns cloaked floats back into pixels; torch.cat joins
    # BEGIN SOLUTION
    cloaked = (cloaked_images * 255).round().clamp(0, 255).to(torch.uint8)
    return torch.cat([clean_images, cloaked]), torch.cat([clean_labels, cloaked_labels]).long()
    # END SOLUTION


# %%
robust_training_set = ex.check_training_set(robust_training_set)

# %% [markdown]
# Now the library does it for real (`robust.train_robust_extractor`): cloak the public
# subsets (cached per attack), fine-tune a copy of the baseline extractor with a
# classification head on clean + cloaked pictures (batch slots drawn uniformly, random
# flips and small shifts), discard the head. Two details matter on our small models:
#
# * the head starts from a *linear probe* on the frozen features: a random head's first
#   large gradients wreck the features before it learns anything, and a model that is
#   simply worse also "loses" cloaked users — damage that must not be mistaken for
#   robustness (compare the clean errors below);
# * it is the base model's own kind of head (ArcFace: a normalised softmax with an angular
#   margin). With the paper's plain linear softmax head (`ROBUST_LOSS = "softmax"`) the same
#   budget left the Fawkes v1.0 and LowKey protection of *validation* people close to the
#   control's, while the base model's head removed most of it (record:
#   `docs/robust_validation.json`): a softmax only has to get the *class* right, while
#   nearest-neighbour search needs the cloaked embedding close to the clean ones. Try it
#   (suggestions at the end of the notebook);
# * it sees *many* cloaked people: 150 per attack, as the paper's trainer cloaks LowKey on
#   150 public users. With 48 people per attack (each cloak shown three times) LowKey kept
#   about half of its protection of the validation people; with 150 it kept almost none,
#   and twice the steps (the default) removed the rest (same record). The robust model has
#   to learn what the attack does to faces in general, not to a few dozen of them.
#
# For the default scenario and settings the trained weights ship with the package (built by
# `scripts/ship_zoo.py` with this very code; `FACECURE_TRAIN_ZOO=1` retrains). The result
# is cached by its whole configuration, attacks included, so notebook 05 loads the same
# model.

# %% [markdown]
# ### Exercise 3 · Predict, then run
# The users' cloaks stay exactly as they are. After robust training, will the new model
# still be fooled by the Fawkes v1.0 cloaks?

# %%
notebook.predict(
    "Against the robust model, Fawkes v1.0's cloaks will leave the users `fooled` (excess "
    "protection ≥ 0.5), `partly` fooled, or `not fooled` (≤ 0.1)?",
    list(predictions.FOOLED),
)


# %%
def my_prediction():
    # HINT: return one of the options above, as a string; commit before running on
    # BEGIN SOLUTION
    return "not fooled"
    # END SOLUTION


# %%
robust_model = robust.train_robust_extractor(scenario, config, session.device)
control = robust.train_robust_extractor(scenario, robust.control_config(config), session.device)
pool = scenario.pool("trainer")
notebook.say(
    story.training_set(
        len(pool),
        pool.n_identities,
        min(config.identities_per_attack, pool.n_identities),
        config.pictures_per_identity,
        len(config.attacks),
        config.cloaked_repeat,
        config.steps,
        0,
    )
)

# %%
# What the trainer's copy of each tool does to one of its own pictures
examples = robust.example_cloaks(scenario, config, session.device)
clean_pics = [examples[a][0] for a in ATTACKS]
cloaked_pics = [examples[a][1] for a in ATTACKS]
fig = plot_cloak_triplets(clean_pics, cloaked_pics, n=len(ATTACKS), titles=ATTACKS)
plots.show(fig, "02_trainer_cloaks")

# %% [markdown]
# ## The same cloaks against the robust extractor, and against the control
# The control is the baseline fine-tuned exactly like the robust model (same steps, head,
# schedule and augmentation) on clean pictures only.

# %%
robust_nn = evaluation.evaluate_attacks(robust_model, proto, cloaks, "nn", session.device)
control_nn = evaluation.evaluate_attacks(control, proto, cloaks, "nn", session.device)
sides = {"baseline": baseline, "control (no cloaks)": control_nn, "robust": robust_nn}
evaluation.excess_table(sides).round(3)

# %%
outcome, answer = predictions.robust_fooled(
    robust_nn.protection_rate["fawkes_v10"], robust_nn.clean_error, "fawkes_v10"
)
exercises.check_prediction(
    "prediction (robust model vs v1.0)", my_prediction, predictions.FOOLED, outcome, answer
)
notebook.reveal(answer)

# %%
values = {k: v.protection_rate for k, v in sides.items()}
spread = {k: {a: list(u.values()) for a, u in v.per_user.items()} for k, v in sides.items()}
errors = {k: v.clean_error for k, v in sides.items()}
title = "Fig. 2 (quick): cloaks vs. an adaptively trained extractor"
plots.show(plots.protection_bars(values, spread, errors, title), "02_fig2")

# %% [markdown]
# Dots are the individual attacking users; dashed lines are each model's clean
# error (the error an unprotected user gets).
#
# ## A user recognised again
# The user whose protection dropped the most: its clean probes (top row), the gallery
# picture the baseline matches them with, and the one the robust extractor matches them
# with (titles: the identity of the match; ✓ when it is the user).

# %%
attack = max(ATTACKS, key=lambda a: baseline.protection_rate[a] - robust_nn.protection_rate[a])
drop = {u: baseline.per_user[attack][u] - robust_nn.per_user[attack][u] for u in attackers}
shown = max(drop, key=drop.get)
images, titles = evaluation.recognised_again(
    base, robust_model, proto, shown, cloaks[attack][shown], session.device
)
plots.show(plots.show_faces(images, titles, ncols=len(images) // 3), "02_recognised_again")
print(
    f"user {shown}, attack {attack}: protection {baseline.per_user[attack][shown]:.2f} -> "
    f"{robust_nn.per_user[attack][shown]:.2f}"
)

# %% [markdown]
# ## Three ways to recognise (App. C.1)
# * **nn**: 1-nearest neighbour on frozen embeddings (used above);
# * **linear**: a logistic-regression probe trained on the frozen gallery embeddings;
# * **end_to_end**: extractor + linear softmax head fine-tuned on the gallery (cloaked
#   pictures included). To keep the cost at one fine-tuning per model and attack, all
#   attacking users are cloaked in the same gallery here (the other two modes evaluate one
#   attacking user at a time).

# %%
e2e = evaluation.EndToEndSettings(steps=E2E_STEPS, seed=SEED)
modes = {"nn": {"baseline": baseline, "robust": robust_nn}}
# end to end, the recogniser is fine-tuned on the gallery itself: its clean error is the
# yardstick for its protection rates (a model that gets everyone wrong "protects" everyone)
for mode in ("linear", "end_to_end"):
    modes[mode] = {
        name: evaluation.evaluate_attacks(m, proto, cloaks, mode, session.device, e2e)
        for name, m in (("baseline", base), ("robust", robust_model))
    }
rows = {
    (mode, name): {**ev.protection_rate, "clean error": ev.clean_error}
    for mode, d in modes.items()
    for name, ev in d.items()
}
modes_table = pd.DataFrame(rows).T
modes_table.round(3)

# %% [markdown]
# ## What we measured

# %%
mode_means = {
    m: tuple(
        sum(d[side].protection_rate.values()) / len(ATTACKS) for side in ("robust", "baseline")
    )
    for m, d in modes.items()
}
text, base_ok, rob_ok, cloaks_matter = story.what_we_measured(
    BASE,
    ATTACKS,
    baseline.protection_rate,
    baseline.clean_error,
    robust_nn.protection_rate,
    robust_nn.clean_error,
    control_nn.protection_rate,
    control_nn.clean_error,
    mode_means,
)
notebook.say(text)

# %% [markdown]
# **Why the user cannot win this round.** The cloak is fixed the day the picture goes
# online; the trainer moves second, with the attack in hand. Nothing about the user's
# picture changed between the two bars of the figure: only the model did. A user would have
# to anticipate a defense that is trained *after* the cloak is published.
#
# Try: set `IDENTITIES_PER_ATTACK = 48` (fewer cloaked people), `ROBUST_STEPS = 300`,
# `ROBUST_LOSS = "softmax"`, or start from another `BASE`, and see which attack recovers
# first (each setting trains its own model, a few minutes on a CPU). The defaults were
# chosen on held-out validation people of the public side, never on the attackers shown
# here (`scripts/quick_world/robust_validation.py`, record in `docs/robust_validation.json`).

# %%
findings = {
    "baseline": {**baseline.to_dict(), "seen_by": base_seen_by},
    "robust": robust_nn.to_dict(),
    "control": control_nn.to_dict(),
    "modes": {m: {name: ev.to_dict() for name, ev in d.items()} for m, d in modes.items()},
    "base_model": BASE,
    "robust_model": robust_model.cache_key,
    "robust_config": config.to_dict(),
    "end_to_end_settings": e2e.to_dict(),
    "criteria": {
        "baseline_all_attacks_over_50": base_ok,
        "robust_within_10_points": rob_ok,
        "cloaks_matter": cloaks_matter,
    },
}
session.finish(scenario.summary(), findings)

# %% [markdown]
# ## On other seeds
# A finding counts once it holds on other seeds too: `make seeds` re-runs this notebook on
# SEED 0, 1 and 2 and tabulates every finding.

# %%
notebook.say(across_seeds("02_adaptive_robust_training", load_seeds_table(session.profile)))
