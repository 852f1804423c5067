import numpy as np


def test_onnx_matches_torch(tmp_path, encoder):
    from lcmodel_helpers import make_lc

    from skyfm.models.export import OnnxLightCurveEncoder, export_onnx

    path = export_onnx(encoder, tmp_path / "lc.onnx")
    lcs = [make_lc(n, seed=i) for i, n in enumerate([11, 64, 250])]
    a = encoder.embed(lcs)
    b = OnnxLightCurveEncoder(path, encoder.config).embed(lcs)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_double_fold_variant_exports(tmp_path):
    import torch
    from lcmodel_helpers import make_lc

    from skyfm.models.export import OnnxLightCurveEncoder, export_onnx
    from skyfm.models.lightcurve import LightCurveConfig, LightCurveEncoder

    torch.manual_seed(0)
    enc = LightCurveEncoder(LightCurveConfig(fold_double=True))
    c = enc.config
    assert enc.model.point_in.in_features == 3 + 2 * c.n_time_freqs + 4 * c.n_phase_harmonics + 1
    lcs = [make_lc(n, seed=i) for i, n in enumerate([11, 64, 250])]
    a = enc.embed(lcs)
    b = OnnxLightCurveEncoder(export_onnx(enc, tmp_path / "d.onnx"), c).embed(lcs)
    np.testing.assert_allclose(a, b, atol=1e-4)
