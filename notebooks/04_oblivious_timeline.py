# %% [markdown]
# # 04 · The oblivious trainer: time is all you need
#
# A user cloaks a picture *once*, the day it goes online. The trainer who scrapes it can
# wait. This notebook plays the patient trainer of the paper (§3.4): it never looks at the
# attack, never trains against it, it only adopts the face models that come out *after*
# the pictures were cloaked. The world is built like the real one: each attack's surrogates
# were trained on *other people* than the trainer's models (as Fawkes' and LowKey's were),
# so no model of the timeline was ever seen by an attack. We ask four questions:
#
# 1. **Timeline** (paper Figs. 4-5): does a cloak protect against the *contemporaries* of
#    the models it was crafted on, and does it still protect against *newer* models?
# 2. **Unprotected pictures** (Fig. 7): what if a few of the user's scraped pictures were
#    never cloaked?
# 3. **Mixed versions**: a user who switched from Fawkes v0.3 to v1.0 still has the old
#    pictures online.
# 4. **Weight interpolation** (App. B.3): between a generic model and its face-tuned
#    descendant, is there a model nearly as accurate as the tuned one but far more robust?
#
# Paper profile only: ImageNet adversarial examples crafted on an old ensemble, tested on
# newer classifiers (Table 4).

# %% tags=["parameters"]
# Parameters (papermill overrides these)
# None: "paper" in Colab with a GPU, "quick" elsewhere
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
ATTACKS = ("fawkes_v03", "fawkes_v10", "lowkey")
UNPROTECTED_LEVELS = (0.0, "1 picture", 0.1, 0.25, 0.5)
ALPHAS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# or "reestimate" (recompute BatchNorm statistics on public pictures)
BATCHNORM = "interpolate"
# paper profile: a folder of WordNet-id sub-folders (e.g. Imagenette)
IMAGENET_DIR = None
TABLE4_PER_CLASS = 10

# %%
import pandas as pd
import torch
from IPython.display import display

from facecure_lib import (
    exercises,
    experiments,
    imagenet,
    interpolation,
    notebook,
    paper,
    plots,
    timeline,
    zoo,
)
from facecure_lib.findings import across_seeds, load_seeds_table
from facecure_lib.narrative import predictions
from facecure_lib.narrative import timeline as story
from facecure_lib.profiles import get_profile
from facecure_lib.recognition import evaluate_protection

session = notebook.start(PROFILE, SEED, max_steps=MAX_STEPS)
scenario = notebook.load_world(session, DATASET, n_attackers=N_ATTACKERS)
profile = get_profile(session.profile)
setup = profile.timeline
ATTACKS = list(ATTACKS)
surrogates = {a: profile.surrogate_names(a) for a in ATTACKS}
contemporaries = {a: profile.contemporary_names(a) for a in ATTACKS}
print(scenario.describe())

# %% [markdown]
# ## The models
# Left of the timeline: the attacks' own surrogates, trained on the attack side's people.
# Then the trainer's models, oldest first: plain softmax, then large-margin losses (CosFace,
# ArcFace) and residual networks, then heavy augmentation and a low-pass input, then a new
# architecture: a generic vision transformer trained without labels, fine-tuned on faces
# (CLIP's story, scaled down). The *seed control* repeats the era-3 recipe with another seed:
# a second contemporary of Fawkes v1.0's and LowKey's surrogates, and the test of "newer"
# against "any other model".

# %%
controls = [n for n in (setup.seed_control,) if n]
names = list(dict.fromkeys([*setup.off_timeline, *controls, *setup.timeline]))
seen = timeline.seen_by(surrogates)


def role(name):
    if name in seen:
        return "surrogate of " + ", ".join(seen[name])
    attacks = [a for a in ATTACKS if name in contemporaries[a]]
    return ("contemporary of " + ", ".join(attacks)) if attacks else "newer"


infos = {n: zoo.info(n) for n in names}
pd.DataFrame(
    [{"model": n, "year": infos[n].year, "role": role(n), "recipe": infos[n].recipe} for n in names]
).set_index("model")

# %%
models = zoo.load_zoo(names, scenario, session.device)

# %% [markdown]
# ## Cloak once, and for all
# Every attacking user cloaks all of its scraped pictures with each attack in its strongest
# mode, aimed at the attack's surrogates (the models of its day). The cloaks are cached:
# notebooks 01, 02 and 05 use the same ones. From here on the pictures never change; only the
# trainer's model does.

# %%
cloaks = {
    a: experiments.cloak_users(a, scenario, [models[s] for s in surrogates[a]]) for a in ATTACKS
}
u = scenario.protocol.attackers[0]
clean = scenario.protocol.user_train_images(u)[:3]
fig = plots.show_faces(
    torch.cat([clean] + [cloaks[a][u][:3] for a in ATTACKS]),
    ["clean"] * 3 + [a for a in ATTACKS for _ in range(3)],
    ncols=3,
)
plots.show(fig, "04_cloaks")

# %% [markdown]
# ## Protection along the timeline
# For every model: the protection rate (error on the attacking users' clean probe pictures,
# averaged over users), and the *excess protection*, the same minus the model's clean error:
# a model that gets 5% of *everyone* wrong also "protects" 5% of an unprotected user. The
# error bars are 95% intervals over the attacking users (per-user protection ranges from 0
# to 1). Hollow markers: the attack crafted its cloaks against that very model.

# %% [markdown]
# ### Exercise 1 · Predict, then run
# Fawkes v1.0's cloaks were crafted on the attack's own era-2/era-3 models. The trainer has
# models of that era it never shared, and newer ones.

# %%
notebook.predict(
    "Where will Fawkes v1.0 protect more (excess protection): on the best `contemporary` "
    "model it never saw, on the `newest` model, or `about the same`?",
    list(predictions.WHERE),
)


# %%
def my_prediction():
    # HINT: return one of the options above, as a string; commit before running on
    # BEGIN SOLUTION
    return "contemporary"
    # END SOLUTION


# %%
results = timeline.evaluate_timeline(
    {n: models[n] for n in names}, scenario.protocol, cloaks, device=session.device
)
records = timeline.timeline_records(results, infos, seen)
plots.show(plots.plot_timeline(records, split=len(setup.off_timeline)), "04_timeline")
pd.DataFrame({r["model"]: r["excess_protection"] for r in records}).T.assign(
    clean_error=[r["clean_error"] for r in records]
).round(2)

# %% [markdown]
# ### Newer, or just another model?
# For each attack, two numbers decide: its excess protection on the best *contemporary* it
# never saw (a model of its surrogates' era trained by the trainer on its own people), and on
# the *newest* model of the timeline. The paper's claim is that the first is high (the cloak
# works against the models of its day) and the second low (newer models leave it behind).

# %%
contemporary = timeline.contemporary_transfer(records, contemporaries)
newest = timeline.newest_block(records, setup.timeline[-1])
text, pattern = story.synthesis(contemporary, newest)
notebook.say(text)
notebook.say(across_seeds("04_oblivious_timeline", load_seeds_table(session.profile)))

# %%
if "fawkes_v10" in contemporary:
    outcome, answer = predictions.contemporary_or_newest(
        contemporary["fawkes_v10"]["excess_protection"],
        newest["excess_protection"]["fawkes_v10"],
        "fawkes_v10",
        newest["model"],
    )
    exercises.check_prediction(
        "prediction (contemporary or newest)", my_prediction, predictions.WHERE, outcome, answer
    )
    notebook.reveal(answer)

# %% [markdown]
# ## Exercise 2 · Leave some pictures unprotected
# FaceCure's `cloak_frac` leaves part of a user's scraped pictures clean (pictures posted
# before the user installed Fawkes, or posted by friends). Write `leave_unprotected(cloaked,
# clean, k, order)`: return a copy of `cloaked` in which the pictures `order[:k]` are
# replaced by their clean originals.


# %%
def leave_unprotected(cloaked, clean, k, order):
    # HINT: copy `cloaked` with .clone(), then overwrite the rows order[:k] with clean[order[:k]]
    # BEGIN SOLUTION
    out = cloaked.clone()
    out[order[:k]] = clean[order[:k]]
    return out
    # END SOLUTION


# %%
from facecure_lib.exercises import nb04 as ex

leave_unprotected = ex.check_leave_unprotected(leave_unprotected)

# %% [markdown]
# ## A few unprotected pictures (Fig. 7)
# Each attack is evaluated on the contemporary where it protects best (a model it never saw)
# while 0, one, 10%, 25% and 50% of each user's scraped pictures are left clean. The clean
# pictures are picked in a seeded random order, nested across levels.

# %%
where = {a: contemporary[a]["model"] if a in contemporary else surrogates[a][0] for a in ATTACKS}
unprotected = {
    a: timeline.unprotected_curve(
        models[where[a]],
        scenario.protocol,
        cloaks[a],
        UNPROTECTED_LEVELS,
        seed=SEED,
        device=session.device,
    )
    for a in ATTACKS
}
plots.show(plots.plot_unprotected(unprotected), "04_unprotected")
notebook.say(
    story.unprotected(
        {a: [c["protection_rate"] for c in curve] for a, curve in unprotected.items()}
    )
)

# %% [markdown]
# ## Mixed versions
# A user who cloaked its older pictures with the v0.3-style attack and its newer ones with
# the v1.0-style attack: half of its scraped pictures each way, evaluated on the contemporary
# where v1.0 protects best (the paper measured 6% on Celeb1M).

# %%
mixed = timeline.mix_cloaks(cloaks["fawkes_v03"], cloaks["fawkes_v10"], 0.5)
v10_model = where["fawkes_v10"]
mixed_res = evaluate_protection(models[v10_model], scenario.protocol, mixed, device=session.device)
by_model = {r["model"]: r for r in records}
mixed_table = {
    "only v0.3": by_model[v10_model]["protection_rate"]["fawkes_v03"],
    "half v0.3 + half v1.0": mixed_res.mean,
    "only v1.0": by_model[v10_model]["protection_rate"]["fawkes_v10"],
}
notebook.say(
    story.mixed_versions(
        v10_model, mixed_table["only v0.3"], mixed_res.mean, mixed_table["only v1.0"]
    )
)

# %% [markdown]
# ## Exercise 3 · Interpolate two models' weights
# Wortsman et al.'s robust fine-tuning, used in App. B.3: with two models of the same
# architecture, θ = α·θ_tuned + (1 − α)·θ_generic. Write `interpolate_weights(generic_state,
# tuned_state, alpha)` for two `state_dict`s. BatchNorm's running means and variances are
# floating-point buffers: interpolate them too. Its `num_batches_tracked` is an integer:
# keep the tuned model's.


# %%
def interpolate_weights(generic_state, tuned_state, alpha):
    # HINT: for each key: alpha * t + (1 - alpha) * g if t.is_floating_point(), else t.clone()
    # BEGIN SOLUTION
    out = {}
    for key, t in tuned_state.items():
        g = generic_state[key]
        out[key] = alpha * t + (1 - alpha) * g if t.is_floating_point() else t.clone()
    return out
    # END SOLUTION


# %%
interpolate_weights = ex.check_interpolate_weights(interpolate_weights)

# %% [markdown]
# ## Weight interpolation (App. B.3)
# The paper's generic model is zero-shot CLIP and the tuned one CLIP fine-tuned on faces. The
# interpolation is only interesting for an attack that the tuned model is vulnerable to; if
# none of the three attacks transfers to it, we add the interpolation experiment's own
# attack: LowKey aimed at the tuned model itself.

# %%
interp_attacks, curve, best = {}, [], {}
if setup.generic and setup.tuned:
    generic_model = zoo.load_extractor(setup.generic, scenario, session.device)
    tuned_model = zoo.load_extractor(setup.tuned, scenario, session.device)
    tuned_res = timeline.evaluate_timeline(
        {setup.tuned: tuned_model},
        scenario.protocol,
        cloaks,
        device=session.device,
        progress=False,
    )
    tuned_rec = timeline.timeline_records(tuned_res, {setup.tuned: zoo.info(setup.tuned)})[0]
    vulnerable = interpolation.vulnerable_attacks(
        tuned_rec["protection_rate"], tuned_rec["clean_error"]
    )
    interp_attacks = {a: cloaks[a] for a in ATTACKS}
    own_attack = None
    if not vulnerable:
        own_attack = f"lowkey->{setup.tuned}"
        interp_attacks[own_attack] = experiments.cloak_users("lowkey", scenario, [tuned_model])
    notebook.say(
        story.tuned_vulnerability(
            setup.tuned,
            tuned_rec["protection_rate"],
            tuned_rec["clean_error"],
            vulnerable,
            own_attack,
        )
    )
    calib = scenario.public_images if BATCHNORM == "reestimate" else None
    curve = interpolation.interpolation_curve(
        generic_model,
        tuned_model,
        scenario.protocol,
        interp_attacks,
        ALPHAS,
        bn=BATCHNORM,
        calibration=calib,
        device=session.device,
    )
    best = {a: interpolation.best_tradeoff(curve, a) for a in interp_attacks}
    plots.show(plots.plot_interpolation(curve), "04_interpolation")
    generic_pt = min(curve, key=lambda r: r["alpha"])["protection_rate"]
    notebook.say(story.interpolation(best, generic_pt, BATCHNORM))
else:
    print("Skipped: this profile has no generic model with a face-tuned descendant.")

# %% [markdown]
# ## ImageNet adversarial examples over time (Table 4, paper profile)
# The same question outside faces: PGD examples (ε = 16/255) crafted on an ensemble of
# 2014-2015 ImageNet classifiers, tested on later ones. Our stand-ins for the paper's models
# are torchvision classifiers (their weights download, so this runs in Colab only). Give a
# folder of ImageNet-style pictures in `IMAGENET_DIR`, e.g. Imagenette:
# `!wget -q https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz`,
# `!tar xzf imagenette2-320.tgz`, then `IMAGENET_DIR = "imagenette2-320/val"`.

# %%
table4 = None
if session.profile != "paper":
    print(
        "Skipped in the quick profile: Table 4 needs pretrained ImageNet classifiers "
        "(downloads). Run this notebook with PROFILE='paper' in Colab, with IMAGENET_DIR set."
    )
elif IMAGENET_DIR is None:
    print("Skipped: set IMAGENET_DIR to a folder of WordNet-id sub-folders (see above).")
else:
    x, y = imagenet.load_imagenet_folder(IMAGENET_DIR, per_class=TABLE4_PER_CLASS)
    x, y = x.to(session.device), y.to(session.device)
    src = {
        n: imagenet.torchvision_classifier(n).to(session.device) for n in imagenet.TABLE4_SOURCES
    }
    tgt = {
        n: imagenet.torchvision_classifier(n).to(session.device) for n in imagenet.TABLE4_TARGETS
    }
    years = {**imagenet.TABLE4_SOURCES, **imagenet.TABLE4_TARGETS}
    df4 = imagenet.transfer_over_time(src, tgt, x, y, years)
    table4 = df4.to_dict("records")
    display(df4.round(3))
    print("paper (adversarial top-1):", paper.TABLE_4)

# %%
findings = {
    "timeline": records,
    "surrogates": surrogates,
    "contemporaries": contemporaries,
    "contemporary_transfer": contemporary,
    "newest": newest,
    "pattern_holds": pattern,
    "synthesis": text,
    "mixed_versions": {
        "model": v10_model,
        "protection_rate": mixed_res.mean,
        "protection_rate_per_user": list(mixed_res.per_user.values()),
        "compare": mixed_table,
    },
    "unprotected_fraction": [
        {
            "level": lvl["level"],
            "fraction": lvl["fraction"],
            "protection_rate": {a: unprotected[a][i]["protection_rate"] for a in ATTACKS},
            "model": where,
        }
        for i, lvl in enumerate(unprotected[ATTACKS[0]])
    ],
    "interpolation": curve,
    "interpolation_setup": (
        {
            "generic": setup.generic,
            "tuned": setup.tuned,
            "batchnorm": BATCHNORM,
            "attacks": list(interp_attacks),
            "best": best,
        }
        if curve
        else None
    ),
    "table4": table4,
}
session.finish(scenario.summary(), findings)
