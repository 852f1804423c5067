"""ONNX export of the light-curve encoder and an onnxruntime-backed encoder with the same API."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skyfm.models.lightcurve import INPUT_NAMES, LightCurveEncoder


def export_onnx(encoder: LightCurveEncoder, path, opset: int = 17) -> Path:
    """Write the embedding graph (batch tensors -> (B, D)) to ``path`` with dynamic batch and
    length axes (TorchScript exporter, ``dynamo=False``)."""
    import torch

    from skyfm.models import lightcurve_tokens as tok

    class _Embed(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *args):
            return self.m.embed_tensors(*args)

    c = encoder.config
    rng = np.random.default_rng(0)
    dummy = [tok.Prepared(x=rng.normal(size=n).astype(np.float32),
                          e=np.full(n, 0.1, np.float32), e_known=np.ones(n, np.float32),
                          dt=np.sort(rng.uniform(0, 100, n)), lam=np.zeros(n, np.float32),
                          period=1.0, ctx=np.zeros(tok.N_CTX, np.float32),
                          band_lam=np.zeros(1, np.float32),
                          band_feat=np.zeros((1, tok.N_BANDF), np.float32)) for n in (20, 30)]
    batch = tok.collate(dummy, c.max_len, c.max_bands)
    args = tuple(torch.as_tensor(batch[k]) for k in INPUT_NAMES)
    dyn = {k: {0: "batch", 1: "length"} for k in ("x", "e", "e_known", "dt", "phase", "lam",
                                                  "mask")}
    dyn.update({k: {0: "batch"} for k in ("ctx", "band_lam", "band_feat", "band_mask")})
    dyn["embedding"] = {0: "batch"}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = _Embed(encoder.model.cpu().eval())
    with torch.no_grad():
        torch.onnx.export(model, args, str(path), input_names=INPUT_NAMES,
                          output_names=["embedding"], dynamic_axes=dyn, opset_version=opset,
                          dynamo=False)
    return path


class OnnxLightCurveEncoder(LightCurveEncoder):
    """``embed`` through onnxruntime (same tokenisation, same outputs up to float rounding)."""

    def __init__(self, onnx_path, config=None, threads: int | None = None):
        import onnxruntime as ort

        super().__init__(config)
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), so,
                                            providers=["CPUExecutionProvider"])

    def _forward_embed(self, batch: dict) -> np.ndarray:
        (z,) = self.session.run(None, {k: batch[k] for k in INPUT_NAMES})
        return z
