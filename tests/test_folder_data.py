"""Identity folders, LFW through scikit-learn's real code path, MTCNN face crops."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facecure_lib.data import lfw as lfw_mod
from facecure_lib.data.dataset import FaceDataset, split_per_identity
from facecure_lib.data.files import center_square
from facecure_lib.data.folder import (
    DatasetLayoutError,
    load_identity_folder,
    save_identity_folder,
)


def _picture(seed: int, size=(80, 60)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def _tree(root: Path, people: dict[str, int], suffix: str = ".jpg") -> Path:
    for p_i, (person, n) in enumerate(people.items()):
        (root / person).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            _picture(100 * p_i + k).save(root / person / f"{person}_{k:04d}{suffix}")
    return root


def _snapshot(root: Path) -> dict[str, tuple[str, float]]:
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_loads_good_folder(tmp_path):
    root = _tree(tmp_path / "faces", {"Bob": 3, "Alice": 2})
    (root / "README.txt").write_text("ignored")  # non-image top-level files are fine
    (root / "Bob" / ".DS_Store").write_bytes(b"\0")  # hidden files are ignored
    before = _snapshot(root)
    ds = load_identity_folder(root, image_size=32)
    assert isinstance(ds, FaceDataset)
    assert ds.identities == ["Alice", "Bob"]
    assert ds.images.shape == (5, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.labels.tolist() == [0, 0, 1, 1, 1]
    assert ds.paths[0].endswith("Alice_0000.jpg")
    assert ds.meta["aligned"] is False
    assert _snapshot(root) == before  # input never modified
    split = split_per_identity(ds)
    assert len(split.train) + len(split.test) == 5


def test_max_per_identity_and_grayscale(tmp_path):
    root = _tree(tmp_path / "faces", {"A": 4, "B": 2})
    _picture(7).convert("L").save(root / "B" / "gray.png")  # mixed modes are fine
    ds = load_identity_folder(root, image_size=16, max_per_identity=3)
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_center_square_crops_middle():
    img = Image.new("RGB", (30, 10), (0, 0, 0))
    img.paste((255, 0, 0), (10, 0, 20, 10))  # red square in the middle
    out = np.asarray(center_square(img, 10))
    assert out.shape == (10, 10, 3) and (out[..., 0] == 255).all()


def test_every_problem_reported_at_once(tmp_path):
    root = _tree(tmp_path / "faces", {"Good": 2, "Few": 1, "Mixed": 2})
    _picture(1).save(root / "loose.jpg")
    (root / "Empty").mkdir()
    (root / "Mixed" / "notes.txt").write_text("hello")
    (root / "Mixed" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    good = root / "Mixed" / "Mixed_0000.jpg"
    (root / "Mixed" / "truncated.png").write_bytes(_png_bytes(_picture(3))[:200])  # cut-off PNG
    (root / "Mixed" / "nested").mkdir()
    before = _snapshot(root)
    with pytest.raises(DatasetLayoutError) as info:
        load_identity_folder(root, image_size=16)
    err = info.value
    assert isinstance(err, ValueError)
    flagged = {Path(p).name for p, _ in err.problems}
    assert flagged == {
        "loose.jpg",
        "Empty",
        "notes.txt",
        "broken.jpg",
        "truncated.png",
        "nested",
        "Few",
    }
    msg = str(err)
    assert "min_pictures=2" in msg and "empty identity folder" in msg
    assert "loose picture" in msg and "not an image" in msg and "corrupt" in msg
    assert good.name not in flagged
    assert _snapshot(root) == before


def _png_bytes(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "setup,needle",
    [
        ("missing", "does not exist"),
        ("file", "is a file"),
        ("empty", "no identity sub-folders"),
    ],
)
def test_bad_roots(tmp_path, setup, needle):
    root = tmp_path / "root"
    if setup == "file":
        root.write_text("x")
    elif setup == "empty":
        root.mkdir()
    with pytest.raises(DatasetLayoutError, match=needle):
        load_identity_folder(root)


def test_bad_parameters(tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        load_identity_folder(tmp_path, image_size=0)
    with pytest.raises(ValueError, match="min_pictures"):
        load_identity_folder(tmp_path, min_pictures=0)


def test_save_then_load_roundtrip(tmp_path):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 24, 24), generator=g, dtype=torch.uint8)
    ds = FaceDataset("toy", images, torch.tensor([0, 0, 1, 1, 2, 2]), ["ann", "bo/b", "cy"])
    root = save_identity_folder(ds, tmp_path / "out")
    back = load_identity_folder(root, image_size=24)
    assert back.identities == ["ann", "bo_b", "cy"]
    assert torch.equal(back.images, ds.images)  # PNG is lossless, no resize at same size


# ---------------------------------------------------------------- LFW (real sklearn path)


def _fake_lfw(home: Path, people: dict[str, int]) -> None:
    """scikit-learn's on-disk LFW layout with tiny synthetic pictures."""
    lfw_home = home / "lfw_home"
    for name in ("pairsDevTrain.txt", "pairsDevTest.txt", "pairs.txt"):
        (lfw_home).mkdir(parents=True, exist_ok=True)
        (lfw_home / name).write_text("1\n")
    for p_i, (person, n) in enumerate(people.items()):
        folder = lfw_home / "lfw_funneled" / person
        folder.mkdir(parents=True)
        for k in range(1, n + 1):
            _picture(10 * p_i + k, size=(250, 250)).save(folder / f"{person}_{k:04d}.jpg")


def test_lfw_through_sklearn_on_fake_layout(tmp_path, tmp_cache):
    _fake_lfw(tmp_path, {"Ann_Lee": 3, "Bo_Chan": 2, "Cy_Dee": 1})
    ds = lfw_mod.load_lfw(
        min_faces_per_person=2, image_size=40, data_home=tmp_path, download_if_missing=False
    )
    assert ds.name == "lfw"
    assert ds.identities == ["Ann Lee", "Bo Chan"]
    assert ds.images.shape == (5, 3, 40, 40) and ds.images.dtype == torch.uint8
    assert sorted(ds.labels.tolist()) == [0, 0, 0, 1, 1]
    # The crop is the middle 125x125 window of the 250x250 picture.
    got = ds.images[ds.labels == 1][0].permute(1, 2, 0).numpy().astype(np.float32)
    errors = []
    for k in (1, 2):  # sklearn shuffles pictures with a fixed seed: compare with both
        src = Image.open(tmp_path / f"lfw_home/lfw_funneled/Bo_Chan/Bo_Chan_000{k}.jpg")
        want = (
            src.convert("RGB").crop((63, 70, 188, 195)).resize((40, 40), Image.Resampling.LANCZOS)
        )
        errors.append(np.abs(got - np.asarray(want, dtype=np.float32)).mean())
    assert min(errors) < 2 < max(errors)
    capped = lfw_mod.load_lfw(
        min_faces_per_person=2,
        image_size=40,
        data_home=tmp_path,
        download_if_missing=False,
        max_per_identity=2,
    )
    assert len(capped) == 4


def _write_marker(path: str) -> str:
    """Called when the crafted pickle below is unpickled: proof that it was."""
    Path(path).write_text("unpickled")
    return "pwned"


class _Crafted:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (_write_marker, (self.marker,))


def test_lfw_never_unpickles_anything_in_its_folder(tmp_path, tmp_cache):
    """sklearn caches LFW with joblib.Memory and unpickles lfw_home/joblib/.../output.pkl
    unchecked: a crafted pickle placed there must never be loaded."""
    import pickle

    from sklearn.datasets import fetch_lfw_people

    home = tmp_path / "data"
    _fake_lfw(home, {"Ann_Lee": 3, "Bo_Chan": 2, "Cy_Dee": 1})
    want = fetch_lfw_people(  # what sklearn returns; leaves its joblib cache behind
        data_home=str(home),
        funneled=True,
        resize=None,
        min_faces_per_person=2,
        color=True,
        slice_=lfw_mod.LFW_SLICE,
        download_if_missing=False,
    )
    pickles = sorted(home.rglob("output.pkl"))
    assert pickles, "joblib's cache is where the test expects it"
    marker = tmp_path / "marker.txt"
    for path in pickles:
        path.write_bytes(pickle.dumps(_Crafted(marker)))
    ds = lfw_mod.load_lfw(
        min_faces_per_person=2, image_size=125, data_home=home, download_if_missing=False
    )
    assert not marker.exists(), "a pickle in the LFW folder was unpickled"
    assert ds.identities == [str(n) for n in want.target_names]
    assert ds.labels.tolist() == want.target.tolist()  # sklearn's order, shuffle included
    faces = np.rint(want.images * 255).astype(np.uint8)
    assert np.array_equal(ds.images.permute(0, 2, 3, 1).numpy(), faces)
    again = lfw_mod.load_lfw(
        min_faces_per_person=2, image_size=125, data_home=home, download_if_missing=False
    )
    assert torch.equal(again.images, ds.images) and not marker.exists()
    assert sorted(home.rglob("*.pkl")) == pickles  # nothing new for joblib to read later


def test_lfw_download_is_checked_and_extracted(tmp_path, tmp_cache, monkeypatch):
    """No sklearn download path: our sha256-pinned download of the archive, then extraction
    in sklearn's layout (from a local server)."""
    import hashlib
    import http.server
    import tarfile
    import threading

    src = tmp_path / "src"
    _fake_lfw(src, {"Ann_Lee": 2, "Bo_Chan": 2})
    archive = tmp_path / "lfw-funneled.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "lfw_home" / "lfw_funneled", arcname="lfw_funneled")
    body = archive.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/5976015"
        monkeypatch.setattr(lfw_mod, "LFW_SOURCE", url)
        sha = hashlib.sha256(body).hexdigest()
        monkeypatch.setitem(lfw_mod.LFW_ARCHIVES, True, ("lfw-funneled.tgz", sha))
        home = tmp_path / "home"
        ds = lfw_mod.load_lfw(min_faces_per_person=2, image_size=32, data_home=home)
        assert ds.identities == ["Ann Lee", "Bo Chan"] and len(ds) == 4
        assert (home / "lfw_home" / "lfw_funneled" / "Bo_Chan").is_dir()
        assert not list((home / "lfw_home").glob("*.tgz"))  # the archive is removed
        monkeypatch.setitem(lfw_mod.LFW_ARCHIVES, True, ("lfw-funneled.tgz", "0" * 64))
        with pytest.raises(lfw_mod.LFWUnavailableError, match="sha256"):
            lfw_mod.load_lfw(min_faces_per_person=2, data_home=tmp_path / "other")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_lfw_missing_without_download(tmp_path):
    with pytest.raises(lfw_mod.LFWUnavailableError) as info:
        lfw_mod.load_lfw(data_home=tmp_path, download_if_missing=False)
    msg = str(info.value)
    assert "quick profile" in msg and "load_identity_folder" in msg and str(tmp_path) in msg


def test_lfw_offline_fails_fast(tmp_path, monkeypatch):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setattr(lfw_mod, "LFW_SOURCE", f"http://127.0.0.1:{port}/5976015")
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))
    start = time.perf_counter()
    with pytest.raises(lfw_mod.LFWUnavailableError, match="unreachable") as info:
        lfw_mod.load_lfw()
    assert time.perf_counter() - start < 5
    assert "quick profile" in str(info.value) and "lfw-funneled.tgz" in str(info.value)
    assert not (tmp_path / "cache" / "sklearn" / "lfw_home" / "lfw_funneled").exists()


# ---------------------------------------------------------------- MTCNN alignment


def test_crop_faces_real_face_and_none():
    pytest.importorskip("facenet_pytorch")
    skdata = pytest.importorskip("skimage.data")
    from facecure_lib.data.align import NoFaceError, crop_faces

    astronaut = Image.fromarray(skdata.astronaut()).resize((192, 192))
    grey = Image.new("RGB", (64, 64), (128, 128, 128))
    faces = crop_faces([astronaut, grey], 48, skip_missing=True)
    assert faces[1] is None
    assert faces[0].shape == (3, 48, 48) and faces[0].dtype == torch.uint8
    with pytest.raises(NoFaceError, match="grey.png") as info:
        crop_faces([grey], 48, paths=["photos/grey.png"])
    assert info.value.missing == ["photos/grey.png"]


def test_align_in_folder_loader_reports_faceless(tmp_path):
    pytest.importorskip("facenet_pytorch")
    skdata = pytest.importorskip("skimage.data")
    root = tmp_path / "faces"
    (root / "Eileen").mkdir(parents=True)
    astro = Image.fromarray(skdata.astronaut()).resize((160, 160))
    astro.save(root / "Eileen" / "a.png")
    astro.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "Eileen" / "b.png")
    Image.new("RGB", (48, 48), (90, 90, 90)).save(root / "Eileen" / "wall.png")
    with pytest.raises(DatasetLayoutError, match="no face found") as info:
        load_identity_folder(root, image_size=32, align=True)
    assert [Path(p).name for p, _ in info.value.problems] == ["wall.png"]
    (root / "Eileen" / "wall.png").unlink()
    ds = load_identity_folder(root, image_size=32, align=True)
    assert ds.images.shape == (2, 3, 32, 32) and ds.meta["aligned"] is True


def test_missing_facenet_gives_install_command(monkeypatch):
    import builtins

    from facecure_lib.data import align

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "facenet_pytorch" or name.startswith("facenet_pytorch."):
            raise ImportError("No module named 'facenet_pytorch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install --no-deps facenet-pytorch==2\.6\.0"):
        align.require_facenet()
