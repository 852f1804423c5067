"""The learned source detector: twin star fields, save/load, peaks, the shipped weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skyfm.errors import DataNotFoundError
from skyfm.models.source_detector import SourceDetector, SourceDetectorConfig
from skyfm.sim.starfield import simulate_starfield
from skyfm.train.detector import DetectorTrainConfig, _rot_offsets, make_fields


def test_starfield_truth_matches_the_pixels():
    f = simulate_starfield(64, np.random.default_rng(3), max_nebula=0.0, n_artefacts=0.0)
    bright = f.sources[f.sources[:, 3] > 50]
    assert len(bright)
    for x, y, *_ in bright:  # each bright source is a local maximum of the image
        px, py = int(round(x)), int(round(y))
        patch = f.image[max(0, py - 2):py + 3, max(0, px - 2):px + 3]
        assert f.image[py, px] >= patch.max() - 3.0  # within the noise of the peak


def test_fields_are_reproducible_and_targets_mark_sources():
    cfg = DetectorTrainConfig(size=48)
    a = make_fields(3, cfg, seed=5)
    b = make_fields(3, cfg, seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a[:5], b[:5]))
    X, H, W, O, M, truth = a
    for i, t in enumerate(truth):
        for x, y in t:  # a peak of 1 at each labelled source's pixel, its offset recorded
            px, py = int(round(x)), int(round(y))
            assert H[i, py, px] == 1.0 and M[i, py, px] == 1.0
            assert O[i, 0, py, px] == pytest.approx(x - px, abs=1e-5)


def test_rotated_offsets_still_point_at_the_source():
    off = torch.zeros(1, 2, 8, 8)
    off[0, :, 2, 5] = torch.tensor([0.3, -0.2])  # source at x = 5.3, y = 1.8
    for k in range(4):
        rot = _rot_offsets(torch.rot90(off, k, (-2, -1)), k)[0]
        ys, xs = torch.nonzero(rot.abs().sum(0)).T
        x, y = float(xs[0] + rot[0, ys[0], xs[0]]), float(ys[0] + rot[1, ys[0], xs[0]])
        src = np.array([5.3, 1.8])
        for _ in range(k):  # rot90 over (H, W): (x, y) -> (y, W - 1 - x)
            src = np.array([src[1], 7 - src[0]])
        assert (x, y) == pytest.approx(tuple(src), abs=1e-5)


def test_save_load_round_trip_and_peaks(tmp_path):
    torch.manual_seed(0)
    det = SourceDetector(SourceDetectorConfig(channels=8, dilations=(1, 2)))
    det.save_pretrained(tmp_path / "d", extra={"note": "test"})
    back = SourceDetector.from_pretrained(tmp_path / "d")
    snr = np.random.default_rng(0).normal(size=(20, 20))
    p1, _ = det.heatmap(snr)
    p2, _ = back.heatmap(snr)
    np.testing.assert_array_equal(p1, p2)
    with pytest.raises(DataNotFoundError, match="skyfm train detector"):
        SourceDetector.from_pretrained(tmp_path / "missing")


def test_shipped_detector_finds_twin_sources():
    try:
        det = SourceDetector.from_pretrained("skyfm-detect-twin")
    except DataNotFoundError:
        pytest.fail("the skyfm-detect-twin weights are not shipped")
    cfg = DetectorTrainConfig(size=64)
    X, *_, truth = make_fields(8, cfg, seed=777)
    from skyfm.train.detector import twin_score

    s = twin_score(det, X, truth)
    assert s["completeness"] > 0.7 and s["purity"] > 0.7
    assert s["median_sep_pix"] < 0.5
