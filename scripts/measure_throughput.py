"""Measure what `facecure_lib.estimate` needs: FLOPs per picture of every paper-profile
architecture (torch's FlopCounterMode, one picture) and CPU seconds per picture for a
forward and a forward+backward pass (random weights, batch 2, one thread).

    FACECURE_THREADS=1 OMP_NUM_THREADS=1 python scripts/measure_throughput.py

Paste the printed table into `facecure_lib/estimate.py` (MEASURED, with the date).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facecure_lib.models import pretrained as pt  # noqa: E402


def builders() -> dict[str, tuple]:
    """Architecture -> (builder of a module taking pictures, input size)."""
    import lpips
    import torchvision

    from facecure_lib.models.dlib_resnet import load_dlib_resnet

    def lpips_alex():
        net = lpips.LPIPS(net="alex", pretrained=False, pnet_rand=True, verbose=False)
        return lambda x: net(x, x.flip(-1).detach(), normalize=True)

    return {
        "inception_resnet_v1": (lambda: pt.build_backbone("facenet-vggface2"), 160),
        "iresnet50": (lambda: pt.build_backbone("arcface-r50-webface600k"), 112),
        "vit_b32": (lambda: pt.build_backbone("clip-vit-b32-openai"), 224),
        "vit_b16": (lambda: pt.build_backbone("clip-vit-b16-laion2b"), 224),
        "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), 224),
        "dlib_resnet": (lambda: load_dlib_resnet(torch.device("cpu")).backbone, 150),
        "lpips_alex": (lpips_alex, 112),
    }


def clip_pair():
    """Both CLIP ViT-B/32 towers on (picture, caption) pairs: one fine-tuning step's work."""
    import open_clip

    model = pt.create_open_clip("ViT-B-32", quick_gelu=True)
    tokens = open_clip.get_tokenizer("ViT-B-32")(["A photograph of user #1."] * 2)
    return lambda x: model.encode_image(x).sum() + model.encode_text(tokens[: len(x)]).sum()


def flops(fn, x: torch.Tensor, backward: bool) -> float:
    with FlopCounterMode(display=False) as counter:
        out = fn(x)
        if backward:
            out.float().sum().backward()
    return counter.get_total_flops() / len(x)


def seconds(fn, x: torch.Tensor, backward: bool, repeats: int = 3) -> float:
    def once():
        if backward:
            fn(x).float().sum().backward()
        else:
            with torch.no_grad():
                fn(x)

    once()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        once()
    return (time.perf_counter() - start) / repeats / len(x)


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    todo = {**builders(), "clip_b32_pair": (clip_pair, 224)}
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} thread, batch 2")
    for name, (build, size) in todo.items():
        fn = build()
        if isinstance(fn, torch.nn.Module):
            fn.eval()
        x1 = torch.rand(1, 3, size, size, requires_grad=True)
        x2 = torch.rand(2, 3, size, size, requires_grad=True)
        g_fwd, g_all = flops(fn, x1, False) / 1e9, flops(fn, x1, True) / 1e9
        s_fwd, s_all = seconds(fn, x2, False), seconds(fn, x2, True)
        print(
            f'    "{name}": Arch({size}, {g_fwd:.3f}, {g_all:.3f}, {s_fwd:.3f}, {s_all:.3f}),',
            flush=True,
        )


if __name__ == "__main__":
    main()
