"""Cloaking attacks: Fawkes v0.3 / v1.0-style and LowKey-style, white-box and black-box.

Entry point: `cloak(attack, images, surrogates, mode=..., seed=...)` -> `CloakResult`.
"""

from .api import (
    ATTACKS,
    AttackSpec,
    CloakResult,
    attack_fingerprint,
    attack_params,
    attack_spec,
    cloak,
)
from .blackbox import BlackBoxError, FolderCloak, blackbox_cloak, cloak_folder
from .metrics import (
    DSSIMTo,
    border_ratio,
    change_by_border_distance,
    dssim,
    perturbation_report,
    ssim_window,
)

__all__ = [
    "ATTACKS",
    "AttackSpec",
    "BlackBoxError",
    "CloakResult",
    "DSSIMTo",
    "FolderCloak",
    "attack_fingerprint",
    "attack_params",
    "attack_spec",
    "blackbox_cloak",
    "border_ratio",
    "change_by_border_distance",
    "cloak",
    "cloak_folder",
    "dssim",
    "perturbation_report",
    "ssim_window",
]
