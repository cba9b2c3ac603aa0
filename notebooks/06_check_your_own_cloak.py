# %% [markdown]
# # 06 · Check your own cloak
#
# Fawkes users kept asking the same question, and no tool answered it: *"testing protection
# effectiveness is needed"* (Fawkes issue #82), *"does this still work today?"* (#192), and
# #134 in the same vein. This notebook (and the `facecure check` command behind it) gives the
# honest answer for **your** photos: it posts your cloaked photos to a gallery of other
# people, then asks every recogniser we have — oldest to newest, plus the adaptively trained
# one and a cloak detector if they are cached — to recognise you in clean photos taken later.
#
# The protocol is the paper's (§3.2): 70% of your photos are "posted online and scraped"
# (their cloaked versions go into the gallery), the other 30% are clean *test photos*. The
# **protection rate** of a recogniser is the fraction of your test photos it gets wrong.
#
# * **quick profile** (default outside Colab): a generated demo person, cloaked with a
#   built-in attack; the gallery is the generated private identities; the recognisers are the
#   package's small zoo. Runs offline in a few minutes.
# * **paper profile** (Colab): set `PHOTOS_DIR` to a folder of *your* photos (clean + cloaked
#   from Fawkes, LowKey or any tool); the gallery is LFW; the recognisers are pretrained.

# %% tags=["parameters"]
# Parameters (papermill overrides these)
# None -> "paper" in Colab, "quick" elsewhere
PROFILE = None
# the 70/30 split and the demo person
SEED = 0
# which generated world / trained zoo (keep 0: the zoo is cached for it)
WORLD_SEED = 0
# paper profile: the gallery's faces, "lfw", or a folder with one sub-folder per person
# (None: the folder in FACECURE_DATASET if set, else "lfw")
DATASET = None
# None: the profile's step counts; a number caps every attack's and training's steps
# (a quick look, or the tests' smoke run: the numbers then mean nothing)
MAX_STEPS = None
# your folder (clean + cloaked photos); None -> a generated demo person
PHOTOS_DIR = None
# cloaked file names: fawkes, lowkey, or e.g. "{stem}_protected.jpg"
PATTERN = "fawkes"
# the tool that cloaks the demo person
ATTACK = "fawkes_v10"
MODE = "high"
# photos of the demo person
N_PHOTOS = 20
# None -> every recogniser of the profile, oldest to newest
EXTRACTORS = None
# how many 70/30 splits to try when asking "how stable is the answer?"
SPLIT_SEEDS = 5

# %%
from pathlib import Path

import pandas as pd

from facecure_lib import notebook, plots, selfcheck, zoo
from facecure_lib.narrative import selfcheck as story

session = notebook.start(PROFILE, SEED, max_steps=MAX_STEPS)
scenario, gallery, gallery_desc = notebook.load_check_world(session, DATASET, WORLD_SEED)
names = list(EXTRACTORS) if EXTRACTORS else zoo.available(session.profile)
models = zoo.load_zoo(names, scenario, session.device)
print(f"gallery: {gallery.n_identities} other people, {len(gallery)} pictures ({gallery_desc})")
print("recognisers, oldest to newest:", ", ".join(models))

# %% [markdown]
# ## 1. A photo folder
# With `PHOTOS_DIR = None` we make a demo person the recognisers have never seen (generated
# from another seed, so it is in no gallery), and cloak every photo with a built-in attack,
# naming the results the way Fawkes does (`photo_00.png` → `photo_00_cloaked.png`). That is
# exactly what a Fawkes user's folder looks like. The folder lives in a temporary directory,
# removed when the kernel stops; the check only ever *reads* it.

# %%
if PHOTOS_DIR is None:
    workdir = selfcheck.demo_workdir()  # removed when the kernel stops
    photos_dir = selfcheck.make_demo_folder(
        workdir / "alex", scenario, ATTACK, MODE, N_PHOTOS, seed=SEED, pattern=PATTERN
    )
    source = f"demo person cloaked with {ATTACK} ({MODE})"
else:
    photos_dir = Path(PHOTOS_DIR).expanduser()
    source = f"your folder {photos_dir}"
files = sorted(p.name for p in photos_dir.iterdir())
print(f"{photos_dir}: {len(files)} files, e.g. {files[:4]}")
hashes_before = selfcheck.folder_hashes(photos_dir)

# %% [markdown]
# ### Exercise 1 — pair clean and cloaked photos
# A cloaking tool writes `NAME<suffix>` next to `NAME.jpg` (Fawkes: `_cloaked.png`, LowKey:
# `_attacked.png`). Write `pair_photos(names, suffix)` that returns three things: a dict
# `{clean name: cloaked name}`, the list of *orphans* (cloaked files without their clean
# photo), and the list of *unpaired* clean photos. The library does the same (with full
# patterns) in `selfcheck.pair_names`, and refuses to run on orphans or unpaired photos, because
# a mismatched pair would make the verdict meaningless.


# %%
def pair_photos(names, suffix):
    # HINT: strip the suffix from a cloaked name; a clean name whose Path(n).stem equals it pairs
    # BEGIN SOLUTION
    cloaked = [n for n in names if n.endswith(suffix)]
    clean = [n for n in names if not n.endswith(suffix)]
    by_stem = {Path(n).stem: n for n in clean}
    pairs, orphans = {}, []
    for c in cloaked:
        partner = by_stem.get(c[: -len(suffix)])
        if partner is None:
            orphans.append(c)
        else:
            pairs[partner] = c
    unpaired = [n for n in clean if n not in pairs]
    # END SOLUTION
    return pairs, orphans, unpaired


# %%
from facecure_lib.exercises import nb06 as ex

pair_photos = ex.check_pair_photos(pair_photos)
suffix = selfcheck.resolve_pattern(PATTERN).replace("{stem}", "")
pairs, orphans, unpaired = pair_photos(files, suffix)
print(f"{len(pairs)} pairs, {len(orphans)} orphans, {len(unpaired)} unpaired clean photos")

# %% [markdown]
# ### Exercise 2 — predict, then run
# The cloak was computed against the attack's surrogates (or, for your own photos, against
# whatever models your tool ships with). The check below asks every recogniser we have,
# oldest to newest.

# %%
notebook.predict(
    "What will the **newest** recogniser do with your cloaked photos: miss you in at least "
    f"{selfcheck.FOOLED:.0%} of your clean test photos (`fooled`), find you in most of them "
    "(`recognised you`), or something in between (`partly fooled`)?",
    list(ex.OUTCOME_CHOICES),
)


# %%
def my_prediction():
    # HINT: return one of the three options; any honest guess passes, but commit before running
    # BEGIN SOLUTION
    return "recognised you"
    # END SOLUTION


# %% [markdown]
# ## 2. The check
# One call runs everything: read and pair the photos (read-only), split them 70/30 with
# `SEED`, post the cloaked 70% into the gallery, and let each recogniser name the person in
# the clean 30%. Next to each protection rate the table shows how many test photos it rests
# on, a 95% interval, and the error the same recogniser makes when the *clean* photos are
# posted (`unprotected_error`): a cloak only helps by the difference (`excess_protection`).

# %%
result = selfcheck.check_cloak(
    photos_dir,
    profile=session.profile,
    seed=SEED,
    pattern=PATTERN,
    scenario=scenario,
    gallery=gallery,
    models=models,
    device=session.device,
)
cols = [
    "recogniser",
    "year",
    "protection_rate",
    "missed",
    "n_probes",
    "ci_low",
    "ci_high",
    "unprotected_error",
    "excess_protection",
    "others_accuracy",
    "outcome",
    "role",
]
result.table[cols].round(3)

# %%
fig = selfcheck.plot_protection(result, title=f"{source}: protection per recogniser")
plots.show(fig, "06_protection")

# %%
main_rows = result.table[~result.table["role"].str.startswith("adaptively")]
newest = main_rows.iloc[-1]["recogniser"]
newest_outcome = main_rows.iloc[-1]["outcome"]
guess = ex.check_prediction(
    "prediction (the newest recogniser)", my_prediction, ex.OUTCOME_CHOICES, newest_outcome
)

# %%
notebook.reveal(story.newest_answer(result.table, newest))

# %% [markdown]
# ### Exercise 3 — how much can a handful of test photos tell?
# A protection rate measured on a few photos is a coin flipped a few times. The *Wilson
# score interval* is the standard 95% interval for a proportion k/n that behaves well for
# small n and for k = 0 or k = n. With p = k/n and z = 1.96:
# centre = (p + z²/2n) / (1 + z²/n), half-width = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n).
# Write `wilson_interval(k, n, z=1.96)` returning (low, high), clipped to [0, 1], and (0, 1)
# when n = 0.

# %%
import math


def wilson_interval(k, n, z=1.96):
    # HINT: n == 0 -> (0.0, 1.0); else use the centre and half-width formulas above and clip
    # BEGIN SOLUTION
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
    # END SOLUTION


# %%
from facecure_lib.exercises import nb06 as ex

wilson_interval = ex.check_wilson_interval(wilson_interval)
mine = [wilson_interval(int(r.missed), int(r.n_probes)) for r in result.table.itertuples()]
agree = all(
    abs(a - r.ci_low) < 1e-9 and abs(b - r.ci_high) < 1e-9
    for (a, b), r in zip(mine, result.table.itertuples())
)
widths = result.table["ci_high"] - result.table["ci_low"]
notebook.say(story.intervals(agree, result.n_probes, widths.max(), widths.min()))

# %% [markdown]
# ### Exercise 4 — does the cloak help against a recogniser?
# A protection rate alone does not say whether the cloak did anything: a weak recogniser
# misses you often even when your photos are clean (`unprotected_error`), and a handful of
# test photos leaves a wide interval. Write `cloak_helps(protection_rate, ci_low,
# unprotected_error)` returning `"helps"` when the cloak makes the recogniser miss you more
# often than it would anyway even at the low end of the interval, `"no help"` when the
# protection rate is no higher than the unprotected error, and `"cannot tell"` otherwise.
# Then read the answer for the newest recogniser.


# %%
def cloak_helps(protection_rate, ci_low, unprotected_error):
    # HINT: which number is the recogniser's own error rate? which end of the interval is cautious?
    # BEGIN SOLUTION
    if protection_rate <= unprotected_error:
        return "no help"
    if ci_low > unprotected_error:
        return "helps"
    return "cannot tell"
    # END SOLUTION


# %%
cloak_helps = ex.check_cloak_helps(cloak_helps)
helps = {
    r.recogniser: cloak_helps(r.protection_rate, r.ci_low, r.unprotected_error)
    for r in result.table.itertuples()
}
reference = {
    r.recogniser: ex.solution_cloak_helps(r.protection_rate, r.ci_low, r.unprotected_error)
    for r in result.table.itertuples()
}
notebook.say(story.cloak_helps(reference, newest, helps == reference))

# %% [markdown]
# ## 3. What the cloak looks like
# Clean photo, cloaked photo, and their difference amplified ×10 (grey = no change), with the
# size of the change measured as DSSIM (the perceptual budget Fawkes uses).

# %%
fig = result.figure(n=3)
plots.show(fig, "06_cloak_triplets")
p = result.perturbation
print(
    f"DSSIM mean {p['dssim_mean']:.4f} (max {p['dssim_max']:.4f}), largest pixel change "
    f"{p['linf_255_max']:.0f}/255, PSNR {p['psnr_mean']:.1f} dB over {p['n']} photos"
)
d = result.detection
print("detector:", d if d.get("ran") else d["note"])

# %% [markdown]
# ## 4. How stable is the answer?
# The split decides which photos are test photos. Before trusting any number, re-run the
# check with other split seeds (same photos, same recognisers; embeddings are cached, so this
# is fast).

# %%
spread = {}
for s in range(SPLIT_SEEDS):
    r = selfcheck.check_cloak(
        photos_dir,
        profile=session.profile,
        seed=s,
        pattern=PATTERN,
        scenario=scenario,
        gallery=gallery,
        models=models,
        device=session.device,
        progress=False,
    )
    spread[s] = r.protection()
spread = pd.DataFrame(spread)
spread.columns = [f"split {s}" for s in spread.columns]
summary = pd.DataFrame(
    {"mean": spread.mean(axis=1), "min": spread.min(axis=1), "max": spread.max(axis=1)}
)
pd.concat([spread, summary], axis=1).round(2)

# %%
stable = float((summary["max"] - summary["min"]).max())
notebook.say(story.stability(summary, newest, SPLIT_SEEDS, selfcheck.FOOLED))

# %% [markdown]
# ## 5. The verdict, in plain words
# Generated from the numbers above; it states what the check cannot know.

# %%
notebook.say("**Verdict.** " + result.verdict())
notebook.say("**Limits.**\n" + "\n".join(f"- {s}" for s in result.limits()))

# %% [markdown]
# ## 6. The report, next to (never over) your photos
# `write_report` puts `report.md`, `check.json` and `cloak_examples.png` in a new folder next
# to yours (`<folder>_facecure_report/`); it refuses to replace an earlier report unless
# asked (`force=True`, `--force`). Then we make sure not a single byte of the photo folder
# changed.

# %%
report = selfcheck.write_report(result, force=True)
hashes_after = selfcheck.folder_hashes(photos_dir)
unchanged = hashes_after == hashes_before
print(
    f"report: {report.parent.name}/{report.name} next to the photo folder\n"
    f"photo folder unchanged: {unchanged} ({len(hashes_after)} files)"
)
notebook.say(result.to_markdown(figure=None))  # the report's text (its figure is in section 3)

# %% [markdown]
# ## 7. The same check from a terminal
# ```
# facecure check PHOTOS_DIR                      # Fawkes names: a.jpg + a_cloaked.png
# facecure check PHOTOS_DIR --pattern lowkey     # LowKey names: a.jpg + a_attacked.png
# facecure check PHOTOS_DIR --attack fawkes_v10 --mode high   # clean photos only
# ```
# It calls the same library function; below we run it in-process on the same folder (report
# into another folder) and compare its numbers with the ones above. Bad input (no pictures,
# unreadable files, cloaked files without their clean photo, too few photos, no face found)
# ends with exit code 2 and one message naming each problem.

# %%
import json

from facecure_lib import cli

cli_out = photos_dir.parent / "cli_report"
argv = [
    "check",
    str(photos_dir),
    "--out",
    str(cli_out),
    "--seed",
    str(SEED),
    "--pattern",
    PATTERN,
    "--quiet",
    "--profile",
    session.profile,
    "--force",
]
if EXTRACTORS:
    argv += ["--extractors", ",".join(EXTRACTORS)]
exit_code = cli.main(argv)
cli_numbers = json.loads((cli_out / "check.json").read_text())["protection"]
cli_matches = exit_code == 0 and all(
    abs(cli_numbers[k] - v) < 1e-9 for k, v in result.protection().items()
)
print(f"exit code {exit_code}; CLI numbers match the notebook: {cli_matches}")

# %%
from facecure_lib import exercises

notebook.say(
    story.closing(
        int((main_rows["outcome"] == "fooled").sum()),
        len(main_rows),
        newest,
        newest_outcome,
        reference[newest],
        stable,
        list(exercises.record()),
    )
)

# %%
t = result.table
findings = {
    "source": source,
    "attack": ATTACK if PHOTOS_DIR is None else None,
    "mode": MODE if PHOTOS_DIR is None else None,
    "n_photos": len(result.gallery_photos) + result.n_probes,
    "n_probes": result.n_probes,
    "protection": result.protection(),
    "unprotected_error": dict(zip(t["recogniser"], t["unprotected_error"])),
    "excess_protection": dict(zip(t["recogniser"], t["excess_protection"])),
    "interval": {r.recogniser: [r.ci_low, r.ci_high] for r in t.itertuples()},
    "outcome": dict(zip(t["recogniser"], t["outcome"])),
    "n_fooled": int((t["outcome"] == "fooled").sum()),
    "n_recognisers": len(t),
    "newest": newest,
    "newest_outcome": newest_outcome,
    "cloak_helps": reference,
    "split_seeds": {n: spread.loc[n].tolist() for n in spread.index},
    "split_range_max": float(stable),
    "detection": result.detection,
    "perturbation": result.perturbation,
    "verdict": result.verdict(),
    "limits": result.limits(),
    "notes": result.notes,
    "report_files": sorted(p.name for p in report.parent.iterdir()),
    "input_unchanged": unchanged,
    "cli_matches_library": bool(cli_matches),
}
session.finish(scenario.summary(), findings)
