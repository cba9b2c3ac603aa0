"""`facecure check` must not give a wrong verdict or write where it must not (issue 21):
EXIF orientation, implausible pairs, the report folder, symlinks, the photo folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecure_lib import selfcheck as check
from facecure_lib.selfcheck import CheckInputError
from facecure_lib.selfcheck import report as check_report

from .test_selfcheck import run, write_person

ROTATE_90_CW = 6  # EXIF orientation: the stored picture must be turned 90 degrees to display


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Tiny models: one thread (see conftest.one_thread)."""


def _textured(rng, w, h, colour=(20, 235, 20)):
    """A flat colour with a left-right ramp and noise: turning it sideways changes it."""
    ramp = np.linspace(-60, 60, w)[None, :, None]
    arr = np.array(colour)[None, None, :] + ramp + rng.normal(0, 4, (h, w, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def write_rotated_person(folder, n=8, size=(40, 40)):
    """Clean photos stored sideways with an EXIF rotation tag; cloaked copies of the same
    stored pixels (+-2 noise) saved *without* the tag, as a tool that drops EXIF would."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    exif = Image.Exif()
    exif[0x0112] = ROTATE_90_CW
    for k in range(n):
        arr = _textured(rng, *size)
        Image.fromarray(arr).save(folder / f"img{k:02d}.png", exif=exif)
        noisy = np.clip(arr.astype(int) + rng.integers(-2, 3, arr.shape), 0, 255)
        Image.fromarray(noisy.astype(np.uint8)).save(folder / f"img{k:02d}_cloaked.png")
    return folder


# --------------------------------------------------------------------------- EXIF, pairs


def test_exif_rotated_clean_photos_with_untagged_cloaks_are_refused(tmp_path, world):
    folder = write_rotated_person(tmp_path / "me")
    before = check.folder_hashes(folder)
    with pytest.raises(CheckInputError) as err:
        run(folder, world)
    msg = str(err.value)
    assert "img00_cloaked.png" in msg and "img00.png" in msg
    assert "EXIF orientation" in msg and f"{ROTATE_90_CW} (" in msg and "1 (" in msg
    assert "same orientation" in msg  # the fix
    assert check.folder_hashes(folder) == before


def test_exif_explains_a_size_mismatch(tmp_path, world):
    """96x64 on disk for both files: the old message said '96x64 differs ... (64x96)'."""
    folder = write_rotated_person(tmp_path / "me", n=6, size=(96, 64))
    with pytest.raises(CheckInputError) as err:
        run(folder, world)
    msg = str(err.value)
    assert "EXIF orientation" in msg and "96x64 on disk" in msg
    assert "differs from its clean photo" not in msg


def test_a_pair_that_is_not_a_photo_and_its_cloak_is_refused(tmp_path, world):
    folder = write_person(tmp_path / "me", n=8)
    # img03's 'cloak' is another picture: the same noise on another colour
    other = np.asarray(Image.open(folder / "img03.png")).astype(int) + (200, -200, 200)
    Image.fromarray(np.clip(other, 0, 255).astype(np.uint8)).save(folder / "img03_cloaked.png")
    with pytest.raises(CheckInputError) as err:
        run(folder, world)
    msg = str(err.value)
    assert "img03_cloaked.png" in msg and "do not look like a photo and its cloak" in msg
    assert "DSSIM" in msg and "PSNR" in msg and len(err.value.problems) == 1


def test_pair_thresholds_leave_room_for_every_cloak():
    from facecure_lib.selfcheck import spec

    assert spec.MAX_PAIR_DSSIM >= 10 * 0.017  # Fawkes high's budget
    assert 10 <= spec.MIN_PAIR_PSNR <= 20


# --------------------------------------------------------------------------- report folder


def _readonly(path):
    path.chmod(0o555)
    if os.access(path, os.W_OK):  # root ignores permissions
        path.chmod(0o755)
        pytest.skip("running as root: a read-only folder is still writable")


def test_read_only_parent_is_refused_before_any_work(tmp_path):
    folder = write_person(tmp_path / "me", n=6)
    parent = tmp_path / "locked"
    parent.mkdir()
    _readonly(parent)
    try:
        with pytest.raises(CheckInputError, match="not writable"):
            check.report_dir(folder, parent / "report")
        with pytest.raises(CheckInputError, match="not writable"):
            check.report_dir(folder, parent)
    finally:
        parent.chmod(0o755)


def test_out_under_a_file_is_refused(tmp_path):
    folder = write_person(tmp_path / "me", n=6)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CheckInputError) as err:
        check.report_dir(folder, tmp_path / "afile" / "report")
    assert "afile" in str(err.value) and "not a folder" in str(err.value)


def test_cli_checks_the_report_folder_before_reading_photos(tmp_path, capsys, monkeypatch):
    from facecure_lib import cli
    from facecure_lib.selfcheck import run as check_run

    folder = write_person(tmp_path / "me", n=6)
    (tmp_path / "afile").write_text("x")
    monkeypatch.setattr(check_run, "check_cloak", lambda *a, **k: pytest.fail("ran the check"))
    code = cli.main(["check", str(folder), "--quiet", "--out", str(tmp_path / "afile" / "r")])
    assert code == 2 and "not a folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- symlinks


def test_report_folder_symlinked_to_the_photo_folder_is_refused(tmp_path, world):
    folder = write_person(tmp_path / "me", n=6)
    (tmp_path / "me_facecure_report").symlink_to(folder, target_is_directory=True)
    before = check.folder_hashes(folder)
    with pytest.raises(CheckInputError, match="photo folder"):
        check.report_dir(folder)
    r = run(folder, world)
    with pytest.raises(CheckInputError, match="photo folder"):
        check.write_report(r)
    assert check.folder_hashes(folder) == before


def test_report_folder_inside_the_photo_folder_through_a_symlink(tmp_path):
    folder = write_person(tmp_path / "me", n=6)
    (folder / "sub").mkdir()
    (tmp_path / "link").symlink_to(folder / "sub", target_is_directory=True)
    with pytest.raises(CheckInputError, match="photo folder"):
        check.report_dir(folder, tmp_path / "link")


def test_leftover_temp_symlink_cannot_make_the_figure_overwrite_a_photo(tmp_path, world):
    folder = write_person(tmp_path / "me", n=6)
    before = check.folder_hashes(folder)
    out = tmp_path / "me_facecure_report"
    out.mkdir()
    (out / ".cloak_examples.png.tmp").symlink_to(folder / "img00.png")
    r = run(folder, world)
    check.write_report(r)
    assert check.folder_hashes(folder) == before
    assert (out / "cloak_examples.png").is_file()
    assert not (out / "cloak_examples.png").is_symlink()


def test_symlinked_report_files_are_refused(tmp_path, world):
    folder = write_person(tmp_path / "me", n=6)
    out = tmp_path / "me_facecure_report"
    out.mkdir()
    (out / "report.md").symlink_to(folder / "img01.png")
    before = check.folder_hashes(folder)
    r = run(folder, world)
    for force in (False, True):
        with pytest.raises(CheckInputError, match="symbolic link"):
            check.write_report(r, force=force)
    assert check.folder_hashes(folder) == before


def test_photo_folder_is_hashed_again_after_the_report(tmp_path, world, monkeypatch):
    folder = write_person(tmp_path / "me", n=6)
    r = run(folder, world)
    real = check_report.atomic_write_text

    def sneaky(path, text):  # a bug that writes into the photo folder
        real(path, text)
        (folder / "stray.txt").write_text("oops")

    monkeypatch.setattr(check_report, "atomic_write_text", sneaky)
    with pytest.raises(RuntimeError, match="stray.txt"):
        check.write_report(r)


def test_demo_workdir_is_removed_when_the_kernel_exits(tmp_path):
    code = (
        "import sys, tempfile; tempfile.tempdir = sys.argv[1]\n"
        "from facecure_lib.selfcheck.demo import demo_workdir\n"
        "d = demo_workdir(); (d / 'photo.png').write_bytes(b'x'); print(d)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    made = Path(out.stdout.strip())
    assert made.parent == tmp_path and made.name.startswith("facecure06_")
    assert not made.exists()
