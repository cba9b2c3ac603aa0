"""What a picture file is: 16-bit grayscale, tiny pictures, FIFOs, odd file names (issue 21)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PIL import Image

from facecure_lib.data import files
from facecure_lib.data.folder import DatasetLayoutError, load_identity_folder
from facecure_lib.selfcheck import CheckInputError, scan_photos

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")


def _gradient16(path):
    arr = (np.arange(64 * 48).reshape(48, 64) * 21).astype(np.uint16)  # 0 .. 64491
    Image.fromarray(arr).save(path)  # a 16-bit grayscale PNG (mode I;16)
    return arr


def test_16bit_grayscale_png_is_scaled_not_white(tmp_path):
    arr = _gradient16(tmp_path / "g16.png")
    img = files.open_rgb(tmp_path / "g16.png")
    got = np.asarray(img)
    assert img.mode == "RGB" and got.shape == (48, 64, 3)
    want = np.round(arr / 257).astype(np.uint8)
    assert np.abs(got[..., 0].astype(int) - want).max() <= 1
    assert got.min() == 0 and got.max() >= 250 and (got == 255).mean() < 0.05


@pytest.mark.parametrize("mode", ["I;16B", "I"])
def test_other_16bit_modes_are_scaled(tmp_path, mode):
    arr = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 .. 65472
    if mode == "I":
        img = Image.fromarray(arr.astype(np.int32))
    else:
        img = Image.frombytes("I;16B", (32, 32), arr.astype(">u2").tobytes())
    assert img.mode == mode
    got = np.asarray(files.as_rgb(img))[..., 0]
    assert np.abs(got.astype(int) - np.round(arr / 257)).max() <= 1


def test_8bit_range_in_mode_i_is_kept(tmp_path):
    arr = np.arange(256, dtype=np.int32).reshape(16, 16)
    got = np.asarray(files.as_rgb(Image.fromarray(arr)))[..., 0]
    assert np.array_equal(got, arr.astype(np.uint8))


def test_too_small_picture_is_a_clear_problem(tmp_path):
    Image.new("RGB", (1, 1), (10, 20, 30)).save(tmp_path / "dot.png")
    Image.new("RGB", (200, 10)).save(tmp_path / "strip.png")
    for name in ("dot.png", "strip.png"):
        img, problem = files.decode_problem(tmp_path / name)
        assert img is None and "too small to hold a face" in problem
        assert f"at least {files.MIN_SIDE} px" in problem
    Image.new("RGB", (files.MIN_SIDE, files.MIN_SIDE)).save(tmp_path / "ok.png")
    assert files.decode_problem(tmp_path / "ok.png")[1] is None


def _with_timeout(fn, fifo=None, seconds=10.0):
    """fn() in a thread; fail (after unblocking a reader stuck on `fifo`) if it hangs."""
    out: dict = {}

    def target():
        try:
            out["value"] = fn()
        except Exception as err:  # noqa: BLE001 - handed to the test
            out["error"] = err

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        if fifo is not None:  # a writer that closes at once gives the stuck reader EOF
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the loader hung on a named pipe")
    if "error" in out:
        raise out["error"]
    return out.get("value")


@needs_fifo
def test_fifo_named_like_a_picture_does_not_hang_open_rgb(tmp_path):
    os.mkfifo(tmp_path / "x.png")
    img, problem = _with_timeout(
        lambda: files.decode_problem(tmp_path / "x.png"), tmp_path / "x.png"
    )
    assert img is None and "not a regular file" in problem


@needs_fifo
def test_fifo_in_a_photo_folder_is_flagged(tmp_path):
    for k in range(3):
        Image.new("RGB", (32, 32), (k, 0, 0)).save(tmp_path / f"p{k}.png")
        Image.new("RGB", (32, 32), (k, 1, 0)).save(tmp_path / f"p{k}_cloaked.png")
    os.mkfifo(tmp_path / "x.png")
    with pytest.raises(CheckInputError) as err:
        _with_timeout(lambda: scan_photos(tmp_path), tmp_path / "x.png")
    assert "x.png: not a regular file" in str(err.value)


@needs_fifo
def test_fifo_in_an_identity_folder_is_flagged(tmp_path):
    for person in ("a", "b"):
        (tmp_path / person).mkdir()
        for k in range(2):
            Image.new("RGB", (32, 32), (k, 9, 0)).save(tmp_path / person / f"{k}.png")
    os.mkfifo(tmp_path / "a" / "x.png")
    with pytest.raises(DatasetLayoutError) as err:
        _with_timeout(
            lambda: load_identity_folder(tmp_path, image_size=16), tmp_path / "a" / "x.png"
        )
    assert "x.png: not a regular file" in str(err.value)


def test_newline_in_a_file_name_is_flagged(tmp_path):
    for k in range(3):
        Image.new("RGB", (32, 32), (k, 0, 0)).save(tmp_path / f"p{k}.png")
        Image.new("RGB", (32, 32), (k, 1, 0)).save(tmp_path / f"p{k}_cloaked.png")
    Image.new("RGB", (32, 32)).save(tmp_path / "odd\nname.png")
    Image.new("RGB", (32, 32)).save(tmp_path / "odd\nname_cloaked.png")
    with pytest.raises(CheckInputError) as err:
        scan_photos(tmp_path)
    msg = str(err.value)
    assert "odd\\nname.png" in msg and "control character" in msg and "rename" in msg
    assert "odd\nname" not in msg  # shown escaped: the message stays one line per problem
