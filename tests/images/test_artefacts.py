"""Twin artefacts, the artefact head and discovery's "likely artefact" flag."""

from __future__ import annotations

import numpy as np
import pytest

from skyfm.data.observations import Image
from skyfm.discover.artefact import artefact_flags
from skyfm.models.image import ImageMorphologyBaseline
from skyfm.models.image_artefact import ArtefactHead, ArtefactHeadConfig, colour_stamp
from skyfm.sim.artefacts import ARTEFACT_KINDS, add_artefact


def _sky(size=96, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    gal = 120 * np.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (2 * 6.0**2))
    return np.clip(np.stack([gal * f for f in (1.0, 0.8, 0.6)]) + 8
                   + rng.normal(0, 2, (3, size, size)), 0, 255).astype(np.float32)


@pytest.mark.parametrize("kind", ARTEFACT_KINDS)
def test_each_artefact_changes_the_cutout_and_stays_in_range(kind):
    img = _sky()
    out = add_artefact(img, kind, np.random.default_rng(1))
    assert out.shape == img.shape and out.min() >= 0 and out.max() <= 255
    assert np.abs(out - img).max() > 5
    np.testing.assert_array_equal(img, _sky())  # the input is not modified


def test_unknown_artefact_is_refused():
    with pytest.raises(ValueError, match="unknown artefact"):
        add_artefact(_sky(), "dragon", np.random.default_rng(0))


def test_placeholder_is_a_flat_grey_stamp():
    out = add_artefact(_sky(), "placeholder", np.random.default_rng(2))
    assert np.median(np.std(out, axis=0)) < 3  # grey: the bands agree
    assert 60 < np.median(out) < 210


def test_model_flags_join_the_rule_flags():
    blank = Image(np.zeros((3, 8, 8)), ["i", "r", "g"])
    ok = Image(_sky(16), ["i", "r", "g"])
    flags = artefact_flags([blank, ok, ok], model=["", "likely_artefact(cnn p=0.91)", ""])
    assert flags[0].startswith("placeholder_image(")
    assert flags[1] == "likely_artefact(cnn p=0.91)"
    assert flags[2] == "none"
    with pytest.raises(ValueError, match="2 model artefact flags for 3"):
        artefact_flags([blank, ok, ok], model=["", ""])


def test_head_reads_only_colour_cutouts():
    assert colour_stamp(Image(_sky(), ["i", "r", "g"]), 32).shape == (3, 32, 32)
    assert colour_stamp(Image(np.ones((1, 8, 8)) * 3.0), 32) is None   # one band
    assert colour_stamp(Image(np.full((3, 8, 8), 1e4)), 32) is None     # physical units
    head = ArtefactHead(ArtefactHeadConfig(size=32, channels=(4, 8)))
    p = head.predict_proba([Image(_sky(), ["i", "r", "g"]), Image(np.ones((1, 8, 8)))])
    assert 0 <= p[0] <= 1 and np.isnan(p[1])


def test_head_round_trip(tmp_path):
    import torch

    torch.manual_seed(0)
    head = ArtefactHead(ArtefactHeadConfig(size=32, channels=(4, 8)))
    head.save_pretrained(tmp_path / "h")
    back = ArtefactHead.from_pretrained(tmp_path / "h")
    imgs = [Image(_sky(seed=s), ["i", "r", "g"]) for s in range(3)]
    np.testing.assert_array_equal(head.predict_proba(imgs), back.predict_proba(imgs))


def test_embedder_without_artefact_model_has_no_opinion():
    imgs = [Image(_sky(48, seed=s), ["i", "r", "g"]) for s in range(6)]
    emb = ImageMorphologyBaseline(size=16, artefact_model=None).fit(imgs)
    assert emb.artefact_flags(imgs) is None
    params, arrays = emb.get_state()
    assert ImageMorphologyBaseline.from_state(params, arrays).artefact_model is None


def test_shipped_head_flags_painted_artefacts():
    head = ArtefactHead.from_pretrained("skyfm-image-artefact")
    imgs = [Image(add_artefact(_sky(423 // 3, seed=s), k, np.random.default_rng(s)),
                  ["i", "r", "g"]) for s, k in enumerate(("placeholder", "satellite_trail",
                                                          "saturation_bleed"))]
    emb = ImageMorphologyBaseline(size=16).fit(imgs + [Image(_sky(141, s), ["i", "r", "g"])
                                                       for s in range(3)])
    flags = emb.artefact_flags(imgs)
    assert sum(f.startswith("likely_artefact(cnn p=") for f in flags) >= 2
    assert head.predict_proba(imgs).shape == (3,)


@pytest.mark.shared_data
def test_eye_labelled_galaxy_zoo_candidates(shared_data):
    """The top-100 discovery candidates on the first 800 Galaxy Zoo images, judged by eye
    (bench/artefacts.py): the blue-sky cutout is flagged by the head, the error-text
    placeholder by the rules, and the head flags few of the real galaxies."""
    from pathlib import Path

    import pandas as pd

    from skyfm.data.io.images import read_image_file

    root = shared_data("images_galaxyzoo1_sdss") / "images"
    judged = pd.read_csv(Path(__file__).parent / "data" / "galaxyzoo_top_candidates.csv",
                         dtype={"object_id": str})
    assert len(judged) == 100 and set(judged["artefact"]) == {"yes", "no"}
    imgs = [read_image_file(root / f"{i}.jpeg", object_id=i, sdss=True)
            for i in judged["object_id"]]
    p = ArtefactHead.from_pretrained("skyfm-image-artefact").predict_proba(imgs)
    flagged = dict(zip(judged["object_id"], p >= 0.5))
    assert flagged["587727220861960231"]  # rank 9: blue sky over the whole cutout
    assert artefact_flags([imgs[0]])[0].startswith("placeholder_image(")  # rank 1
    real = judged["artefact"] == "no"
    assert np.mean(p[real.to_numpy()] >= 0.5) < 0.15
