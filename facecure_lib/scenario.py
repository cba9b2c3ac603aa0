"""One object that every notebook starts from: the faces, who is public, who attacks.

The recogniser enrols the *private* identities, among which the attacking users are chosen.
The *public* side holds the identities models are trained on, in two pools, as in the real
world, where Fawkes' and LowKey's surrogates were trained on other people than the models
that later meet the cloaks:

* the `trainer` pool: the trainer's own labelled identities (its extractors, robust training,
  detector training);
* the `attacker` pool: the identities the attacks' surrogate extractors were trained on, and
  the candidate targets of Fawkes v0.3.

Quick profile: every identity is generated, deterministic from (seed, identity number), and a
pool is only rendered when something has to be trained on it. With a given dataset (paper
profile: LFW or a folder), its public half is both pools.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .config import check_profile
from .data.dataset import FaceDataset, split_public_private, subset
from .data.generate import GENERATOR_VERSION, generate_faces, generate_identities
from .profiles import Sizes, get_profile
from .recognition import Protocol

POOLS = ("trainer", "attacker")
# Generated identity numbers: private identities from 0, then each pool in its own range.
POOL_START = {"trainer": 200_000, "attacker": 100_000}


@dataclass
class Scenario:
    """Enrolled faces and their recognition protocol, plus the public pools."""

    profile: str
    seed: int
    ds: FaceDataset
    public: list[int]
    private: list[int]
    protocol: Protocol
    pool_keys: dict[str, dict] = field(default_factory=dict)
    _builders: dict[str, Callable[[], FaceDataset]] = field(default_factory=dict, repr=False)
    _pools: dict[str, FaceDataset] = field(default_factory=dict, repr=False)

    def pool(self, name: str = "trainer") -> FaceDataset:
        """The public identities of a pool, labelled 0..n-1 (rendered on first use)."""
        if name not in POOLS:
            raise ValueError(f"Unknown pool {name!r}; valid: {', '.join(POOLS)}")
        if name not in self._pools:
            self._pools[name] = self._builders[name]()
        return self._pools[name]

    def pool_part(self, name: str, identities: list[int]) -> FaceDataset:
        """Some identities of a pool (numbers 0..n-1 of the pool), labelled 0..len-1 in that
        order; for a generated pool only these identities are rendered."""
        if name in self._pools or "first" not in self.pool_keys[name]:
            return subset(self.pool(name), list(identities))
        key = self.pool_keys[name]
        return generate_identities(
            [key["first"] + i for i in identities],
            key["pictures"],
            key["size"],
            seed=key["seed"],
            appearance=key["appearance"],
            progress=False,
        )

    def pool_key(self, name: str = "trainer") -> dict:
        """What determines a pool's pictures (part of every trained model's cache key)."""
        return self.pool_keys[name]

    @property
    def public_images(self) -> torch.Tensor:
        """uint8 pictures of the trainer's pool (its own labelled data)."""
        return self.pool("trainer").images

    @property
    def public_labels(self) -> torch.Tensor:
        """Labels of `public_images`, 0..n-1."""
        return self.pool("trainer").labels

    def describe(self) -> str:
        """One sentence saying what the scenario holds (for the top of a notebook)."""
        ds = self.ds
        pools = ", ".join(f"{name} {self.pool_size(name)}" for name in POOLS)
        return (
            f"{len(self.private)} enrolled {ds.name} identities ({len(ds)} pictures of "
            f"{ds.image_size} px in all), {len(self.protocol.attackers)} of them attacking "
            f"users; public identities models are trained on: {pools}."
        )

    def pool_size(self, name: str) -> int:
        """How many identities a pool holds (without rendering it)."""
        return int(self.pool_keys[name].get("identities", len(self.public)))

    def summary(self) -> dict:
        """The `data` block of a results file."""
        return {
            **self.ds.summary(),
            "public_identities": {name: self.pool_size(name) for name in POOLS},
            "private_identities": len(self.private),
            "attackers": self.protocol.attackers,
        }


def load_scenario(
    profile: str | None = None,
    seed: int = 0,
    n_identities: int | None = None,
    pictures_per_identity: int | None = None,
    image_size: int | None = None,
    n_public: int | None = None,
    n_attackers: int | None = None,
    dataset: FaceDataset | None = None,
    progress: bool = True,
) -> Scenario:
    """Build the scenario of a profile (sizes default to the profile's settings).

    Quick: `n_identities` generated private identities; the pools are generated too
    (`n_public` identities each, the profile's default otherwise). With a `dataset` (the
    paper profile needs one: `load_lfw()` or `load_identity_folder(...)`), `n_public` of its
    identities (half by default) are public and form both pools.
    """
    profile = check_profile(profile)
    s = get_profile(profile).sizes
    if dataset is None:
        if profile == "paper":
            raise ValueError(
                "The paper profile needs real faces: pass dataset=load_lfw() (downloads LFW) or "
                "dataset=load_identity_folder('path/to/faces') (one sub-folder per identity). "
                "Offline, use PROFILE='quick'."
            )
        return _generated(
            s,
            seed,
            n_identities,
            pictures_per_identity,
            image_size,
            n_public,
            n_attackers,
            progress,
        )
    n_public = n_public if n_public is not None else dataset.n_identities // 2
    public, private = split_public_private(dataset.n_identities, n_public, seed=seed)
    k = n_attackers if n_attackers is not None else min(s.n_attackers, len(private))
    protocol = Protocol.build(dataset, private, k, split_seed=10, attacker_seed=seed)
    key = {"data": dataset.fingerprint(), "public": public}
    scenario = Scenario(
        profile, seed, dataset, public, private, protocol, pool_keys=dict.fromkeys(POOLS, key)
    )
    shared: list[FaceDataset] = []

    def public_pool() -> FaceDataset:  # both pools are the same public identities
        if not shared:
            shared.append(subset(dataset, public, f"{dataset.name} (public)"))
        return shared[0]

    scenario._builders.update(dict.fromkeys(POOLS, public_pool))
    return scenario


def _generated(
    s: Sizes,
    seed: int,
    n_identities: int | None,
    pictures: int | None,
    image_size: int | None,
    n_public: int | None,
    n_attackers: int | None,
    progress: bool,
) -> Scenario:
    """The quick profile's world: generated private identities and generated pools."""
    size = image_size or s.image_size
    ds = generate_faces(
        n_identities or s.n_identities,
        pictures or s.pictures_per_identity,
        size,
        seed=seed,
        progress=progress,
        appearance=s.appearance,
    )
    private = list(range(ds.n_identities))
    k = n_attackers if n_attackers is not None else min(s.n_attackers, len(private))
    protocol = Protocol.build(ds, private, k, split_seed=10, attacker_seed=seed)
    n_pool = n_public if n_public is not None else s.pool_identities
    keys, builders = {}, {}
    for name in POOLS:
        keys[name] = {
            "generator": GENERATOR_VERSION,
            "seed": seed,
            "pool": name,
            "first": POOL_START[name],
            "identities": n_pool,
            "pictures": s.pool_pictures,
            "size": size,
            "appearance": s.appearance,
        }
        builders[name] = _pool_builder(keys[name], progress)
    return Scenario("quick", seed, ds, [], private, protocol, keys, builders)


def _pool_builder(key: dict, progress: bool) -> Callable[[], FaceDataset]:
    def build() -> FaceDataset:
        return generate_faces(
            key["identities"],
            key["pictures"],
            key["size"],
            seed=key["seed"],
            progress=progress,
            appearance=key["appearance"],
            first_identity=key["first"],
        )

    return build
