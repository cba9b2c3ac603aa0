"""Check your own cloak: do *your* cloaked photos resist today's and tomorrow's recognisers?

The question Fawkes users kept asking (Fawkes issues #82, #134, #192). Input: a folder of
ONE person's photos, either clean photos next to their cloaked versions from any tool
(paired by a file-name pattern, default Fawkes' `{stem}_cloaked.png`), or clean photos only
plus a built-in attack. The check runs the paper's protocol (§3.2) on that person:

* the photos are split 70/30 (seeded); the cloaked versions of the 70% are "posted online
  and scraped" into a gallery of other identities, the clean 30% are later probe photos;
* every extractor of the profile (oldest to newest), plus the adaptively robust one and the
  cloak detector when they can be had without training, tries to recognise the person;
* protection rate = the fraction of probes the recogniser gets wrong, with a 95% interval,
  next to the error the same recogniser makes when the photos are posted *unprotected*.

Nothing in the input folder is ever written: files are opened for reading only, and their
hashes are compared before and after every check. The report goes to a new sibling folder
`<folder>_facecure_report/` (or `out=`) and never overwrites existing files unless asked.

Modules: `spec` (torch-free constants and errors, read by the CLI), `names` (file-name
patterns and pairing), `inputs` (reading the folder), `pairs` (is a clean file and its
cloaked file really a photo and its cloak: EXIF orientation, size, DSSIM/PSNR), `stats`,
`world` (gallery, models, defenses), `run` (the check), `result`, `report` (words, figure,
files), `demo`.
"""

# Public names -> the module that holds them. Imported lazily (PEP 562), so that the command
# line can read `selfcheck.spec` without importing torch.
_EXPORTS = {
    "demo": ("demo_workdir", "make_demo_folder"),
    "inputs": (
        "PhotoFolder",
        "Photos",
        "folder_hashes",
        "folder_unchanged",
        "load_photos",
        "scan_photos",
    ),
    "names": ("pair_names", "pattern_regex", "resolve_pattern"),
    "pairs": ("exif_orientation", "implausible_pairs", "orientation_problem"),
    "report": (
        "check_writable",
        "default_report_dir",
        "plot_protection",
        "report_dir",
        "write_report",
    ),
    "result": ("CheckResult",),
    "run": ("check_cloak",),
    "spec": (
        "ATTACK_MODES",
        "DEFENSE_MODES",
        "EXIT_CODES",
        "EXTRACTORS",
        "FOOLED",
        "MAX_PAIR_DSSIM",
        "MAX_SEED",
        "MIN_PAIR_PSNR",
        "MIN_PICTURES",
        "PARTLY",
        "PATTERNS",
        "REPORT_FILES",
        "CheckInputError",
        "ReportExistsError",
    ),
    "stats": ("outcome", "split_photos", "wilson_interval"),
    "world": ("build_protocol", "load_detector", "load_models", "load_robust", "load_world"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__() -> list[str]:
    return __all__
