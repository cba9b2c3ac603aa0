"""Source of notebooks/00_quickstart.ipynb (run: python scripts/notebooks/nb00.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nbtools import write_notebook  # noqa: E402

TITLE = """# 00 · Quickstart: faces, extractors and the recognition protocol

This notebook sets the stage for the whole tutorial. A face recogniser here is a
*feature extractor* g (a network that maps a picture to an embedding) plus a
*nearest-neighbour* rule: a probe picture gets the identity of the closest enrolled
picture. That is the protocol of the paper (§3.2): every identity's pictures are split
70/30, the 70% are "posted online and scraped" (the gallery), the 30% are later probes.

* **quick profile** (default outside Colab): generated identities and small extractors
  that the library trains on the *public* identities in about a minute each (cached).
* **paper profile** (default in Colab): real faces and pretrained extractors."""

CELLS = [
    (
        "params",
        """# Parameters (papermill overrides these)
PROFILE = None          # None -> "paper" in Colab, "quick" elsewhere
SEED = 0
N_IDENTITIES = None     # None -> the profile's default
PICTURES_PER_IDENTITY = None
EXTRACTORS = None       # None -> every extractor of the profile""",
    ),
    (
        "code",
        """from facecure_lib import notebook, plots, zoo
from facecure_lib.recognition import clean_accuracy
from facecure_lib.scenario import load_scenario

session = notebook.start("00_quickstart", PROFILE, SEED)
scenario = load_scenario(session.profile, SEED, N_IDENTITIES, PICTURES_PER_IDENTITY)
scenario.summary()""",
    ),
    (
        "md",
        """## The faces
In the quick profile every identity is a set of stable traits (face shape, skin and
hair tone, eye, brow, nose and mouth geometry, marks, glasses, beard); every picture
varies pose, scale, light, expression, background, blur and noise. Each row below is
one identity.""",
    ),
    (
        "code",
        """import torch

rows = scenario.private[:4]
idx = torch.cat([scenario.ds.indices_of(i)[:8] for i in rows])
fig = plots.show_faces(scenario.ds.images[idx], [scenario.ds.identities[int(scenario.ds.labels[i])] for i in idx])
plots.savefig(fig, "00_faces")""",
    ),
    (
        "md",
        """## The extractor zoo
Each extractor stands in for an era of face recognition. In the quick profile they are
trained on the public identities and cached; a second run loads them in a second.""",
    ),
    (
        "code",
        """import pandas as pd

names = EXTRACTORS or zoo.available(session.profile)
pd.DataFrame([vars(zoo.info(n)) for n in names])[["name", "era", "year", "recipe", "stands_for"]]""",
    ),
    (
        "code",
        """models = zoo.load_zoo(names, scenario, session.device)
accuracy = {n: clean_accuracy(m, scenario.protocol, session.device) for n, m in models.items()}
pd.Series(accuracy, name="clean 1-NN accuracy").round(3)""",
    ),
    (
        "code",
        """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 3))
ax.barh(list(accuracy), list(accuracy.values()), color="#4C72B0")
ax.set_xlim(0, 1)
ax.set_xlabel(f"1-NN accuracy on {len(scenario.private)} unseen identities")
for y, v in enumerate(accuracy.values()):
    ax.text(v + 0.01, y, f"{v:.2f}", va="center")
plots.savefig(fig, "00_clean_accuracy")""",
    ),
    (
        "md",
        """The extractors never saw these identities during training: the recogniser only
enrols them. Which recipe works best, and by how much, is printed above from this run.""",
    ),
    (
        "code",
        """session.finish(scenario.summary(), {"clean_accuracy": accuracy,
                                    "extractors": {n: vars(zoo.info(n)) for n in names}})""",
    ),
]

if __name__ == "__main__":
    out = Path(__file__).resolve().parents[2] / "notebooks" / "00_quickstart.ipynb"
    write_notebook(out, TITLE, CELLS)
    print(out)
