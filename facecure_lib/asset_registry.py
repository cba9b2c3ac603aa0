"""Every file the paper profile may download: where from, under which licence, how it is
checked. Pure data (no I/O); `facecure_lib.download` fetches them.

How a file is checked, per asset:

* `sha256`: the hash its publisher released; the download is refused on any other hash.
* `sha256_prefix`: torchvision's weight files only publish the first hex digits of their
  sha256, in the file name (`mobilenet_v2-b0353104.pth`); the prefix is checked and the full
  hash is recorded on first use.
* `trust_on_first_use=True` (where no hash was published, see `hash_source`): the first
  copy is trusted and its sha256 recorded beside it (`<file>.tofu.json`); every later use
  is checked against that record. An explicit, per-asset choice: an asset with neither a
  published hash nor this flag is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

QUICK_ALTERNATIVE = "the quick profile (PROFILE='quick'), which needs no download"


class DownloadError(RuntimeError):
    """A file could not be downloaded (offline, HTTP error, truncated, bad checksum)."""


class ChecksumError(DownloadError):
    """A downloaded or cached file does not have the expected sha256."""


@dataclass(frozen=True)
class Asset:
    """A file the paper profile may download (see the module docstring for the checks)."""

    name: str
    url: str
    sha256: str | None
    size: int | None  # exact bytes when known (checked), else None
    licence: str
    used_by: str
    hash_source: str
    filename: str = ""
    trust_on_first_use: bool = False
    sha256_prefix: str | None = None
    approx_mb: int | None = None  # for the README's table only
    torch_hub: bool = False  # also placed in torch hub's cache, where a library looks for it

    @property
    def file_name(self) -> str:
        return self.filename or self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def check(self) -> str:
        """How the file is checked, in words (README table)."""
        if self.sha256:
            return "pinned (published sha256)"
        if self.sha256_prefix:
            return f"published sha256 prefix {self.sha256_prefix} + trust on first use"
        return "trust on first use" if self.trust_on_first_use else "refused (no hash)"


_FACENET = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
_OPENAI_B32 = (
    "https://openaipublic.azureedge.net/clip/models/"
    "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt"
)
_ARCFACE = (
    "https://huggingface.co/py-feat/arcface_r50/resolve/"
    "1e2637bc33aef12c2eeec84f76080509f9d5ab0d/arcface_r50.safetensors"
)
_TORCHVISION = "https://download.pytorch.org/models/"
_NO_HASH = "no published sha256 found: trust on first use"

ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            name="facenet-vggface2",
            url=_FACENET + "20180402-114759-vggface2.pt",
            sha256="281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b",
            size=None,
            licence="MIT (facenet-pytorch port of davidsandberg/facenet 20180402-114759); "
            "trained on VGGFace2 (research use)",
            used_by="models.pretrained: 'facenet-vggface2' (the paper's 'FaceNet'; surrogate "
            "of Fawkes v1.0 and LowKey)",
            hash_source="not published by facenet-pytorch; taken from public code that pins "
            "this file and whose MTCNN and LPIPS pins match the wheel files "
            "byte for byte; not re-checked against the file itself here",
            approx_mb=107,
        ),
        Asset(
            name="facenet-casia-webface",
            url=_FACENET + "20180408-102900-casia-webface.pt",
            sha256=None,
            size=None,
            licence="MIT (facenet-pytorch port of davidsandberg/facenet 20180408-102900); "
            "trained on CASIA-WebFace (research use)",
            used_by="models.pretrained: 'facenet-casia-webface' (the paper's 'WebFace'; "
            "surrogate of all three attacks)",
            hash_source=_NO_HASH + " (facenet-pytorch publishes none)",
            trust_on_first_use=True,
            approx_mb=111,
        ),
        Asset(
            name="arcface-r50-webface600k",
            url=_ARCFACE,
            sha256=None,
            size=None,
            licence="InsightFace non-commercial research licence (weights of buffalo_l's "
            "w600k_r50, trained on WebFace600K); repackaged by py-feat (MIT code)",
            used_by="models.pretrained: 'arcface-r50-webface600k' (a 2021 margin-loss model)",
            hash_source=_NO_HASH + " (the Hugging Face LFS oid could not be read offline); "
            "the URL is pinned to commit 1e2637b of py-feat/arcface_r50",
            trust_on_first_use=True,
            approx_mb=174,
        ),
        Asset(
            name="clip-vit-b32-openai",
            url=_OPENAI_B32,
            sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
            size=None,
            licence="MIT (openai/CLIP)",
            used_by="models.pretrained: 'clip-vit-b32-openai' (zero-shot CLIP, App. B.3); "
            "clip_tuning (both towers, fine-tuned on faces)",
            hash_source="published by OpenAI in the URL path (openai/CLIP clip.py checks it)",
            approx_mb=338,
        ),
        Asset(
            name="clip-vit-b16-laion2b",
            url="https://huggingface.co/laion/CLIP-ViT-B-16-laion2B-s34B-b88K/resolve/main/"
            "open_clip_pytorch_model.bin",
            sha256=None,
            size=None,
            licence="MIT (LAION / open_clip)",
            used_by="models.pretrained: 'clip-vit-b16-laion2b' (a 2022 CLIP, newer than the paper)",
            hash_source=_NO_HASH + " (the Hugging Face LFS oid could not be read offline)",
            filename="CLIP-ViT-B-16-laion2B-s34B-b88K.bin",
            trust_on_first_use=True,
            approx_mb=599,
        ),
        Asset(
            name="mobilenet-v2-imagenet",
            url=_TORCHVISION + "mobilenet_v2-b0353104.pth",
            sha256=None,
            size=None,
            licence="BSD-3-Clause (torchvision); trained on ImageNet (research use)",
            used_by="defenses.detector: the paper's detector backbone (MobileNetV2, ImageNet)",
            hash_source="torchvision publishes the first 8 hex digits of the sha256 in the "
            "file name (torch.hub checks them); full hash recorded on first use",
            trust_on_first_use=True,
            sha256_prefix="b0353104",
            approx_mb=14,
        ),
        Asset(
            name="alexnet-imagenet",
            url=_TORCHVISION + "alexnet-owt-7be5be79.pth",
            sha256=None,
            size=None,
            licence="BSD-3-Clause (torchvision); trained on ImageNet (research use)",
            used_by="attacks.lowkey: LPIPS-alex (the lpips package loads it from torch hub's "
            "cache, where fetch_asset places it)",
            hash_source="torchvision publishes the first 8 hex digits of the sha256 in the "
            "file name (torch.hub checks them); full hash recorded on first use",
            trust_on_first_use=True,
            sha256_prefix="7be5be79",
            approx_mb=233,
            torch_hub=True,
        ),
    )
}


def readme_table() -> str:
    """The README's table of what the paper profile downloads (a test keeps them equal)."""
    rows = [
        "| asset | file | size | licence | check | used by |",
        "|---|---|---|---|---|---|",
    ]
    for a in ASSETS.values():
        size = f"~{a.approx_mb} MB" if a.approx_mb else "?"
        rows.append(
            f"| `{a.name}` | [{a.file_name}]({a.url}) | {size} | {a.licence} | {a.check} "
            f"| {a.used_by} |"
        )
    return "\n".join(rows)
