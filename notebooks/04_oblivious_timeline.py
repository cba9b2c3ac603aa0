# %% [markdown]
# # 04 · The oblivious trainer: time is all you need
#
# A user cloaks a picture *once*, the day it goes online. The trainer who scrapes it can
# wait. This notebook plays the patient trainer of the paper (§3.4): it never looks at the
# attack, never trains against it, it only adopts the face models that come out *after*
# the pictures were cloaked. We ask four questions:
#
# 1. **Timeline** (paper Figs. 4-5): how well does each attack protect against models from
#    later eras? A *seed control* (the oldest recipe trained again with another seed) tells
#    "a newer technique" apart from "any other model".
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
# None -> "paper" in Colab, "quick" elsewhere
PROFILE = None
SEED = 0
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

from facecure_lib import experiments, imagenet, interpolation, notebook, paper, plots, timeline, zoo
from facecure_lib.narrative import timeline as story
from facecure_lib.profiles import get_profile
from facecure_lib.recognition import evaluate_protection
from facecure_lib.scenario import load_scenario

session = notebook.start(PROFILE, SEED)
scenario = load_scenario(session.profile, SEED)
setup = get_profile(session.profile).timeline
ATTACKS = list(ATTACKS)
surrogates = {a: experiments.surrogate_names(a, session.profile) for a in ATTACKS}
print(scenario.describe())

# %% [markdown]
# ## The timeline
# Each extractor below stands for an era of face recognition, ordered by the date its
# recipe became available. What changed from one era to the next is in the `recipe` and
# `notes` columns: plain softmax, then large-margin losses (CosFace, ArcFace) and residual
# networks, then heavy augmentation, then a generic model trained without labels and
# fine-tuned on faces. The seed control repeats the era-1 recipe with another seed.

# %%
names = list(setup.timeline) + [n for n in (setup.seed_control,) if n]
columns = ["name", "era", "year", "recipe", "notes", "stands_for"]
pd.DataFrame([vars(zoo.info(n)) for n in names])[columns]

# %%
needed = list(
    dict.fromkeys(
        names
        + [s for a in ATTACKS for s in surrogates[a]]
        + [n for n in (setup.generic, setup.tuned) if n]
    )
)
models = zoo.load_zoo(needed, scenario, session.device)
pd.DataFrame(
    {"attack": ATTACKS, "aims at (surrogates)": [", ".join(surrogates[a]) for a in ATTACKS]}
)

# %% [markdown]
# ## Cloak once, and for all
# Every attacking user cloaks all of its scraped pictures with each attack, aimed at the
# attack's surrogates (the models of its day). The cloaks are cached: notebook 02 uses the
# same ones. From here on the pictures never change; only the trainer's model does.

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
# averaged over users), and the same minus the model's clean error, because a model that
# gets 15% of *everyone* wrong also "protects" 15% of an unprotected user. Big circles mark
# each attack's own surrogates (white-box); the diamonds on the left are the seed control.

# %%
results = timeline.evaluate_timeline(
    {n: models[n] for n in names}, scenario.protocol, cloaks, device=session.device
)
infos = {n: zoo.info(n) for n in names}
records = timeline.timeline_records({n: results[n] for n in setup.timeline}, infos)
seed_record = None
if setup.seed_control:
    seed_record = timeline.timeline_records(
        {setup.seed_control: results[setup.seed_control]}, infos
    )[0]
table = timeline.timeline_table(results, infos, surrogates)
table.pivot(index="model", columns="attack", values=["protection_rate", "excess_protection"]).loc[
    names
].round(2)

# %%
fig = plots.plot_timeline(records, seed_record, surrogates)
plots.show(fig, "04_timeline")

# %% [markdown]
# ### A newer technique, or just another model?
# On small CNNs trained on generated faces, two independently trained networks often
# disagree about cloaks. So for each attack we compare three numbers, all protection minus
# clean error: on the attack's own surrogates (best of them), on the *other old* models
# (same era as the surrogates or older, but not surrogates; the seed control, the era-1 recipe
# with another seed, is always one of them), and averaged over the later models of the
# timeline. If the other old models already shrug the cloak off, waiting for a newer
# technique was not needed: *any other model* would do. The verdict below is computed from
# those numbers (a difference below 0.10 counts as no difference).

# %%
newest = setup.timeline[-1]
by_model = {r["model"]: r for r in records}
attributions = {
    a: timeline.attribute_drop(
        a, *timeline.attribution_inputs(records, seed_record, a, surrogates[a])
    )
    for a in ATTACKS
}
notebook.say("\n".join(f"- {attributions[a].sentence()}" for a in ATTACKS))
pd.DataFrame([vars(x) for x in attributions.values()]).round(2)

# %%
on_own = {
    a: max(by_model[s]["protection_rate"][a] for s in surrogates[a] if s in by_model)
    for a in ATTACKS
}
on_newest = {a: by_model[newest]["protection_rate"][a] for a in ATTACKS}
text, ok_own, ok_new = story.own_vs_newest(
    on_own, on_newest, newest, by_model[newest]["clean_error"]
)
notebook.say(text)
pd.DataFrame({"own surrogate (best)": on_own, f"newest ({newest})": on_newest}).round(2)

# %% [markdown]
# ## Exercise 1 · Leave some pictures unprotected
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
# Each attack is evaluated on its own (first) surrogate, where it works best, while 0, one,
# 10%, 25% and 50% of each user's scraped pictures are left clean. The clean pictures are
# picked in a seeded random order, nested across levels.

# %%
unprotected = {}
for a in ATTACKS:
    own = surrogates[a][0]
    unprotected[a] = timeline.unprotected_curve(
        models[own],
        scenario.protocol,
        cloaks[a],
        UNPROTECTED_LEVELS,
        seed=SEED,
        device=session.device,
    )
fig = plots.plot_unprotected(unprotected)
plots.show(fig, "04_unprotected")
pd.DataFrame(
    {a: {c["level"]: c["protection_rate"] for c in curve} for a, curve in unprotected.items()}
).round(2)

# %%
notebook.say(
    story.unprotected(
        {a: [c["protection_rate"] for c in curve] for a, curve in unprotected.items()}
    )
)

# %% [markdown]
# ## Mixed versions
# A user who cloaked its older pictures with the v0.3-style attack and its newer ones with
# the v1.0-style attack: half of its scraped pictures each way, evaluated on the v1.0
# surrogate (the paper measured 6% on Celeb1M).

# %%
mixed = timeline.mix_cloaks(cloaks["fawkes_v03"], cloaks["fawkes_v10"], 0.5)
v10_model = surrogates["fawkes_v10"][0]
mixed_res = evaluate_protection(models[v10_model], scenario.protocol, mixed, device=session.device)
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
pd.Series(mixed_table, name=f"protection on {v10_model}").round(2)

# %% [markdown]
# ## Exercise 2 · Interpolate two models' weights
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
from facecure_lib.exercises import nb04 as ex

interpolate_weights = ex.check_interpolate_weights(interpolate_weights)

# %% [markdown]
# ## Weight interpolation (App. B.3)
# The paper's generic model is zero-shot CLIP and the tuned one CLIP fine-tuned on faces; the
# quick profile's stand-ins are `generic_ssl` (trained without any identity label, SimCLR)
# and `generic_tuned`, its descendant fine-tuned with identity labels. The interpolation is
# only interesting for an attack that the tuned model is vulnerable to; if none of the three
# attacks transfers to it, we add the interpolation experiment's own attack: LowKey aimed at
# the tuned model itself. That mirrors the paper, where LowKey's ensemble had been trained on
# the same kind of face data as the CLIP fine-tune, so the fine-tune inherited its weakness.

# %%
interp_attacks = {}
if setup.generic and setup.tuned:
    tuned_res = (
        results.get(setup.tuned)
        or timeline.evaluate_timeline(
            {setup.tuned: models[setup.tuned]}, scenario.protocol, cloaks, device=session.device
        )[setup.tuned]
    )
    tuned_rec = timeline.timeline_records(
        {setup.tuned: tuned_res}, {setup.tuned: zoo.info(setup.tuned)}
    )[0]
    vulnerable = interpolation.vulnerable_attacks(
        tuned_rec["protection_rate"], tuned_rec["clean_error"]
    )
    interp_attacks = {a: cloaks[a] for a in ATTACKS}
    own_attack = None
    if not vulnerable:
        own_attack = f"lowkey->{setup.tuned}"
        interp_attacks[own_attack] = experiments.cloak_users(
            "lowkey", scenario, [models[setup.tuned]]
        )
    notebook.say(
        story.tuned_vulnerability(
            setup.tuned,
            tuned_rec["protection_rate"],
            tuned_rec["clean_error"],
            vulnerable,
            own_attack,
        )
    )
else:
    print("Skipped: this profile has no generic model with a face-tuned descendant offline.")

# %%
curve, best = [], {}
if interp_attacks:
    calib = scenario.public_images if BATCHNORM == "reestimate" else None
    curve = interpolation.interpolation_curve(
        models[setup.generic],
        models[setup.tuned],
        scenario.protocol,
        interp_attacks,
        ALPHAS,
        bn=BATCHNORM,
        calibration=calib,
        device=session.device,
    )
    best = {a: interpolation.best_tradeoff(curve, a) for a in interp_attacks}
    fig = plots.plot_interpolation(curve)
    plots.show(fig, "04_interpolation")
    display(
        pd.DataFrame(
            [
                {"alpha": c["alpha"], "clean_accuracy": c["clean_accuracy"], **c["protection_rate"]}
                for c in curve
            ]
        ).round(2)
    )

# %%
if curve:
    generic_pt = min(curve, key=lambda r: r["alpha"])["protection_rate"]
    notebook.say(story.interpolation(best, generic_pt, BATCHNORM))

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

# %% [markdown]
# ## What we found
# Every number above was computed in this run; the results file holds them all.

# %%
findings = {
    "timeline": records,
    "seed_control": (
        {
            k: seed_record[k]
            for k in (
                "model",
                "clean_accuracy",
                "clean_error",
                "protection_rate",
                "excess_protection",
            )
        }
        if seed_record
        else None
    ),
    "surrogates": surrogates,
    "attribution": {a: {**vars(x), "sentence": x.sentence()} for a, x in attributions.items()},
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
            "model": {a: surrogates[a][0] for a in ATTACKS},
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
