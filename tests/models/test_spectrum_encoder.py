"""The spectrum encoder (skyfm-spec): per-instrument log-λ gridding, the network, weights without
pickle, bit-reproducible pretraining, its Embedder, and SpeX type parsing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skyfm.benchmarks.spectra import parse_spex_type, spex_labels
from skyfm.data.observations import Provenance, Spectrum
from skyfm.errors import DataNotFoundError
from skyfm.models.spectrum_encoder import (
    SpectrumConfig,
    SpectrumEncoder,
    grid_spectra,
    instrument_of,
)
from skyfm.train.spectra import SpecPretrainConfig, pretrain

TINY = SpectrumConfig(channels=8, dilations=(1, 2), proj_dim=8)


def _spex_like(n=6, seed=0):
    """SpeX-like spectra in µm (0.65-2.55), a few masked pixels, a steep red slope."""
    rng = np.random.default_rng(seed)
    w = np.linspace(0.65, 2.55, 560)
    out = []
    for i in range(n):
        f = (1 + i * 0.3 * (w - 0.65)) * (1 - 0.5 * np.exp(-0.5 * ((w - 1.4) / 0.05) ** 2))
        f = f + rng.normal(0, 0.01, w.size)
        mask = np.zeros(w.size, bool)
        mask[100:110] = True
        out.append(Spectrum(w, f, np.full(w.size, 0.01), mask=mask, wavelength_unit="um",
                            object_id=f"s{i}", label=f"L{i}.0",
                            provenance=Provenance(reader="spex")))
    return out


def test_instrument_by_reader_then_by_coverage():
    s = _spex_like(1)[0]
    assert instrument_of(s) == "spex"
    # no reader: the wavelength coverage decides (µm converted to Å)
    bare = Spectrum(s.wavelength, s.flux, s.error, wavelength_unit="um")
    assert instrument_of(bare) == "spex"
    optical = Spectrum(np.linspace(4000, 7000, 300), np.ones(300))
    assert instrument_of(optical) == "generic"
    apogee = Spectrum(np.linspace(15150, 16950, 700), np.ones(700))
    assert instrument_of(apogee) == "apogee"


def test_gridding_bins_flux_propagates_errors_and_marks_masked_pixels():
    w = np.exp(np.linspace(np.log(6500), np.log(25500), 1024))  # 4 pixels per grid bin
    f = np.full(w.size, 2.0)
    f[400:420] = np.nan  # non-finite: must not leak into the grid
    mask = np.zeros(w.size, bool)
    mask[600:680] = True  # 20 grid bins masked
    s = Spectrum(w, f, np.full(w.size, 0.2), mask=mask, validate=False)
    g = grid_spectra([s], "spex")
    assert g.flux.shape == (1, 256)
    assert g.scale[0] == pytest.approx(2.0)       # divided by its median
    v = g.valid[0]
    assert np.allclose(g.flux[0][v], 1.0)          # NaNs left out of the bin means
    assert not v[152:168].any()                    # the masked run is invalid, not interpolated
    assert (~v).sum() == pytest.approx(20 + 5, abs=2)  # masked bins + the all-NaN bins
    full = v & (np.arange(256) < 90)
    # n pixels of error 0.1 (0.2 / median 2) binned: 0.1 / sqrt(n), n = 3..5 (mostly 4)
    e = g.error[0][full]
    assert np.median(e) == pytest.approx(0.05) and e.min() >= 0.1 / np.sqrt(5) - 1e-9
    assert e.max() <= 0.1 / np.sqrt(3) + 1e-9


def test_embed_shapes_groups_instruments_and_ignores_masked_values():
    enc = SpectrumEncoder(TINY)
    specs = _spex_like(3) + [Spectrum(np.linspace(4000, 7000, 300), np.ones(300),
                                      np.full(300, 0.1), object_id="opt")]
    z = enc.embed(specs)
    assert z.shape == (4, TINY.embed_dim) and np.isfinite(z).all()
    # a masked pixel's value cannot change the embedding
    s = specs[0]
    f2 = s.flux.copy()
    f2[100:110] = 1e6
    z2 = enc.embed([s._with(flux=f2)])
    assert np.allclose(z2[0], z[0], atol=1e-6)
    # batching does not change the vectors
    assert np.allclose(enc.embed(specs, batch_size=1), z, atol=1e-5)


def test_save_and_load_roundtrip_without_pickle(tmp_path):
    enc = SpectrumEncoder(TINY)
    d = enc.save_pretrained(tmp_path / "m", extra={"note": "test"})
    assert (d / "model.safetensors").is_file() and (d / "config.json").is_file()
    back = SpectrumEncoder.from_pretrained(d)
    specs = _spex_like(2)
    assert np.array_equal(back.embed(specs), enc.embed(specs))
    assert back.config.channels == 8 and back.config.dilations == (1, 2)
    with pytest.raises(DataNotFoundError, match="no spectrum model 'nope': neither a shipped name"):
        SpectrumEncoder.from_pretrained("nope")


def test_pretraining_is_bit_reproducible_and_lowers_the_loss():
    specs = _spex_like(8) + _spex_like(8, seed=1)
    cfg = SpecPretrainConfig(epochs=2, batch_size=8, threads=1)
    logs: list[str] = []
    a = pretrain(specs, cfg, TINY, log=logs.append)
    b = pretrain(specs, cfg, TINY, log=lambda m: None)
    for (k, va), (_, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(va, vb), k
    first = float(logs[0].split("reconstruction ")[1].split(",")[0])
    last = float(logs[-1].split("reconstruction ")[1].split(",")[0])
    assert last < first
    torch.use_deterministic_algorithms(False)


def test_reconstruction_error_is_higher_for_an_odd_spectrum():
    specs = _spex_like(16)
    enc = pretrain(specs, SpecPretrainConfig(epochs=6, batch_size=8, threads=1), TINY,
                   log=lambda m: None)
    torch.use_deterministic_algorithms(False)
    rng = np.random.default_rng(3)
    s = specs[0]
    odd = s._with(flux=s.flux + 0.8 * np.sin(s.wavelength * 40) + rng.normal(0, 0.01, len(s)))
    err = enc.reconstruction_error(specs[:4] + [odd])
    assert err[-1] > err[:4].max()


def test_embedder_contract_with_a_saved_encoder(tmp_path):
    from skyfm.models.spectrum_embedder import SpectrumEncoderEmbedder

    d = SpectrumEncoder(TINY).save_pretrained(tmp_path / "m")
    specs = _spex_like(12)
    emb = SpectrumEncoderEmbedder(encoder=str(d))
    with pytest.raises(NotFittedError):
        emb.transform(specs)
    X = emb.fit(specs).transform(specs)
    assert X.shape == (12, TINY.embed_dim) and emb.uses_trained_model_
    assert "trained model" in emb.describe()
    assert emb.features(specs).shape == (12, len(emb.feature_specs_))
    # fitted objects are looked up by content: a new list of copies gives the same rows
    copies = [s._with(flux=s.flux.copy()) for s in specs[::-1]]
    assert np.allclose(emb.transform(copies), X[::-1], atol=1e-6)
    params, arrays = emb.get_state()
    back = SpectrumEncoderEmbedder.from_state(params, arrays)
    assert np.allclose(back.transform(specs), X, atol=1e-5)
    assert np.allclose(back.features(specs), emb.features(specs))


def test_hybrid_embedder_appends_the_pca_components(tmp_path):
    from skyfm.models.spectrum_embedder import SpectrumEncoderEmbedder, SpectrumHybridEmbedder

    d = SpectrumEncoder(TINY).save_pretrained(tmp_path / "m")
    specs = _spex_like(12)
    hyb = SpectrumHybridEmbedder(encoder=str(d)).fit(specs)
    X = hyb.transform(specs)
    k = hyb.baseline_.pca_.n_components_
    assert X.shape == (12, TINY.embed_dim + k) and "whitened PCA" in hyb.describe()
    enc = SpectrumEncoderEmbedder(encoder=str(d)).fit(specs)
    assert np.allclose(X[:, :TINY.embed_dim], enc.transform(specs), atol=1e-6)
    assert np.allclose(X[:, TINY.embed_dim:], hyb.baseline_.transform(specs), atol=1e-6)
    new = [s._with(flux=s.flux * 1.01 + 0.02) for s in specs[:3]]  # not fitted: computed
    back = SpectrumHybridEmbedder.from_state(*hyb.get_state())
    assert np.allclose(back.transform(new), hyb.transform(new), atol=1e-5)
    assert "whitened PCA" in back.describe()


def test_parse_spex_types():
    assert parse_spex_type("M0.0") == ("M", 0.0)
    assert parse_spex_type("L5.0") == ("L", 15.0)
    assert parse_spex_type("T9.0") == ("T", 29.0)
    assert parse_spex_type("M8.0:") == ("M", 8.0)  # uncertain type kept as its value
    assert parse_spex_type("L4.5") == ("L", 14.5)
    for bad in ("G", "d/sdM6", "M alph", "", "None", "sdL1.0"):
        assert parse_spex_type(bad) is None
    labels = spex_labels(_spex_like(3) + [Spectrum(np.arange(20.0), np.ones(20), label="G")])
    assert labels.subtype.tolist() == [10.0, 11.0, 12.0]
    assert labels.skipped == {"G": 1}


@pytest.mark.shared_data
def test_shipped_encoder_embeds_real_spex_and_desi(shared_data):
    import warnings

    from skyfm.data.io.desi import read_desi_file
    from skyfm.data.io.spex import read_spex

    root = shared_data("spectra_spex_prism_splat")
    files = sorted((root / "spectra").glob("*.fits*"))[:4]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spex = [s for f in files for s in read_spex(f)]
        desi_dir = shared_data("spectra_desi_edr_specutils_testdata")
        desi = [s for s in read_desi_file(min(desi_dir.glob("coadd-*.fits")))
                if (~s.mask).sum() > 10]
    enc = SpectrumEncoder.from_pretrained("skyfm-spec-base")
    assert {instrument_of(s) for s in spex} == {"spex"}
    assert {instrument_of(s) for s in desi} == {"desi"}
    z = enc.embed(spex + desi)
    assert z.shape == (len(spex) + len(desi), enc.embed_dim) and np.isfinite(z).all()


def test_spex_benchmark_groups_sources_and_scores_each_budget():
    from skyfm.benchmarks.spectra import SpexLabels, spex_type_benchmark

    rng = np.random.default_rng(0)
    n = 60
    sub = rng.integers(0, 30, n).astype(float)
    cls = np.array(["MLT"[int(s // 10)] for s in sub])
    groups = np.repeat(np.arange(30), 2)  # two spectra per source
    labels = SpexLabels(np.arange(n), cls, sub, groups.astype(str), {})
    seen = []

    def oracle(X, ys, yc, Xt):  # reads the truth from the test vectors; records the folds
        seen.append((set(X[:, 1].astype(int)), set(Xt[:, 1].astype(int))))
        return Xt[:, 0], np.array(["MLT"[int(s // 10)] for s in Xt[:, 0]])

    X = np.column_stack([sub, groups])
    rows = spex_type_benchmark({"oracle": (X, oracle)}, labels, n_labels=(20, None),
                               n_folds=5, repeats=2)
    assert [(r["labels"], r["subtype_mae"], r["class_macro_f1"]) for r in rows] == \
        [(20, 0.0, 1.0), ("all", 0.0, 1.0)]
    assert all(not (a & b) for a, b in seen)  # no source on both sides of a fold
    assert len(seen) == 5 * 2 + 5


def test_label_noise_floor_and_scatter():
    from skyfm.benchmarks.spectra import (
        SpexLabels,
        label_noise_floor,
        label_scatter_by_subtype,
        pairwise_label_noise,
    )

    # source a: one spectrum; b: two agreeing (L2); c: three disagreeing (L0, L1, L3)
    sub = np.array([5.0, 12.0, 12.0, 10.0, 11.0, 13.0])
    groups = np.array(["a", "b", "b", "c", "c", "c"])
    cls = np.array(["M", "L", "L", "L", "L", "L"])
    labels = SpexLabels(np.arange(6), cls, sub, groups, {})
    pred = np.array([5.0, 12.0, 12.0, 11.0, 11.0, 11.0])  # = each source's median
    rows = {r["spectra"]: r for r in label_noise_floor(labels, {"m": pred})}
    floor = "floor_mae (perfect per-source)"
    one = rows["one-spectrum sources"]
    assert one[floor] == 0 and one["n_spectra"] == 1
    assert rows["multi-spectrum, labels agree"][floor] == 0
    dis = rows["multi-spectrum, labels disagree"]
    assert dis["n_sources"] == 1 and dis[floor] == pytest.approx(1.0)  # |10-11|, 0, |13-11|
    assert dis["m mae"] == pytest.approx(1.0)  # the per-source median reaches the floor
    assert rows["all spectra"][floor] == pytest.approx(3 / 6)
    pn = pairwise_label_noise(labels)
    # pairs: b (0); c: |10-11|, |10-13|, |11-13| -> 1, 3, 2
    assert pn["n_pairs"] == 4 and pn["mean |y1 - y2|"] == pytest.approx(1.5)
    assert pn["share of pairs disagreeing"] == 0.75
    assert pn["E|eps| per label (= mean / sqrt 2)"] == pytest.approx(1.5 / np.sqrt(2))
    sc = {r["subtype"]: r for r in label_scatter_by_subtype(labels)}
    assert sc["L0-L4"]["n_sources"] == 2 and sc["L0-L4"]["share_disagree"] == 0.5
    assert sc["L0-L4"]["mean label range"] == pytest.approx(1.5)
    assert sc["M0-M4"]["n_sources"] == 0  # a one-spectrum source has no scatter
