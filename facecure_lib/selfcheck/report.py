"""The report of a check: a verdict in plain words, its limits, the Markdown report, the
protection figure, and the report files written next to (never into) the photo folder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import atomic_write_text, make_shared
from .inputs import folder_unchanged
from .result import CheckResult
from .spec import FOOLED, REPORT_FILES, CheckInputError, ReportExistsError


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def verdict(r: CheckResult) -> str:
    t = r.table
    if t.empty:
        return "No recogniser ran, so this check cannot say anything."
    main = t[~t["role"].str.startswith("adaptively")]
    robust = t[t["role"].str.startswith("adaptively")]
    n_fooled = int((main["outcome"] == "fooled").sum())
    newest = main.iloc[-1] if len(main) else t.iloc[-1]
    found = newest["n_probes"] - newest["missed"]
    parts = [
        f"Your cloak fooled {n_fooled} of {len(main)} recogniser(s) in this check "
        f"(fooled = it missed you in at least {_pct(FOOLED)} of your {newest['n_probes']} "
        "clean test photos)."
    ]
    parts.append(
        f"The newest one, {newest['recogniser']}"
        + (f" (stands for: {newest['stands_for']})" if newest["stands_for"] else "")
        + f", recognised you in {found} of {newest['n_probes']} test photos; with "
        f"unprotected photos it would miss you in {_pct(newest['unprotected_error'])} "
        "of them."
    )
    if len(robust):
        rb = robust.iloc[0]
        parts.append(
            f"A recogniser trained adaptively on cloaked pictures ({rb['recogniser']}) "
            f"recognised you in {rb['n_probes'] - rb['missed']} of {rb['n_probes']}."
        )
    d = r.detection
    if d.get("ran"):
        parts.append(
            f"A cloak detector flagged {d['flagged']} of {d['n_cloaked']} of your cloaked "
            f"photos as cloaked (and {d['false_alarms']} of {d['n_clean']} clean ones): "
            "a trainer can set flagged photos aside or treat them specially."
        )
    new_beaten = newest["outcome"] != "fooled"
    robust_beaten = len(robust) > 0 and robust.iloc[0]["outcome"] != "fooled"
    if n_fooled == 0:
        parts.append("In short: your cloak did not protect you against any recogniser here.")
    elif new_beaten or robust_beaten:
        which = " or ".join(
            w
            for w, b in (
                ("the newest recogniser", new_beaten),
                ("the adaptively trained one", robust_beaten),
            )
            if b
        )
        parts.append(
            f"In short: your cloak works against some recognisers but not against "
            f"{which}, and those are the ones that matter: photos you post stay "
            "online, and any later model can be run on them."
        )
    else:
        parts.append(
            "In short: your cloak fooled every recogniser in this check. That is the "
            "best this check can show, not a guarantee: a model trained after your "
            "photos were posted was never tested here (see the limits below)."
        )
    return " ".join(parts)


def limits(r: CheckResult) -> list[str]:
    t = r.table
    out = []
    if len(t):
        widest = t.assign(w=t["ci_high"] - t["ci_low"]).sort_values("w").iloc[-1]
        out.append(
            f"Few test photos: each protection rate rests on {r.n_probes} clean photo(s); "
            f"its 95% interval is up to {_pct(widest['ci_high'] - widest['ci_low'])} wide "
            f"(e.g. {widest['recogniser']}: {_pct(widest['ci_low'])} to "
            f"{_pct(widest['ci_high'])}). Another split seed gives other numbers."
        )
    out.append(
        "Only the recognisers listed were tested. Models trained in the future, or "
        "trained on your cloaked photos once they are scraped (the paper's adaptive "
        "trainer), can recognise you even if every model here was fooled."
    )
    if r.profile == "quick":
        out.append(
            "Quick profile: the other identities are generated faces. Recognisers marked "
            "'generated faces' are small models this package trained in minutes on synthetic "
            "people: a result on them shows how the cloak behaves against a model that never "
            "saw a real face, not how a real system treats your photos. Recognisers marked "
            "'real pictures' (dlib-resnet, a 2017 model trained on about 3 million real faces) "
            "are real pretrained systems. For more of them use the paper profile."
        )
    else:
        out.append(
            f"The gallery holds {r.gallery['identities']} other people; a real "
            "system compares you with millions, which makes mistakes more likely for "
            "clean and cloaked photos alike."
        )
    weak = t[t["unprotected_error"] >= 0.5] if len(t) else t
    if len(weak):
        out.append(
            "Some recognisers miss you even without a cloak ("
            + ", ".join(weak["recogniser"])
            + "); their protection rates say little "
            "about the cloak."
        )
    if not r.detection.get("ran"):
        out.append(f"Detectability was not measured by a detector ({r.detection.get('note')}).")
    out.append(
        "All photos are cropped and resized to "
        f"{r.gallery['image_size']} px before recognition, as a recogniser would do."
    )
    return out


def markdown(r: CheckResult, figure: str | None) -> str:
    from .. import __version__

    t = r.table
    lines = [
        f"# FaceCure check: {r.person}",
        "",
        f"Made {r.created} by facecure_lib {__version__} (`facecure check`), profile "
        f"**{r.profile}**, split seed {r.seed}.",
        "",
        "## What was checked",
        "",
        f"- Photos: `{r.folder}` — {len(r.gallery_photos) + len(r.probe_photos)} photo(s); "
        f"cloaks: {r.source}.",
        f"- Split (seed {r.seed}): the cloaked versions of {len(r.gallery_photos)} photo(s) "
        f"were posted to a gallery; {r.n_probes} clean photo(s) were used as test photos "
        f"({', '.join(r.probe_photos)}).",
        f"- Gallery: {r.gallery['identities']} other people "
        f"({r.gallery['pictures']} pictures), {r.gallery['description']}.",
        "- Protection rate = the fraction of your clean test photos the recogniser got "
        "wrong (higher is better for you). *Unprotected* = the same with your clean "
        "photos posted instead of the cloaked ones.",
        "",
        "## Protection per recogniser (oldest to newest)",
        "",
        "| recogniser | year | trained on | stands for | protection | test photos | "
        "95% interval | unprotected | others recognised | outcome |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in t.iterrows():
        year = "—" if row["year"] is None or pd.isna(row["year"]) else str(int(row["year"]))
        note = f" ({row['role']})" if row["role"] else ""
        lines.append(
            f"| {row['recogniser']} | {year} | {row.get('trained_on', '')} | "
            f"{row['stands_for']}{note} | "
            f"{_pct(row['protection_rate'])} | {row['n_probes']} | "
            f"{_pct(row['ci_low'])}–{_pct(row['ci_high'])} | "
            f"{_pct(row['unprotected_error'])} | {_pct(row['others_accuracy'])} | "
            f"{row['outcome']} |"
        )
    p, d = r.perturbation, r.detection
    lines += [
        "",
        "## Detectability",
        "",
        f"- Size of the cloak over {p['n']} photo(s): mean DSSIM {p['dssim_mean']:.4f} "
        f"(max {p['dssim_max']:.4f}), largest pixel change {p['linf_255_max']:.0f}/255, "
        f"mean PSNR {p['psnr_mean']:.1f} dB.",
    ]
    if d.get("ran"):
        lines.append(
            f"- Cloak detector (trained on {d.get('trained_on', 'other cloaks')}): "
            f"flagged {d['flagged']} of {d['n_cloaked']} cloaked photo(s) "
            f"({_pct(d['flagged_rate'])}) and {d['false_alarms']} of {d['n_clean']} "
            f"clean one(s); AUC {d['auc']:.2f}."
        )
    else:
        lines.append(f"- Cloak detector: {d.get('note')}.")
    if figure:
        lines += [
            "",
            "## Your photos: clean | cloaked | difference ×10",
            "",
            f"![clean, cloaked and amplified difference]({figure})",
        ]
    lines += ["", "## Verdict", "", r.verdict(), "", "## Limits of this check", ""]
    lines += [f"- {s}" for s in r.limits()]
    if r.notes:
        lines += ["", "## Notes", ""] + [f"- {s}" for s in r.notes]
    lines += [
        "",
        "Your photo folder was only read: no file in it was created, changed or "
        "deleted (checked by file hashes).",
        "",
    ]
    return "\n".join(lines)


# How each outcome is drawn: a colour of the colour-blind-safe palette (plots.COLORS), a
# hatching and the outcome written beside the bar, so that nothing relies on colour alone.
OUTCOME_STYLE = {
    "fooled": (0, ""),
    "partly fooled": (1, "//"),
    "recognised you": (3, "xx"),
}


def plot_protection(result: CheckResult, title: str | None = None):
    """Protection rate per recogniser (oldest at the top) with its 95% interval, the error
    without a cloak (o), and the 'fooled' threshold; each bar says its outcome in words and
    by hatching, not by colour alone. Returns a matplotlib Figure."""
    from matplotlib.figure import Figure

    from ..plots import COLORS, PALETTE

    t = result.table.iloc[::-1]
    fig = Figure(figsize=(7.5, 0.45 * len(t) + 2.0), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(t))
    rate = t["protection_rate"].to_numpy()
    err = np.clip(
        np.vstack([rate - t["ci_low"].to_numpy(), t["ci_high"].to_numpy() - rate]), 0, None
    )
    for o, (colour, hatch) in OUTCOME_STYLE.items():
        rows = (t["outcome"] == o).to_numpy()
        ax.barh(
            y[rows] if rows.any() else [0],
            rate[rows] if rows.any() else [0],
            color=COLORS[colour],
            hatch=hatch,
            edgecolor="k",
            lw=0.5,
            alpha=0.85,
            label=f"protection: {o}",
        )
    ax.errorbar(rate, y, xerr=err, fmt="none", ecolor="k", capsize=3, lw=1, label="95% interval")
    ax.scatter(
        t["unprotected_error"],
        y,
        marker="o",
        facecolor="white",
        edgecolor="k",
        zorder=3,
        label="error with clean photos posted",
    )
    ax.axvline(FOOLED, ls="--", color=PALETTE["clean"], lw=1)
    ax.set_yticks(
        y,
        [
            f"{r} ({int(yr)})" if pd.notna(yr) else str(r)
            for r, yr in zip(t["recogniser"], t["year"])
        ],
    )
    ax.set_xlim(0, 1.02)
    ax.set_xlabel(f"protection rate on your {result.n_probes} clean test photos")
    ax.set_title(title or f"{result.person}: {result.source}", fontsize=9)
    words = ax.twinx()  # each outcome in words, at the right of its bar
    words.set_ylim(ax.get_ylim())
    words.set_yticks(y, [f"{_pct(r)}: {o}" for r, o in zip(rate, t["outcome"])], fontsize=8)
    words.tick_params(length=0)
    words.grid(False)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3)
    return fig


# --------------------------------------------------------------------------- report files


def default_report_dir(photos_dir: str | os.PathLike) -> Path:
    """`<photos_dir>_facecure_report`, a sibling of the photo folder (symlinks resolved)."""
    folder = Path(photos_dir).expanduser().resolve()
    return (folder.parent / f"{folder.name}_facecure_report").resolve()


def _refuse(where: Path, message: str) -> CheckInputError:
    return CheckInputError(where, [(str(where), message)])


def _resolve_out(out: str | os.PathLike | None, folder: Path) -> Path:
    if out is None:
        return default_report_dir(folder)
    if not str(out).strip():
        raise CheckInputError("--out", [("''", "empty; give the report folder's path")])
    return Path(out).expanduser().resolve()


def check_writable(out_dir: Path) -> None:
    """Raise `CheckInputError` unless `out_dir` is a folder that can be written, or can be
    created (its nearest existing parent is a writable folder)."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise _refuse(existing, f"is not a folder, so the report cannot go to {out_dir}")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "the report folder" if existing == out_dir else f"the parent of {out_dir}"
        raise _refuse(existing, f"{what} is not writable; choose another --out")


def report_dir(
    photos_dir: str | os.PathLike, out: str | os.PathLike | None = None, force: bool = False
) -> Path:
    """Where the report of `photos_dir` goes; raise `CheckInputError` if it cannot go there.

    `out` or the sibling `<folder>_facecure_report/`, symlinks resolved: never the photo
    folder or inside it; a folder that exists or can be created, and is writable; report
    files that are symbolic links are refused; existing report files raise
    `ReportExistsError` unless `force` (other files are left alone). Called before a check
    starts, so a bad location fails at once.
    """
    folder = Path(photos_dir).expanduser().resolve()
    out_dir = _resolve_out(out, folder)
    if out_dir == folder or folder in out_dir.parents:
        raise _refuse(
            out_dir,
            "the report folder must not be your photo folder or inside it (symbolic links "
            "followed); choose another --out",
        )
    check_writable(out_dir)
    links = [out_dir / f for f in REPORT_FILES if (out_dir / f).is_symlink()]
    if links:
        raise CheckInputError(
            out_dir,
            [(str(p), "is a symbolic link; the report never writes through one") for p in links],
        )
    existing = [out_dir / f for f in REPORT_FILES if (out_dir / f).exists()]
    if existing and not force:
        raise ReportExistsError(
            out_dir,
            [
                (str(p), "exists already; pass --force to replace it, or choose another --out")
                for p in existing
            ],
        )
    return out_dir


def save_figure(fig, path: Path) -> None:
    """Save a figure as PNG through a new, uniquely named temporary file beside `path` (never
    a file that exists, so never through a link), then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        make_shared(fd)
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=120)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(
    result: CheckResult, out: str | os.PathLike | None = None, force: bool = False
) -> Path:
    """Write report.md, check.json and cloak_examples.png; return the report.md path.

    The folder is `report_dir(result.folder, out, force)` (a sibling of the photo folder by
    default); report files already there are replaced only with `force`. The photo folder
    is hashed before and after: if writing the report changed it, RuntimeError.
    """
    out_dir = report_dir(result.folder, out, force)
    with folder_unchanged(result.folder):
        out_dir.mkdir(parents=True, exist_ok=True)
        save_figure(result.figure(), out_dir / "cloak_examples.png")
        atomic_write_text(out_dir / "check.json", json.dumps(result.to_dict(), indent=1))
        atomic_write_text(out_dir / "report.md", result.to_markdown("cloak_examples.png"))
    return out_dir / "report.md"
