"""What each profile is: sizes, who crafts against which model, the timeline, and the
defenses' default recipes. One place, so that a profile can be read (and changed) at once.

* `quick` (default outside Colab; CI): generated identities, the package's own small
  extractors (`zoo.QUICK_ZOO`), 2 CPU cores, minutes per notebook;
* `paper` (Colab, GPU): real faces and pretrained extractors (`models.pretrained`).

Notebooks read `get_profile(name)`; their `parameters` cells override single values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from .clip_tuning import TUNED_NAME, ClipTuningConfig
from .config import check_profile
from .models.train import Recipe

ATTACK_KEYS = ("fawkes_v03", "fawkes_v10", "lowkey")
DETECTOR_BACKBONES = ("efficientnet_lite0", "mobilenet_v2", "tiny_cnn")


@dataclass(frozen=True)
class Sizes:
    """Default sizes of the faces and the recognition protocol.

    Quick profile: `n_identities` generated private identities of `pictures_per_identity`
    pictures are enrolled; each public pool (the trainer's and the attacks') holds
    `pool_identities` generated identities of `pool_pictures` pictures. `appearance` scales
    the per-picture appearance changes of generated faces (see `data.generate`).
    Paper profile (real faces): at most `n_identities` people and at most
    `pictures_per_identity` pictures of each are kept (0: all; a seeded choice), half of
    the people public (`notebook.load_world`).
    """

    image_size: int
    n_identities: int
    pictures_per_identity: int
    n_attackers: int
    pool_identities: int = 0
    pool_pictures: int = 0
    appearance: float = 1.0


@dataclass(frozen=True)
class TimelineSetup:
    """The models of notebook 04: timeline (oldest first), seed control, interpolation pair.

    `off_timeline`: models evaluated beside the timeline without a place on it (the paper
    profile's attack surrogates, reported as seen by the attacks that used them).
    """

    timeline: tuple[str, ...]
    seed_control: str | None
    generic: str | None
    tuned: str | None
    off_timeline: tuple[str, ...] = ()


@dataclass(frozen=True)
class DetectorRecipe:
    """Everything that determines a trained detector besides its data (hashed into the key).

    `train_from`: index of the first trainable stage; the stages before it are frozen
    ImageNet features (computed once per picture). 0 fine-tunes the whole network.
    `probe`: keep every stage before `train_from` frozen and train only a linear head on the
    per-channel mean and standard deviation of each frozen stage's output (texture
    statistics at several scales; one forward pass per picture, no backward pass).
    `freeze_bn`: keep batch-norm statistics as they are (ImageNet's) while fine-tuning; with
    a few dozen steps on a few hundred pictures, updated running statistics lag behind the
    weights and mis-calibrate the scores.
    """

    backbone: str = "efficientnet_lite0"
    input_size: int = 64
    train_from: int = 3
    epochs: int = 3
    lr: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.0
    freeze_bn: bool = True
    probe: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.backbone not in DETECTOR_BACKBONES:
            raise ValueError(
                f"Unknown backbone {self.backbone!r}; valid: {', '.join(DETECTOR_BACKBONES)}"
            )
        if self.epochs < 1 or self.batch_size < 2 or self.train_from < 0:
            raise ValueError("epochs must be >= 1, batch_size >= 2 and train_from >= 0")

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes) -> DetectorRecipe:
        return replace(self, **changes)


@dataclass(frozen=True)
class DetectionSizes:
    """How many users and pictures a detection experiment uses: `n_train_users` of the
    trainer's pool with `pictures_per_user` pictures each (None: all) for training; the
    held-out users are the scenario's attacking users, all their scraped pictures
    (`n_test_users` is kept for older callers and not used)."""

    n_train_users: int = 25
    n_test_users: int = 20
    pictures_per_user: int | None = 2  # None: every picture of the user


@dataclass(frozen=True)
class RobustConfig:
    """Everything that determines a robust extractor (hashed into its cache key).

    `base`: the zoo extractor the trainer starts from. `attacks`: the tools it can call
    (each in its default mode unless `modes` says otherwise). For each attack it cloaks
    `pictures_per_identity` pictures of `identities_per_attack` public identities (a different
    seeded subset per attack, as in the paper); each cloaked picture appears `cloaked_repeat`
    times in the training set, so that batches see cloaks often enough. Fine-tuning: `steps`
    of `batch_size` pictures drawn uniformly from clean + cloaked, random flips and small
    shifts (`augment`), AdamW at `lr` with a cosine schedule, a linear softmax head that is
    discarded (`loss="base"` uses the base model's own kind of head instead, e.g. CosFace's
    normalised linear softmax head with a margin). The head starts from a linear probe on
    the frozen base features (`probe_steps`; 0 = a random head), so that fine-tuning does
    not first wreck the features it should only adjust.

    The quick profile's settings were chosen on validation identities of the public side,
    never on the reported attackers (`scripts/quick_world/robust_validation.py`, record in
    docs/robust_validation.json); `defenses.robust.control_config` is the same fine-tuning
    without cloaks.
    """

    base: str = "era3_arcface"
    attacks: tuple[str, ...] = ATTACK_KEYS
    modes: tuple[tuple[str, str], ...] = ()
    identities_per_attack: int = 150
    pictures_per_identity: int = 4
    cloaked_repeat: int = 1
    steps: int = 2000
    batch_size: int = 64
    lr: float = 3e-3
    augment: str = "light"
    loss: str = "base"
    probe_steps: int = 200
    seed: int = 0

    def mode_of(self, attack: str) -> str | None:
        return dict(self.modes).get(attack)

    def to_dict(self) -> dict:
        return asdict(self)

    def recipe(self, base_recipe: Recipe | None = None) -> Recipe:
        """The fine-tuning recipe (architecture fields copied from the base model's recipe)."""
        r = base_recipe or Recipe()
        loss = r.loss if self.loss == "base" else self.loss
        return r.with_(
            loss=loss,
            augment=self.augment,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            seed=1000 + self.seed,
        )


@dataclass(frozen=True)
class Profile:
    """One profile: its sizes, the attacks' surrogates, the timelines, the defenses."""

    name: str
    sizes: Sizes
    surrogates: dict[str, tuple[str, ...]]
    timeline: TimelineSetup
    game_models: tuple[str, ...]  # notebook 01: round r offers the first r of these
    detector: DetectorRecipe
    detection_sizes: DetectionSizes
    robust: RobustConfig = field(default_factory=RobustConfig)
    # per attack: models of its surrogates' era (or older) that the attack never saw
    contemporaries: dict[str, tuple[str, ...]] = field(default_factory=dict)
    clip_tuning: ClipTuningConfig | None = None  # how `timeline.tuned` is made (paper)
    # notebook 05: its accurate model is the most accurate of these on clean probes, and
    # the Fawkes v0.3 mode of the colluders' targeted cloaks (None: the attack's default)
    accurate_candidates: tuple[str, ...] = ()
    collusion_mode: str | None = None

    def surrogate_names(self, attack: str) -> list[str]:
        """The extractors an attack is crafted against in this profile."""
        if attack not in self.surrogates:
            raise ValueError(f"Unknown attack {attack!r}; valid: {', '.join(self.surrogates)}")
        return list(self.surrogates[attack])

    def robust_with(self, **overrides) -> RobustConfig:
        """The profile's robust-training config with the given fields replaced (None values
        keep the profile's): notebooks 02 and 05 build the same config from it."""
        return replace(self.robust, **{k: v for k, v in overrides.items() if v is not None})

    def contemporary_names(self, attack: str) -> list[str]:
        """Models of the attack's surrogates' era that it never saw (empty if none listed)."""
        self.surrogate_names(attack)  # a clear error for unknown attacks
        return list(self.contemporaries.get(attack, ()))


# the trainer's models, oldest first (see `zoo.QUICK_ZOO` for what each stands for)
_QUICK_TIMELINE = ("era1_softmax", "era2_cosface", "era3_arcface", "era4_robust", "era5_vit_tuned")

QUICK = Profile(
    name="quick",
    sizes=Sizes(
        image_size=64,
        n_identities=50,
        pictures_per_identity=20,
        n_attackers=16,
        pool_identities=1000,
        pool_pictures=10,
        appearance=1.0,
    ),
    # The attacks' surrogates are trained on the attack side's own people (`zoo`'s
    # `surrogate_era*`), never on the trainer's: Fawkes v0.3 aims at an era-1 CNN, Fawkes
    # v1.0 and LowKey at an era-2 CosFace / era-3 ArcFace pair (DESIGN §3, scaled). They stay off
    # the trainer's timeline and are reported beside it, as seen by the attacks.
    surrogates={
        "fawkes_v03": ("surrogate_era1",),
        "fawkes_v10": ("surrogate_era2", "surrogate_era3"),
        "lowkey": ("surrogate_era2", "surrogate_era3"),
    },
    # the trainer's models of the same era as each attack's surrogates, which it never saw
    contemporaries={
        "fawkes_v03": ("era1_softmax",),
        "fawkes_v10": ("era2_cosface", "era3_arcface", "era3_arcface_seed2"),
        "lowkey": ("era2_cosface", "era3_arcface", "era3_arcface_seed2"),
    },
    timeline=TimelineSetup(
        timeline=_QUICK_TIMELINE,
        seed_control="era3_arcface_seed2",
        generic="generic_vit",
        tuned="era5_vit_tuned",
        off_timeline=("surrogate_era1", "surrogate_era2", "surrogate_era3"),
    ),
    # notebook 01: round 1's model is the trainer's newest model of the era of the user's
    # tool (Fawkes v1.0's and LowKey's surrogates are era 2-3); later rounds bring newer eras
    game_models=_QUICK_TIMELINE[2:],
    # notebook 05: the accurate model is the most accurate of the trainer's models, measured
    # on validation people (never on the reported users)
    accurate_candidates=(*_QUICK_TIMELINE, "era3_arcface_seed2"),
    # Fine-tuning even the last stages of EfficientNet-Lite0 on 2 CPU cores took minutes per
    # detector and, with ~12 optimiser steps on 100 pairs, stayed near chance (AUC 0.75 on
    # fawkes_high); a linear head on the frozen stages' texture statistics at 128 px takes
    # seconds and separates the classes. Which stages and size: chosen on validation users of
    # the public side by a rule fixed beforehand (scripts/quick_world/detector_validation.py,
    # record docs/detector_validation.json: the statistics of stages 0-3 at 128 px, mean
    # validation AUC 0.979 against 0.965 for stages 0-5 and 0.935 at 64 px).
    detector=DetectorRecipe(input_size=128, train_from=4, epochs=30, lr=1e-2, probe=True),
    # 6 pictures per training user: two per Fawkes mode for the mixed-mode detector
    detection_sizes=DetectionSizes(25, 16, 6),
)

# Paper profile (see models.pretrained for each model, asset_registry for its file). The
# attacks' surrogates are the paper's 2018 facenets; they stay off the timeline and are
# evaluated beside it, as seen by those attacks. The timeline holds the models the attacks
# never saw, oldest first, eras by year (models.pretrained.era_of): dlib-resnet (2017, ships
# with the package), ArcFace IResNet-50 on WebFace600K (2021, margin loss), zero-shot CLIP
# ViT-B/32 (2021), OpenCLIP ViT-B/16 on LAION-2B (2022); notebook 04 adds CLIP fine-tuned on
# the public faces (clip_tuning) and its interpolation with zero-shot CLIP (App. B.3).
_PAPER_SURROGATES = ("facenet-casia-webface", "facenet-vggface2")
_PAPER_TIMELINE = (
    "dlib-resnet",
    "arcface-r50-webface600k",
    "clip-vit-b32-openai",
    "clip-vit-b16-laion2b",
)

# Sizes chosen so that every notebook's estimated time on a free Colab T4 stays under 15
# minutes (`estimate.t4_minutes`: an estimate, not a measurement); cloaking with the paper's
# step counts dominates. The paper used 20 attacking users with all their FaceScrub pictures;
# raise N_ATTACKERS (and these sizes) on a bigger GPU.
PAPER = Profile(
    name="paper",
    # all LFW people with >= 10 pictures (`data.paper_data.lfw_min_faces`), 10 pictures each
    sizes=Sizes(image_size=112, n_identities=0, pictures_per_identity=10, n_attackers=6),
    surrogates={
        "fawkes_v03": ("facenet-casia-webface",),
        "fawkes_v10": ("facenet-vggface2", "facenet-casia-webface"),
        "lowkey": ("facenet-vggface2", "facenet-casia-webface"),
    },
    # dlib-resnet (2017) is the contemporary of the 2018 facenets; Fawkes v0.3 never saw the
    # VGGFace2 facenet either.
    contemporaries={
        "fawkes_v03": ("dlib-resnet", "facenet-vggface2"),
        "fawkes_v10": ("dlib-resnet",),
        "lowkey": ("dlib-resnet",),
    },
    timeline=TimelineSetup(
        timeline=_PAPER_TIMELINE,
        seed_control=None,  # no second seed of a pretrained model exists
        generic="clip-vit-b32-openai",
        tuned=TUNED_NAME,
        off_timeline=_PAPER_SURROGATES,
    ),
    # notebook 01: round 1's model is the contemporary of the attacks' 2018 surrogates
    game_models=_PAPER_TIMELINE,
    # notebook 05 (paper Fig. 6): the most accurate model there is, vulnerable or not
    accurate_candidates=(*_PAPER_SURROGATES, *_PAPER_TIMELINE),
    # App. D's targeted cloaks against the accurate model (a large network): Fawkes v0.3 mid
    # (200 steps) instead of high (500), for time
    collusion_mode="mid",
    # notebook 02 (paper §3.3, FaceCure): the WebFace facenet fine-tuned with a linear
    # softmax head, batch 32, 500 steps, on clean + cloaked public pictures. The learning rate
    # (small, for a pretrained network) is this package's choice: not yet tried on a GPU.
    robust=RobustConfig(
        base="facenet-casia-webface",
        identities_per_attack=8,
        pictures_per_identity=2,
        cloaked_repeat=3,
        steps=500,
        batch_size=32,
        lr=1e-4,
        loss="softmax",
    ),
    clip_tuning=ClipTuningConfig(steps=150, batch_size=32),
    # The paper's detector: ImageNet MobileNetV2 fine-tuned, Adam 5e-5, 3 epochs.
    detector=DetectorRecipe(
        backbone="mobilenet_v2",
        input_size=224,
        train_from=0,
        epochs=3,
        lr=5e-5,
        batch_size=32,
        freeze_bn=False,
    ),
    detection_sizes=DetectionSizes(25, 20, 2),
)

PROFILES = {p.name: p for p in (QUICK, PAPER)}


def get_profile(name: str | None = None) -> Profile:
    """The settings of a profile (None: the default profile, see `config.default_profile`)."""
    return PROFILES[check_profile(name)]
