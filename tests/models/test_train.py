import numpy as np
from lcmodel_helpers import make_lc

from skyfm.train.lightcurves import (
    PretrainConfig,
    load_corpus,
    prepare_corpus,
    pretrain,
    save_corpus,
)
from skyfm.train.splits import stratified_split


def test_pretrain_tiny_runs_and_corpus_round_trip(tmp_path):
    curves = [make_lc(40 + i, period=0.3 + 0.05 * i, seed=i) for i in range(16)]
    for i, c in enumerate(curves[:8]):  # half "simulated", with twin classes
        c.meta["simulated"] = True
        c.label = "a" if i % 2 else "b"
    prepared, sim = prepare_corpus(curves, log=lambda s: None)
    save_corpus(tmp_path / "c.npz", prepared, sim)
    back, sim2 = load_corpus(tmp_path / "c.npz")
    assert len(back) == 16 and sim2 == sim
    np.testing.assert_allclose(back[3].dt, prepared[3].dt, rtol=1e-6)
    cfg = PretrainConfig(epochs=2, batch_size=8, warmup_steps=1,
                         model={"d_model": 16, "n_layers": 1, "d_ff": 32, "n_heads": 2})
    enc, summary = pretrain(cfg, corpus=(back, sim2), log=lambda s: None)
    assert summary["steps"] == 4 and np.isfinite(summary["history"][-1]["loss"])
    assert enc.config.twin_classes == ("a", "b")
    assert enc.embed(curves[:2]).shape == (2, 32 + 2)
    enc.save_pretrained(tmp_path / "m")
    back_enc = type(enc).from_pretrained(tmp_path / "m")
    np.testing.assert_array_equal(back_enc.embed(curves[:3]), enc.embed(curves[:3]))


def test_stratified_split_is_seeded_and_disjoint():
    y = ["a"] * 10 + ["b"] * 20
    tr, te = stratified_split(y, 0.3, seed=0)
    _, te2 = stratified_split(y, 0.3, seed=0)
    assert np.array_equal(te, te2) and not set(tr) & set(te)
    assert sum(y[i] == "a" for i in te) == 3 and len(te) == 9


def test_pretraining_on_cpu_is_bit_reproducible():
    """The shipped weights are remade by the documented command: on the CPU the same corpus and
    seed give the same weights, bit for bit (a different seed does not)."""
    curves = [make_lc(40 + i, period=0.3 + 0.05 * i, seed=i) for i in range(12)]
    for i, c in enumerate(curves[:6]):
        c.meta["simulated"] = True
        c.label = "a" if i % 2 else "b"
    corpus = prepare_corpus(curves, log=lambda s: None)
    model = {"d_model": 16, "n_layers": 1, "d_ff": 32, "n_heads": 2}

    def weights(seed):
        cfg = PretrainConfig(epochs=2, batch_size=6, warmup_steps=1, seed=seed, model=model)
        enc, _ = pretrain(cfg, corpus=corpus, log=lambda s: None)
        return {k: v.detach().clone() for k, v in enc.model.state_dict().items()}

    a, b, c = weights(0), weights(0), weights(1)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert not all(np.array_equal(a[k].numpy(), c[k].numpy()) for k in a)


def test_shipped_weights_record_the_documented_command_and_its_defaults():
    """skyfm-lc-base was made by `skyfm train lightcurves --corpus ... --out ...` with every
    other setting at its default: its record must match today's defaults, or a fresh run of
    the documented command would not remake it."""
    import inspect
    import json
    from dataclasses import asdict, fields

    from skyfm.cli.model_cmd import train_lightcurves
    from skyfm.models.lightcurve import WEIGHTS_DIR, LightCurveConfig

    raw = json.loads((WEIGHTS_DIR / "skyfm-lc-base" / "config.json").read_text())
    train = raw["training"]
    cli_epochs = inspect.signature(train_lightcurves).parameters["epochs"].default
    want = {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(PretrainConfig(epochs=cli_epochs)).items()}
    assert train["pretrain"] == want
    assert train["device"] == "cpu"
    assert train["command"].startswith("skyfm train lightcurves --corpus")
    assert len(train["corpus_digest"]) == 64
    defaults = asdict(LightCurveConfig())
    for f in fields(LightCurveConfig):
        if f.name != "twin_classes":
            assert raw[f.name] == (list(defaults[f.name]) if isinstance(defaults[f.name], tuple)
                                   else defaults[f.name]), f.name


def test_quality_subset_of_the_eros_split_stays_inside_its_parts(shared_data, monkeypatch):
    import pytest

    from skyfm.errors import DataFormatError
    from skyfm.train.splits import split_set

    monkeypatch.setenv("SKYFM_DATA_DIR", str(shared_data("lc_eros_ramp_variable_stars").parent))
    full_tr, full_te = split_set("eros")
    tr, te = split_set("eros", min_quality=2)
    assert 0 < len(tr) < len(full_tr) and 0 < len(te) < len(full_te)
    assert all(o.meta["quality"] >= 2 for o in tr + te)
    assert {o.object_id for o in te} <= {o.object_id for o in full_te}
    assert {o.object_id for o in tr} <= {o.object_id for o in full_tr}
    # every full-split object of quality >= 2 is kept
    assert len(te) == sum(o.meta["quality"] >= 2 for o in full_te)
    shared_data("plasticc_train_snmachine")
    with pytest.raises(DataFormatError, match="quality"):
        split_set("plasticc", limit=30, min_quality=2)
