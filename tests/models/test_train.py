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
