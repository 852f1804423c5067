import numpy as np


def test_onnx_matches_torch(tmp_path, encoder):
    from lcmodel_helpers import make_lc

    from skyfm.models.export import OnnxLightCurveEncoder, export_onnx

    path = export_onnx(encoder, tmp_path / "lc.onnx")
    lcs = [make_lc(n, seed=i) for i, n in enumerate([11, 64, 250])]
    a = encoder.embed(lcs)
    b = OnnxLightCurveEncoder(path, encoder.config).embed(lcs)
    np.testing.assert_allclose(a, b, atol=1e-4)
