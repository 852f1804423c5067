"""The image encoder skyfm-img-base: stamps of any image, save/load, no-flip property, the
Galaxy Zoo split and the image evaluation with fine-tuning and the from-scratch CNN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from skyfm.data.observations import Image
from skyfm.errors import DataFormatError
from skyfm.models.image_encoder import (
    ImageConfig,
    ImageEncoder,
    ImageNet,
    prepare_stamps,
    three_channels,
)

TINY = ImageConfig(size=16, stamp=20, crop=0.5, width=4, proj_dim=8)


def tiny_encoder(seed: int = 0) -> ImageEncoder:
    torch.manual_seed(seed)
    return ImageEncoder(TINY, ImageNet(TINY).eval())


def blob(size: int, rng, ring: bool = False, bands: int = 3, scale: float = 100.0) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r = np.hypot(yy, xx)
    prof = np.exp(-0.5 * ((r - size / 8) / 1.5) ** 2) if ring else np.exp(-r / (size / 12))
    return np.stack([prof * scale * (1 + 0.2 * b) for b in range(bands)]) \
        + rng.normal(0, 1, (bands, size, size))


def spiral(size: int = 160, sense: int = 1, angle: float = 0.0, seed: int = 1) -> np.ndarray:
    """A two-armed logarithmic spiral with a bulge, in 8-bit colour (3, size, size), turned by
    ``angle`` (radians), with its own sky noise (``seed``)."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r, th = np.hypot(yy, xx) + 1e-6, np.arctan2(yy, xx)
    arms = np.cos(2 * (th - angle - sense * 2.5 * np.log(r / 4))) ** 8 * np.exp(-r / 18) \
        * (r > 4)
    light = 0.9 * np.exp(-r / 4) + 0.8 * arms
    rng = np.random.default_rng(seed)
    d = np.stack([light * 220, light * 200, light * 240]) + rng.normal(8, 2, (3, size, size))
    return np.clip(d, 0, 255)


def test_stamps_of_jpeg_like_and_fits_like_images_of_any_size():
    rng = np.random.default_rng(0)
    jpeg = Image(np.clip(blob(70, rng), 0, 255).round(), ["i", "r", "g"])
    fits5 = Image(1e-9 * blob(33, rng, bands=5) - 3e-10, list("ugriz"))
    one = Image(blob(41, rng, bands=1)[0])
    S = prepare_stamps([jpeg, fits5, one], TINY)
    assert S.shape == (3, 3, 20, 20) and np.isfinite(S).all()
    # the stretch is per band and robust: the bright centre is well above the sky of each
    for s in S:
        assert (s[:, 10, 10] > s[:, 0, 0] + 1).all()
    # physical units do not matter: a FITS stamp in nanomaggies == the same in maggies x 1e9
    scaled = Image(fits5.data * 1e9, list("ugriz"))
    np.testing.assert_allclose(prepare_stamps([scaled], TINY)[0], S[1], rtol=1e-3, atol=1e-3)
    emb = tiny_encoder().embed([jpeg, fits5, one])
    assert emb.shape == (3, TINY.embed_dim) and np.isfinite(emb).all()


def test_signal_stretch_moves_a_clean_stamp_little_and_a_noisy_one_a_lot():
    """A noise re-draw at the image's own noise level moves the stamp of a bright, clean image
    by a small fraction of what it moves a faint, noisy one (the v1 "noise" stretch put every
    image on its noise scale, so both moved about the same)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:40, :40] - 19.5
    star = np.exp(-0.5 * (yy ** 2 + xx ** 2) / 2.0 ** 2)   # compact: the ring is sky
    clean, noisy = np.stack([star * 2000.0] * 3), np.stack([star * 4.0] * 3)  # peak S/N

    def move(d, cfg):
        a = prepare_stamps([Image(d + rng.normal(0, 1, d.shape))], cfg)
        b = prepare_stamps([Image(d + rng.normal(0, 1, d.shape))], cfg)
        return float(np.abs(a - b).mean())

    sig = ImageConfig(size=16, stamp=20, crop=0.5, stretch="signal")
    assert 10 * move(clean, sig) < move(noisy, sig)
    v1 = ImageConfig(size=16, stamp=20, crop=0.5, stretch="noise")
    assert move(clean, v1) > 0.2 * move(noisy, v1)      # what the signal stretch fixes
    with pytest.raises(ValueError, match="unknown stretch 'x'"):
        prepare_stamps([Image(clean)], ImageConfig(stretch="x"))


def test_weights_saved_before_the_stretch_option_load_with_the_noise_stretch(tmp_path):
    import json

    sig = ImageConfig(size=16, stamp=20, crop=0.5, width=4, proj_dim=8, stretch="signal")
    ImageEncoder(sig, ImageNet(sig)).save_pretrained(tmp_path / "s")
    assert ImageEncoder.from_pretrained(tmp_path / "s").config.stretch == "signal"
    tiny_encoder().save_pretrained(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    del cfg["stretch"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    assert ImageEncoder.from_pretrained(tmp_path / "m").config.stretch == "noise"


def test_three_channels_groups_bands_in_order():
    d = np.arange(5, dtype=float)[:, None, None] * np.ones((5, 2, 2))
    np.testing.assert_allclose(three_channels(d)[:, 0, 0], [0.5, 2.5, 4.0])
    np.testing.assert_allclose(three_channels(d[:2])[:, 0, 0], [0.0, 0.5, 1.0])
    assert three_channels(d[:1]).shape == (3, 2, 2)


def test_image_without_finite_pixels_is_a_clear_error():
    bad = Image(np.full((3, 8, 8), np.nan), object_id="blank")
    with pytest.raises(DataFormatError, match="'blank' has no finite pixel"):
        prepare_stamps([bad], TINY)


def test_encoder_save_load_round_trip(tmp_path):
    enc = tiny_encoder()
    imgs = [Image(blob(30, np.random.default_rng(i))) for i in range(3)]
    enc.save_pretrained(tmp_path / "m", extra={"note": "test"})
    back = ImageEncoder.from_pretrained(tmp_path / "m")
    assert back.config == TINY
    np.testing.assert_array_equal(back.embed(imgs), enc.embed(imgs))


def test_pretraining_is_bit_reproducible_and_never_mirrors():
    from skyfm.train.images import ImagePretrainConfig, augment, pretrain

    rng = np.random.default_rng(0)
    imgs = [Image(blob(30, rng, ring=i % 2 == 1)) for i in range(12)]
    cfg = ImagePretrainConfig(epochs=1, batch_size=6, threads=1)
    a, rec = pretrain(imgs, cfg, TINY, log=lambda s: None)
    b, _ = pretrain(imgs, cfg, TINY, log=lambda s: None)
    for k, v in a.net.state_dict().items():
        assert torch.equal(v, b.net.state_dict()[k]), k
    assert rec["n_images"] == 12 and len(rec["losses"]) == 1
    # the views of a chiral pattern keep its handedness: every view correlates better with
    # some rotation of the original than with any rotation of its mirror image
    x = torch.from_numpy(prepare_stamps([Image(spiral(80))], ImageConfig(size=32, stamp=40,
                                                                       crop=0.6)))
    gen = torch.Generator().manual_seed(0)
    views = augment(x.repeat(8, 1, 1, 1), 32, gen, max_shift=0, zoom=0, noise=0, jitter=0)
    ang = torch.arange(0, 2 * np.pi, np.pi / 90)

    def best(src, v):
        rot = augment_fixed(src.repeat(len(ang), 1, 1, 1), ang, 32)
        return float(torch.nn.functional.cosine_similarity(
            rot.flatten(1), v.flatten()[None]).max())

    for v in views:
        assert best(x, v) > best(torch.flip(x, (-1,)), v)


def augment_fixed(x, ang, size):
    """``x`` rotated by the angles ``ang`` (the same affine convention as ``augment``)."""
    s = size / x.shape[-1]
    cos, sin = torch.cos(ang) * s, torch.sin(ang) * s
    z = torch.zeros_like(ang)
    theta = torch.stack([torch.stack([cos, -sin, z], 1), torch.stack([sin, cos, z], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, [len(ang), 3, size, size],
                                           align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, align_corners=False)


def _galaxyzoo_folder(root, rng, per_class=(10, 10, 10, 10, 4, 4)):
    from PIL import Image as PILImage

    (root / "images").mkdir(parents=True)
    rows = []
    for cls, n in enumerate(per_class):
        for i in range(n):
            oid = f"{cls}{i:04d}"
            px = np.clip(blob(32, rng, ring=cls % 2 == 1), 0, 255).astype(np.uint8)
            PILImage.fromarray(px.transpose(1, 2, 0)).save(root / "images" / f"{oid}.jpeg")
            rows.append((oid, cls))
    pd.DataFrame(rows, columns=["OBJID", "CLASS"]).to_csv(root / "labels.csv", index=False)
    return root


def test_galaxyzoo_split_writes_both_label_sets_from_one_split(tmp_path):
    from skyfm.data.layout import load_dataset
    from skyfm.train.splits import make_galaxyzoo_split

    data = _galaxyzoo_folder(tmp_path / "gz", np.random.default_rng(0))
    paths = make_galaxyzoo_split(tmp_path / "split", data=data)
    again = make_galaxyzoo_split(tmp_path / "split2", data=data)
    sets = {name: [list(load_dataset(p)) for p in pair] for name, pair in paths.items()}
    tr, te = sets["morphology"]
    assert len(tr) + len(te) == 48 and len(te) == 3 + 3 + 3 + 3 + 1 + 1
    ids_tr, ids_te = {o.object_id for o in tr}, {o.object_id for o in te}
    assert not ids_tr & ids_te
    assert {o.label for o in tr} == {"elliptical", "spiral", "edge_on", "dont_know", "merger"}
    ctr, cte = sets["chirality"]
    assert {o.label for o in ctr} == {"clockwise_spiral", "anticlockwise_spiral"}
    assert {o.object_id for o in ctr} <= ids_tr and {o.object_id for o in cte} <= ids_te
    assert len(ctr) + len(cte) == 20
    assert {o.object_id for o in load_dataset(again["morphology"][1])} == ids_te  # seeded
    # the JPEG bytes are copied as they are
    one = next(iter(ids_te))
    assert (paths["morphology"][1] / "images" / f"{one}.jpeg").read_bytes() == \
        (data / "images" / f"{one}.jpeg").read_bytes()


def test_parse_mirror():
    from skyfm.train.evaluate_embedded import parse_mirror

    classes = ["clockwise_spiral", "anticlockwise_spiral", "edge_on"]
    assert parse_mirror("none", classes) is None
    assert parse_mirror("same", classes)["edge_on"] == "edge_on"
    m = parse_mirror("clockwise_spiral:anticlockwise_spiral", classes)
    assert m == {"clockwise_spiral": "anticlockwise_spiral",
                 "anticlockwise_spiral": "clockwise_spiral", "edge_on": "edge_on"}
    with pytest.raises(DataFormatError, match="mirror pair 'cw:acw'"):
        parse_mirror("cw:acw", classes)


def test_evaluate_on_a_tiny_image_layout_with_finetune_and_scratch(tmp_path):
    from skyfm.data.layout import write_dataset
    from skyfm.train.evaluate_embedded import evaluate_embedded, load_observations

    rng = np.random.default_rng(0)
    obs = [Image(blob(28, rng, ring=k % 2 == 1), ["i", "r", "g"], object_id=f"o{k}",
                 label="ring" if k % 2 else "disc") for k in range(28)]
    write_dataset(obs[:16], tmp_path / "train")
    write_dataset(obs[16:], tmp_path / "test")
    tiny_encoder().save_pretrained(tmp_path / "enc")
    tr, te = load_observations(tmp_path / "train"), load_observations(tmp_path / "test")
    res = evaluate_embedded(tr, te, labels=(4, "all"), n_draws=1, n_members=1, finetune=True,
                            encoder=str(tmp_path / "enc"), finetune_epochs=1,
                            finetune_min_steps=30, mirror="same",
                            embedder="skyfm.models.image_embedder:ImageEncoderEmbedder")
    assert res["embedder"].startswith("ImageEncoderEmbedder: trained model skyfm-img-base")
    methods = {(r["method"], r["labels_per_class"]) for r in res["rows"]}
    assert methods == {(m, k) for m in ("skyfm", "baseline", "skyfm-finetune", "scratch-cnn")
                       for k in (4, "all")}
    assert res["modality"] == "image" and res["cnn"]["mirror"] == {"disc": "disc",
                                                                    "ring": "ring"}
    with pytest.raises(ValueError, match="not an embedder of the modality 'image'"):
        evaluate_embedded(tr, te, labels=(4,), embedder="skyfm.models.spectrum:"
                                                        "SpectrumPCABaseline")
    # rings and discs are easy: the CNN trained on 16 of them beats chance
    best = max(r["macro_f1"] for r in res["rows"] if r["method"] == "scratch-cnn")
    assert best > 0.6


def test_shipped_encoder_tells_a_spiral_from_its_mirror_image_not_from_its_rotation():
    enc = ImageEncoder.from_pretrained("skyfm-img-base")

    def dist(a, b):
        return 1 - float(a @ b) / float(np.linalg.norm(a) * np.linalg.norm(b))

    for sense in (1, -1):
        d = spiral(240, sense)
        views = [d, d[:, :, ::-1], np.rot90(d, 1, (1, 2)), np.rot90(d, 3, (1, 2)),
                 spiral(240, sense, seed=7)]  # the last: the same spiral, other sky noise
        E = enc.embed([Image(v.copy()) for v in views])
        mirror = dist(E[0], E[1])
        for k in (2, 3, 4):
            assert mirror > 3 * dist(E[0], E[k]), (sense, k, mirror, dist(E[0], E[k]))
            assert dist(E[k], E[0]) < dist(E[k], E[1])


def _cutout(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    gal = 120 * np.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (2 * 6.0**2))
    return np.clip(np.stack([gal * f for f in (1.0, 0.8, 0.6)]) + 8
                   + rng.normal(0, 2, (3, size, size)), 0, 255).astype(np.float32)


def test_encoder_embedder_keeps_the_artefact_flags_and_its_state():
    from skyfm.models import registry
    from skyfm.models.image_embedder import ImageEncoderEmbedder
    from skyfm.sim.artefacts import add_artefact

    painted = [Image(add_artefact(_cutout(141, s), k, np.random.default_rng(s)),
                     ["i", "r", "g"], object_id=f"a{s}")
               for s, k in enumerate(("placeholder", "satellite_trail", "saturation_bleed"))]
    clean = [Image(_cutout(141, 10 + s), ["i", "r", "g"], object_id=f"c{s}") for s in range(5)]
    assert registry.get_modality("image").encoder_class().__name__ == "ImageEncoder"
    emb = ImageEncoderEmbedder().fit(painted + clean)
    assert emb.uses_trained_model_ and "skyfm-img-base" in emb.describe()
    flags = emb.artefact_flags(painted + clean)
    assert sum(f.startswith("likely_artefact(cnn p=") for f in flags[:3]) >= 2
    Z = emb.transform(painted + clean)
    assert Z.shape == (8, emb.model_.embed_dim) and np.isfinite(Z).all()
    params, arrays = emb.get_state()
    back = ImageEncoderEmbedder.from_state(params, arrays)
    np.testing.assert_allclose(back.transform(painted + clean), Z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(back.features(clean), emb.features(clean), rtol=1e-5)
    assert back.artefact_flags(painted + clean) == flags


def test_split_command_reads_the_shared_galaxyzoo_folder(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from skyfm.cli import _register, app

    _register()
    _galaxyzoo_folder(tmp_path / "data" / "images_galaxyzoo1_sdss", np.random.default_rng(1))
    monkeypatch.setenv("SKYFM_DATA_DIR", str(tmp_path / "data"))
    res = CliRunner().invoke(app, ["train", "split", "galaxyzoo", "--out",
                                   str(tmp_path / "split")])
    assert res.exit_code == 0, res.output
    for name in ("morphology", "chirality"):
        for part in ("train", "test"):
            assert (tmp_path / "split" / name / part / "labels.csv").is_file()
    res = CliRunner().invoke(app, ["train", "split", "galaxyzoo", "--out",
                                   str(tmp_path / "s2"), "--max-per-class", "3"])
    assert res.exit_code != 0 and "neither --max-per-class" in res.output


def test_train_images_command_pretrains_on_several_sources_and_twins(tmp_path):
    import json

    from typer.testing import CliRunner

    from skyfm.cli import _register, app
    from skyfm.data.layout import write_dataset

    _register()
    gz = _galaxyzoo_folder(tmp_path / "gz", np.random.default_rng(2), per_class=(3, 3))
    fits = write_dataset([Image(1e-9 * blob(33, np.random.default_rng(i), bands=5),
                                list("ugriz"), object_id=f"f{i}") for i in range(2)],
                         tmp_path / "fits")
    args = ["train", "images", "--data", str(gz / "images"), "--data", str(fits), "--twins",
            "1", "--epochs", "1", "--batch-size", "4", "--stretch", "signal", "--out",
            str(tmp_path / "m")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["stretch"] == "signal"
    src = cfg["training"]["sources"]
    assert [s["n_images"] for s in src] == [6, 2, 4]       # 4 twins: one per common class
    assert src[2]["twins_per_class"] == 1 and cfg["training"]["n_images"] == 12
    assert ImageEncoder.from_pretrained(tmp_path / "m").config.stretch == "signal"
    res = CliRunner().invoke(app, args[:-4] + ["--stretch", "x", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "--stretch 'x'" in res.output


@pytest.mark.shared_data
def test_galaxyzoo_split_of_the_shared_set_and_the_encoder_on_it(shared_data):
    from skyfm.train.splits import CHIRALITY, galaxyzoo_split

    train, test = galaxyzoo_split(shared_data("images_galaxyzoo1_sdss"))
    assert (len(train), len(test)) == (2799, 1199)
    assert sum(o.label in CHIRALITY for o in train) == 374
    assert sum(o.label in CHIRALITY for o in test) == 160
    assert not {o.object_id for o in train} & {o.object_id for o in test}
    Z = ImageEncoder.from_pretrained("skyfm-img-base").embed(test[:8])
    assert Z.shape == (8, 64) and np.isfinite(Z).all()


def test_encoder_reads_a_multiband_fits_file_and_a_jpeg_file(tmp_path):
    from skyfm.data import read
    from skyfm.data.io.images import write_image_file

    rng = np.random.default_rng(3)
    fits_img = Image(1e-9 * blob(40, rng, bands=5), list("ugriz"), object_id="f")
    jpeg_img = Image(np.clip(blob(57, rng), 0, 255).round(), ["i", "r", "g"], object_id="j")
    write_image_file(fits_img, tmp_path / "f.fits")
    write_image_file(jpeg_img, tmp_path / "j.png")
    back = [read(tmp_path / "f.fits")[0], read(tmp_path / "j.png")[0]]
    assert back[0].shape == (5, 40, 40) and back[1].shape == (3, 57, 57)
    enc = tiny_encoder()
    np.testing.assert_allclose(enc.embed(back), enc.embed([fits_img, jpeg_img]), atol=1e-5)
