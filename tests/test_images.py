"""The small picture helpers every command's PNG goes through (immersions_osc/images.py)."""
import numpy as np

from immersions_osc.images import read_png, stack, write_png


def test_stack_puts_white_gaps_between_images_only_and_round_trips_through_png(tmp_path):
    a = np.zeros((3, 5, 3), np.uint8)
    b = np.full((2, 5, 3), 7, np.uint8)
    tall = stack([a, b], gap=4)
    assert tall.shape == (3 + 4 + 2, 5, 3)
    assert (tall[3:7] == 255).all() and (tall[:3] == 0).all() and (tall[7:] == 7).all()
    wide = stack([a, a, a], axis=1, gap=6)
    assert wide.shape == (3, 5 * 3 + 6 * 2, 3)
    assert stack([a]).shape == a.shape  # one image: no gap
    write_png(tmp_path / "s.png", tall)
    assert (read_png(tmp_path / "s.png") == tall).all()
