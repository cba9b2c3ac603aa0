"""How long each notebook's paper profile takes on a free Colab T4: an estimate, not a
measurement (no T4 was available to this project).

Method. Each notebook's paper branch, with the paper profile's default sizes on LFW
(`PaperSizes`, read from `profiles.PAPER`) or the sizes of the scenario actually loaded
(`PaperSizes.from_scenario`, what `notebook.load_world` prints), is counted as forward and
forward+backward passes of pictures through each architecture (cold cache: the notebook run
alone, cloaks and models built from scratch, as on a fresh Colab runtime). Work = passes x FLOPs per
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

from dataclasses import dataclass, field, replace

NOTEBOOKS = (
    "00_quickstart",
    "01_threat_model_game",
    "02_adaptive_robust_training",
    "03_detection",
    "04_oblivious_timeline",
    "05_top2_and_thresholding",
    "06_check_your_own_cloak",
)
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


# LFW (`data.paper_data`): people with at least 10 pictures, the paper profile's threshold
LFW_PEOPLE = 158
LFW_MEAN_PICTURES = 27.4  # 4,324 pictures of those people
TRAIN_FRACTION = 0.7  # the protocol's scraped share of each person's pictures


def _lfw_pictures(cap: int) -> int:
    """Pictures of the paper profile's LFW people with at most `cap` each (0: all); every
    one of them has at least 10."""
    return LFW_PEOPLE * (cap if 0 < cap <= 10 else round(LFW_MEAN_PICTURES))


def _defaults() -> dict:
    """PaperSizes' defaults, read from the paper profile (`profiles.PAPER`) and LFW."""
    from .profiles import PAPER

    s, r, d, c = PAPER.sizes, PAPER.robust, PAPER.detection_sizes, PAPER.clip_tuning
    people = min(LFW_PEOPLE, s.n_identities or LFW_PEOPLE)
    pictures = people * _lfw_pictures(s.pictures_per_identity) // LFW_PEOPLE
    per_person = pictures / people
    return {
        "pictures": pictures,
        "attackers": s.n_attackers,
        "attacker_pictures": int(TRAIN_FRACTION * per_person),
        "public_pictures": pictures // 2,
        "detection_train_users": d.n_train_users,
        "detection_users": d.n_train_users + d.n_test_users,
        "pictures_per_user": d.pictures_per_user or round(per_person),
        "robust_cloaked": r.identities_per_attack * r.pictures_per_identity,
        "robust_repeat": r.cloaked_repeat,
        "robust_steps": r.steps,
        "robust_batch": r.batch_size,
        "robust_probe_steps": r.probe_steps,
        "clip_steps": c.steps if c else 0,
        "clip_batch": c.batch_size if c else 0,
        "models": tuple(dict.fromkeys((*PAPER.timeline.off_timeline, *PAPER.timeline.timeline))),
        "accurate_candidates": PAPER.accurate_candidates,
    }


_D = _defaults()


@dataclass(frozen=True)
class PaperSizes:
    """What a notebook's paper branch processes. Defaults: the paper profile's sizes on LFW
    (`profiles.PAPER`); `from_scenario` reads them off a loaded scenario instead."""

    pictures: int = _D["pictures"]  # enrolled pictures, every identity
    attackers: int = _D["attackers"]
    attacker_pictures: float = _D["attacker_pictures"]  # cloaked per attacker (its scraped ones)
    public_pictures: int = _D["public_pictures"]  # the trainer's pool
    detection_train_users: int = _D["detection_train_users"]
    detection_users: int = _D["detection_users"]  # notebook 03: training + held-out users
    pictures_per_user: int = _D["pictures_per_user"]
    robust_cloaked: int = _D["robust_cloaked"]  # per attack: identities x pictures (RobustConfig)
    robust_repeat: int = _D["robust_repeat"]
    robust_steps: int = _D["robust_steps"]
    robust_batch: int = _D["robust_batch"]
    robust_probe_steps: int = _D["robust_probe_steps"]
    e2e_steps: int = 120  # notebook 02's E2E_STEPS (EndToEndSettings)
    e2e_batch: int = 32
    clip_steps: int = _D["clip_steps"]
    clip_batch: int = _D["clip_batch"]
    alphas: int = 9
    detector_epochs: int = 3
    demo_photos: int = 20  # notebook 06: the demo person's photos, cloaked with Fawkes v1.0
    models: tuple[str, ...] = _D["models"]
    accurate_candidates: tuple[str, ...] = _D["accurate_candidates"]
    collusion_arch: str = "iresnet50"  # notebook 05's accurate model (likely ArcFace)

    @classmethod
    def from_scenario(cls, scenario, **changes) -> PaperSizes:
        """The sizes of a loaded paper scenario (its pictures, attackers and pools)."""
        proto = scenario.protocol
        cloaked = [len(proto.user_train_idx(u)) for u in proto.attackers]
        n_pool = scenario.pool_size("trainer")
        per_person = len(scenario.ds) / max(1, scenario.ds.n_identities)
        d = PaperSizes()
        users = min(d.detection_users, len(scenario.private) + n_pool)
        return replace(
            cls(),
            pictures=len(scenario.ds),
            attackers=len(proto.attackers),
            attacker_pictures=sum(cloaked) / max(1, len(cloaked)),
            public_pictures=round(n_pool * per_person),
            detection_train_users=min(d.detection_train_users, n_pool),
            detection_users=users,
            pictures_per_user=min(d.pictures_per_user, round(per_person)),
            robust_cloaked=min(d.robust_cloaked, round(n_pool * per_person)),
            **changes,
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

    def __add__(self, other: Work) -> Work:
        out = Work(dict(self.forward), dict(self.backward))
        out += other
        return out

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
    """Notebook 02's robust extractor (also built by notebook 05 on a cold cache)."""
    work = Work()
    for attack in ("fawkes_v03", "fawkes_v10", "lowkey"):
        work += cloak_work(attack, s.robust_cloaked)
    if s.robust_probe_steps:  # the linear probe embeds the training set once
        work.add("inception_resnet_v1", s.public_pictures + 3 * s.robust_cloaked * s.robust_repeat)
    work.add("inception_resnet_v1", s.robust_steps * s.robust_batch, True)
    return work


def _end_to_end(s: PaperSizes) -> Work:
    """Notebook 02's App. C.1 recogniser: one fine-tuning per (baseline/robust, attack)."""
    return Work().add("inception_resnet_v1", 2 * 3 * s.e2e_steps * s.e2e_batch, True)


def _detection(s: PaperSizes, modes: tuple[tuple[str, str | None], ...]) -> Work:
    """Cloak the training and held-out users' pictures for each mode, train one detector
    per mode, score the held-out pictures (and, for transfer, every other mode's)."""
    pictures = s.detection_users * s.pictures_per_user
    train = 2 * s.detection_train_users * s.pictures_per_user  # clean + cloaked
    test = 2 * (pictures - s.detection_train_users * s.pictures_per_user)
    work = Work()
    for attack, mode in modes:
        work += cloak_work(attack, pictures, mode)
        work.add("mobilenet_v2", s.detector_epochs * train, True)
        work.add("mobilenet_v2", test * len(modes))
    return work


DETECTION_MODES = (
    ("fawkes_v10", "low"),
    ("fawkes_v10", "mid"),
    ("fawkes_v10", "high"),
    ("lowkey", None),
)


def _collusion(s: PaperSizes) -> Work:
    """App. D: each helper's scraped pictures cloaked with Fawkes v0.3 (the profile's
    `collusion_mode`) against the accurate model, one helper per pair of attacking users."""
    from .profiles import PAPER

    steps, _, _ = attack_passes("fawkes_v03", PAPER.collusion_mode)
    helpers = s.attackers // 2
    return Work().add(s.collusion_arch, helpers * s.attacker_pictures * steps, True)


def notebook_work(notebook: str, sizes: PaperSizes | None = None) -> Work:
    """The passes of a notebook's paper branch (see the module docstring). Every notebook
    that cloaks the attacking users is counted with all three attacks."""
    s = sizes or PaperSizes()
    key = notebook[:2]
    if key not in ("00", "01", "02", "03", "04", "05", "06"):
        raise ValueError(f"Unknown notebook {notebook!r}; expected 00_... to 06_...")
    work = Work()
    if key == "00":
        work += embed_work(s.models, s.pictures)
    elif key in ("01", "04"):
        work += _cloak_all(s)
        work += _evaluate(s, s.models)
    elif key == "02":
        surrogates = ("facenet-casia-webface", "facenet-vggface2")
        work += _cloak_all(s) + _robust(s) + _end_to_end(s)
        work += _evaluate(s, (*surrogates, "facenet-casia-webface"))  # candidates + robust
    elif key == "03":
        work += _detection(s, DETECTION_MODES)
    elif key == "05":
        work += _cloak_all(s) + _robust(s) + _collusion(s)
        work += _evaluate(s, (*s.accurate_candidates, "facenet-casia-webface"))
        detector = replace(s, detection_users=s.detection_train_users)  # training users only
        work += _detection(detector, (DETECTION_MODES[2],))
    else:  # 06: the gallery (the private half), the demo person clean and cloaked
        work += cloak_work("fawkes_v10", s.demo_photos)
        work += embed_work(s.models, s.pictures // 2 + 2 * s.demo_photos)
    if key == "04":
        tuned = "clip-vit-b32-faces"
        work.add("clip_b32_pair", s.clip_steps * s.clip_batch, True)
        work += _evaluate(s, (tuned,) * s.alphas)  # interpolation curve
        # LowKey aimed at the tuned CLIP when no attack transfers to it (counted: worst case)
        lowkey_steps, _, views = attack_passes("lowkey")
        work.add(MODEL_ARCH[tuned], _attackers_cloaked(s) * lowkey_steps * views, True)
        work += embed_work((tuned,) * s.alphas, _attackers_cloaked(s))
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


def estimates(sizes: PaperSizes | None = None) -> dict[str, float]:
    """Estimated T4 minutes of every notebook's paper branch (README, instructor guide)."""
    return {nb: t4_minutes(nb, sizes) for nb in NOTEBOOKS}


def sizes_text(sizes: PaperSizes | None = None) -> str:
    """The sizes the estimates assume, in words (README, instructor guide)."""
    s = sizes or PaperSizes()
    return (
        f"{s.pictures} pictures (LFW people with at least 10 pictures, 10 of each), "
        f"{s.attackers} attacking users with {s.attacker_pictures:g} cloaked pictures each, "
        f"{s.robust_cloaked} public pictures cloaked per attack for robust training "
        f"({s.robust_steps} steps of {s.robust_batch}), detection on "
        f"{s.detection_users} users x {s.pictures_per_user} pictures, CLIP tuned "
        f"{s.clip_steps} steps of {s.clip_batch}"
    )


def readme_table(sizes: PaperSizes | None = None) -> str:
    """Markdown table of the estimated T4 minutes per notebook (a test keeps the README's
    and the instructor guide's copies equal to it)."""
    rows = [
        "| notebook | estimated minutes on a free Colab T4 (estimate, not measured) |",
        "|---|---|",
    ]
    rows += [f"| {nb} | ~{m:.0f} |" for nb, m in estimates(sizes).items()]
    return "\n".join(rows)
