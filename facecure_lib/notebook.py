"""What the first and the last cell of every notebook do: set up, and write the results file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from .config import check_profile, get_device, in_colab, seed_everything, set_threads
from .plots import set_style
from .results import Timer, write_results


@dataclass
class Session:
    """A running notebook: its profile, seed, device and timer."""

    notebook: str
    profile: str
    seed: int
    device: torch.device
    timer: Timer = field(default_factory=Timer)

    def finish(self, data: dict, findings: dict, out_dir: Path | None = None) -> Path:
        """Write `results/<profile>/<notebook>.json` and print where it went."""
        path = write_results(
            self.notebook, self.profile, self.seed, self.timer.elapsed(), data, findings, out_dir
        )
        print(f"results written to {path} ({self.timer.elapsed():.0f} s)")
        return path


def start(notebook: str, profile: str | None, seed: int, quiet: bool = False) -> Session:
    """Validate parameters, seed everything, pick the device, set the plot style."""
    profile = check_profile(profile)
    seed_everything(seed)
    set_threads()
    set_style()
    device = get_device()
    if not quiet:
        print(
            f"{notebook}: profile={profile} seed={seed} device={device} torch={torch.__version__}"
        )
        if profile == "paper" and device.type == "cpu":
            hint = (
                "In Colab: Runtime > Change runtime type > GPU."
                if in_colab()
                else "No GPU found: the paper profile will be slow on a CPU."
            )
            print(f"Hint: the paper profile wants a GPU. {hint}")
    return Session(notebook, profile, seed, device)
