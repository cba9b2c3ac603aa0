"""How long each notebook's paper profile takes on a free Colab T4: an estimate, not a
measurement (no T4 was available to this project).

Method. Each notebook's paper branch, with its default sizes (`PaperSizes`), is counted as
forward and forward+backward passes of pictures through each architecture (cold cache: the
notebook run alone, cloaks and models built from scratch). Work = passes x FLOPs per
picture (torch's FlopCounterMode on one picture, forward; a backward pass counts twice a
forward). Time on a T4 = work / (peak x SUSTAINED x efficiency), with the T4's published
peak (8.1 TFLOPS fp32; 65 TFLOPS fp16 on tensor cores, only with mixed precision, which the
library does not use), SUSTAINED = 30% of peak for the best-suited architecture, and a
per-architecture efficiency from this CPU (`MEASURED`): its FLOPs per second relative to
ViT-B/16's (large matrix products), capped at 1, since what runs below par on a CPU
(depthwise convolutions, small layers) also runs below par on a GPU. Plus `SETUP_MINUTES`
per notebook (installing, downloading ~1.8 GB of weights and LFW on a fresh runtime).
"""

from __future__ import annotations

from dataclasses import dataclass, field

T4_PEAK_TFLOPS = {"fp32": 8.1, "fp16": 65.0}
SUSTAINED = 0.30
SETUP_MINUTES = 2.0
BACKWARD_FACTOR = 3.0  # forward + backward ~ 3 forwards (FLOPs)


@dataclass(frozen=True)
class Arch:
    """Measured per picture: FLOPs (G, forward; forward+backward as counted) and CPU
    seconds (forward; forward+backward), random weights, batch 2, one thread."""

    input_size: int
    gflops_fwd: float
    gflops_fwd_bwd_counted: float  # FlopCounterMode over-counts depthwise backward (MobileNet)
    cpu_s_fwd: float
    cpu_s_fwd_bwd: float

    @property
    def cpu_gflops_per_s(self) -> float:
        return BACKWARD_FACTOR * self.gflops_fwd / self.cpu_s_fwd_bwd


# scripts/measure_throughput.py, 2026-11-30: AMD EPYC (2 cores shared with a CPU-heavy job),
# torch 2.14.1, 1 thread, batch 2.
MEASURED_ON = "2026-11-30, AMD EPYC (shared), torch 2.14.1, 1 thread, batch 2"
MEASURED: dict[str, Arch] = {
    "inception_resnet_v1": Arch(160, 2.835, 8.506, 0.120, 0.287),
    "iresnet50": Arch(112, 12.619, 37.856, 0.223, 0.803),
    "vit_b32": Arch(224, 8.725, 26.176, 0.190, 0.670),
    "vit_b16": Arch(224, 33.696, 101.089, 0.709, 1.980),
    "mobilenet_v2": Arch(224, 0.602, 12.301, 0.024, 0.085),
    "dlib_resnet": Arch(150, 0.542, 1.083, 0.015, 0.032),
    "lpips_alex": Arch(112, 0.584, 0.876, 0.012, 0.023),
    "clip_b32_pair": Arch(224, 14.539, 43.618, 0.326, 1.043),  # image + caption, both towers
}
REFERENCE_ARCH = "vit_b16"
MODEL_ARCH = {
    "dlib-resnet": "dlib_resnet",
    "facenet-casia-webface": "inception_resnet_v1",
    "facenet-vggface2": "inception_resnet_v1",
    "arcface-r50-webface600k": "iresnet50",
    "clip-vit-b32-openai": "vit_b32",
    "clip-vit-b16-laion2b": "vit_b16",
    "clip-vit-b32-faces": "vit_b32",
}


@dataclass(frozen=True)
class PaperSizes:
    """Default sizes of the paper branch (LFW, people with >= 10 pictures)."""

    pictures: int = 4300  # ~ LFW people with >= 10 pictures (158 people); approximate
    attackers: int = 20
    attacker_pictures: int = 19  # cloaked per attacker: 70% of ~27 pictures (LFW mean)
    detection_users: int = 45  # notebook 03: 25 training + 20 held-out users
    pictures_per_user: int = 27
    robust_cloaked: int = 48 * 4  # per attack: identities x pictures (RobustConfig)
    robust_steps: int = 1000
    robust_batch: int = 64
    e2e_steps: int = 120
    e2e_batch: int = 32
    clip_steps: int = 500
    clip_batch: int = 64
    alphas: int = 9
    detector_epochs: int = 3
    models: tuple[str, ...] = field(
        default=(
            "dlib-resnet",
            "facenet-casia-webface",
            "facenet-vggface2",
            "arcface-r50-webface600k",
            "clip-vit-b32-openai",
            "clip-vit-b16-laion2b",
        )
    )


@dataclass
class Work:
    """Pictures through each architecture: forward-only and forward+backward passes."""

    forward: dict[str, float] = field(default_factory=dict)
    backward: dict[str, float] = field(default_factory=dict)

    def add(self, arch: str, pictures: float, backward: bool = False) -> Work:
        into = self.backward if backward else self.forward
        into[arch] = into.get(arch, 0.0) + pictures
        return self

    def __iadd__(self, other: Work) -> Work:
        for arch, n in other.forward.items():
            self.add(arch, n)
        for arch, n in other.backward.items():
            self.add(arch, n, backward=True)
        return self

    def gflops(self, arch: str) -> float:
        f = MEASURED[arch].gflops_fwd
        return f * self.forward.get(arch, 0.0) + BACKWARD_FACTOR * f * self.backward.get(arch, 0.0)


def attack_passes(attack: str, mode: str | None = None) -> tuple[int, int, int]:
    """(steps, surrogates, views) of an attack in the paper profile: every step is a
    forward+backward pass of each view of the picture through each surrogate."""
    from .attacks.api import attack_params
    from .profiles import PAPER

    _, params, _ = attack_params(attack, mode, "paper")
    surrogates = len(PAPER.surrogate_names(attack))
    if attack == "fawkes_v10":
        surrogates = min(surrogates, params.get("n_extractors", surrogates))
    views = 4 if attack == "lowkey" else 1  # plain, blurred, and both flipped
    return params["steps"], surrogates, views


def cloak_work(attack: str, pictures: float, mode: str | None = None) -> Work:
    """Cloaking `pictures` pictures with an attack against its paper surrogates."""
    steps, n_surrogates, views = attack_passes(attack, mode)
    work = Work().add("inception_resnet_v1", pictures * steps * n_surrogates * views, True)
    if attack == "lowkey":  # LPIPS-alex penalty, every step
        work.add("lpips_alex", pictures * steps, True)
    return work


def embed_work(models: tuple[str, ...], pictures: float) -> Work:
    work = Work()
    for m in models:
        work.add(MODEL_ARCH[m], pictures)
    return work


def _attackers_cloaked(s: PaperSizes) -> float:
    return s.attackers * s.attacker_pictures


def _cloak_all(s: PaperSizes) -> Work:
    work = Work()
    for attack in ("fawkes_v03", "fawkes_v10", "lowkey"):
        work += cloak_work(attack, _attackers_cloaked(s))
    return work


def _evaluate(s: PaperSizes, models: tuple[str, ...], attacks: int = 3) -> Work:
    return embed_work(models, s.pictures + attacks * _attackers_cloaked(s))


def _robust(s: PaperSizes) -> Work:
    work = Work()
    for attack in ("fawkes_v03", "fawkes_v10", "lowkey"):
        work += cloak_work(attack, s.robust_cloaked)
    work.add("inception_resnet_v1", s.robust_steps * s.robust_batch, True)
    work.add("inception_resnet_v1", s.e2e_steps * s.e2e_batch * 3, True)  # base, robust, ...
    return work


def _detection(s: PaperSizes, modes: tuple[tuple[str, str | None], ...]) -> Work:
    pictures = s.detection_users * s.pictures_per_user
    work = Work()
    for attack, mode in modes:
        work += cloak_work(attack, pictures, mode)
        train = 2 * (25 / s.detection_users) * pictures  # clean + cloaked, training users
        work.add("mobilenet_v2", s.detector_epochs * train, True)
        work.add("mobilenet_v2", 2 * pictures * len(modes))  # held-out + transfer
    return work


DETECTION_MODES = (
    ("fawkes_v10", "low"),
    ("fawkes_v10", "mid"),
    ("fawkes_v10", "high"),
    ("lowkey", None),
)


def notebook_work(notebook: str, sizes: PaperSizes | None = None) -> Work:
    """The passes of a notebook's paper branch with default sizes (see the module docstring)."""
    s = sizes or PaperSizes()
    key = notebook[:2]
    if key not in ("00", "01", "02", "03", "04", "05", "06"):
        raise ValueError(f"Unknown notebook {notebook!r}; expected 00_... to 06_...")
    work = Work()
    if key == "00":
        work += embed_work(s.models, s.pictures)
    elif key in ("01", "02", "04", "05"):
        work += _cloak_all(s)
        work += _evaluate(s, s.models if key in ("01", "04") else s.models[1:3])
    elif key != "06":
        work += _detection(s, DETECTION_MODES)
    if key in ("02", "05"):
        work += _robust(s)
    if key == "04":
        work.add("clip_b32_pair", s.clip_steps * s.clip_batch, True)
        work += _evaluate(s, ("clip-vit-b32-faces",) * s.alphas)  # interpolation curve
    if key == "05":
        work += _detection(s, (("fawkes_v10", "high"),))
    if key == "06":
        work += embed_work(s.models, 40)  # your photos, clean and cloaked
    return work


def efficiency(arch: str) -> float:
    """This CPU's FLOPs per second on `arch` relative to the reference, capped at 1."""
    return min(1.0, MEASURED[arch].cpu_gflops_per_s / MEASURED[REFERENCE_ARCH].cpu_gflops_per_s)


def t4_minutes(notebook: str, sizes: PaperSizes | None = None, precision: str = "fp32") -> float:
    """Estimated minutes of a notebook's paper profile on a Colab T4 (not measured)."""
    if precision not in T4_PEAK_TFLOPS:
        raise ValueError(f"precision must be one of {', '.join(T4_PEAK_TFLOPS)}")
    work = notebook_work(notebook, sizes)
    archs = set(work.forward) | set(work.backward)
    rate = T4_PEAK_TFLOPS[precision] * 1e3 * SUSTAINED  # GFLOPS
    seconds = sum(work.gflops(a) / (rate * efficiency(a)) for a in archs)
    return SETUP_MINUTES + seconds / 60


def cpu_minutes(notebook: str, sizes: PaperSizes | None = None) -> float:
    """The same work on one core of this CPU, from the measured seconds per picture."""
    work = notebook_work(notebook, sizes)
    fwd = sum(n * MEASURED[a].cpu_s_fwd for a, n in work.forward.items())
    bwd = sum(n * MEASURED[a].cpu_s_fwd_bwd for a, n in work.backward.items())
    return (fwd + bwd) / 60


def estimate_line(notebook: str, sizes: PaperSizes | None = None) -> str:
    """One printable line: "estimated on a T4: ~N min (estimate, not measured)"."""
    minutes = t4_minutes(notebook, sizes)
    return f"{notebook}: estimated on a T4: ~{minutes:.0f} min (estimate, not measured)"
