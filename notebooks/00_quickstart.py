# %% [markdown]
# # 00 · Quickstart: faces, extractors and the recognition protocol
#
# This notebook sets the stage for the whole tutorial. A face recogniser here is a
# *feature extractor* g (a network that maps a picture to an embedding) plus a
# *nearest-neighbour* rule: a probe picture gets the identity of the closest enrolled
# picture. That is the protocol of the paper (§3.2): every identity's pictures are split
# 70/30, the 70% are "posted online and scraped" (the gallery), the 30% are later probes.
#
# * **quick profile** (default outside Colab): generated identities and small extractors
#   that the library trains on the *public* identities in about a minute each (cached).
# * **paper profile** (default in Colab): real faces and pretrained extractors.

# %% tags=["parameters"]
# Parameters (papermill overrides these)
# None -> "paper" in Colab, "quick" elsewhere
PROFILE = None
SEED = 0
# paper profile: "lfw", or a folder with one sub-folder per person
# (None: the folder in FACECURE_DATASET if set, else "lfw")
DATASET = None
# None -> the profile's default (paper: at most this many people / pictures of each)
N_IDENTITIES = None
PICTURES_PER_IDENTITY = None
# None -> every extractor of the profile
EXTRACTORS = None

# %%
from facecure_lib import notebook, plots, zoo
from facecure_lib.recognition import clean_accuracy

session = notebook.start(PROFILE, SEED)
scenario = notebook.load_world(
    session, DATASET, n_identities=N_IDENTITIES, pictures_per_identity=PICTURES_PER_IDENTITY
)
print(scenario.describe())

# %% [markdown]
# ## The faces
# In the quick profile every identity is a set of stable traits (face shape, skin and
# hair tone, eye, brow, nose and mouth geometry, marks, glasses, beard); every picture
# varies pose, scale, light, expression, background, blur and noise. Each row below is
# one identity.

# %%
import torch

idx = torch.cat([scenario.ds.indices_of(i)[:8] for i in scenario.private[:4]])
names = [scenario.ds.identities[int(scenario.ds.labels[i])] for i in idx]
plots.show(plots.show_faces(scenario.ds.images[idx], names), "00_faces")

# %% [markdown]
# ## The extractor zoo
# Each extractor stands in for an era of face recognition. In the quick profile they are
# trained on the public identities and cached; a second run loads them in a second.

# %%
import pandas as pd

names = EXTRACTORS or zoo.available(session.profile)
pd.DataFrame([vars(zoo.info(n)) for n in names])[["name", "era", "year", "recipe", "stands_for"]]

# %%
models = zoo.load_zoo(names, scenario, session.device)
accuracy = {n: clean_accuracy(m, scenario.protocol, session.device) for n, m in models.items()}
pd.Series(accuracy, name="clean 1-NN accuracy").round(3)

# %%
xlabel = f"1-NN accuracy on {len(scenario.private)} unseen identities"
plots.show(plots.accuracy_bars(accuracy, xlabel), "00_clean_accuracy")

# %% [markdown]
# The extractors never saw these identities during training: the recogniser only
# enrols them. Which recipe works best, and by how much, is printed above from this run.
#
# ## How realistic are the generated faces?
# `dlib-resnet` is a *real* face recogniser: dlib's ResNet descriptor (2017), trained on about
# 3 million real faces and shipped with this package (weights from face-api.js, checked against
# it). It never saw our generated people. If identity lived in their faces the way it does in
# photos, it would tell them apart well; a linear projection of the raw pixels says how much of
# identity is plain colour. (The paper profile's faces are real photos: it skips this check.)

# %%
from IPython.display import display

from facecure_lib import realism
from facecure_lib.data.dataset import subset
from facecure_lib.narrative import realism as story

reports, pixel_accuracy = {}, None
if session.profile == "quick":
    private = subset(scenario.ds, scenario.private)
    judges = {"dlib-resnet": zoo.load_extractor("dlib-resnet", device=session.device), **models}
    reports = {n: realism.realism_report(m, private) for n, m in judges.items()}
    pixel_accuracy = realism.pixel_lda_accuracy(private)
    notebook.say(story.generated_faces(reports, "dlib-resnet", pixel_accuracy))
    table = pd.DataFrame(reports).T[["nn_accuracy", "same_mean", "diff_mean"]]
    display(table.astype(float).round(3))
else:
    print("Skipped: the paper profile's faces are real photos, not generated ones.")

# %%
session.finish(
    scenario.summary(),
    {
        "clean_accuracy": accuracy,
        "extractors": {n: vars(zoo.info(n)) for n in names},
        "realism": {"models": reports, "pixel_lda_accuracy": pixel_accuracy},
    },
)
