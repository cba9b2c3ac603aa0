"""Every number this package quotes from the paper (Radiya-Dixit, Hong, Carlini, Tramèr,
"Data Poisoning Won't Save You From Facial Recognition", ICLR 2022; arXiv 2106.14851), each
with the table or figure it comes from. Notebooks and SUMMARY.md print these *beside* our
own measurements; nothing here is ever used as a measurement.
"""

from __future__ import annotations

# Table 2: one detector per attack, held-out users (accuracy, precision, recall, ROC AUC).
TABLE_2 = {
    "fawkes_low": {"accuracy": 0.991, "precision": 0.998, "recall": 0.984, "auc": 0.9972},
    "fawkes_mid": {"accuracy": 0.996, "precision": 0.998, "recall": 0.994, "auc": 0.9991},
    "fawkes_high": {"accuracy": 0.998, "precision": 0.998, "recall": 0.998, "auc": 0.9999},
    "lowkey": {"accuracy": 0.998, "precision": 0.998, "recall": 0.998, "auc": 0.9997},
}

# Table 3: a detector trained on one attack, tested on the other.
TABLE_3 = {
    "fawkes->lowkey": {"accuracy": 0.994, "precision": 0.990, "recall": 0.998, "auc": 0.9959},
    "lowkey->fawkes_high": {"accuracy": 0.719, "precision": 1.0, "recall": 0.439, "auc": 0.983},
}

# Table 4: adversarial top-1 accuracy of later ImageNet classifiers on PGD examples
# (eps = 16/255) crafted on a 2015 ensemble.
TABLE_4 = {"ResNet-101": 0.08, "DenseNet-121": 0.11, "WSL-ResNeXt": 0.49, "ViT-16": 0.57}

# What SUMMARY.md prints beside each of our findings: (notebook, finding) -> (paper, source).
SUMMARY = {
    ("00_quickstart", "best clean 1-NN accuracy"): (
        "FaceScrub 1-NN with surrogate-like extractors: ~92%",
        "Fig. 2",
    ),
    ("02_adaptive_robust_training", "baseline protection"): (
        "55-77% (all three attacks)",
        "Fig. 2",
    ),
    ("02_adaptive_robust_training", "robust protection"): (
        "5-8% (no higher than clean error)",
        "Fig. 2",
    ),
    ("03_detection", "detection accuracy"): ("99.1-99.8% (Fawkes), 99.8% (LowKey)", "Table 2"),
    ("03_detection", "transfer accuracy"): (
        "Fawkes->LowKey 99.4%, LowKey->Fawkes high 71.9%",
        "Table 3",
    ),
    ("04_oblivious_timeline", "protection on newest model"): (
        "LowKey 0-29% on (fine-tuned) CLIP; Fawkes 0% on MagFace",
        "Figs. 4-5, App. B.3",
    ),
    ("05_top2_and_thresholding", "combined systems"): (
        "match the accurate model's accuracy while robust",
        "Fig. 6",
    ),
}


def summary_text(notebook: str, finding: str) -> str:
    """'<paper's number> (<source>)' for a SUMMARY.md row, or '' when the paper has none."""
    quote = SUMMARY.get((notebook, finding))
    return f"{quote[0]} ({quote[1]})" if quote else ""
