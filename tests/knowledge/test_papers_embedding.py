"""The embedding back-ends: the fused int8 graph agrees with the float one, new indexes embed
128 tokens (old ones keep what they recorded), and the model2vec static tier."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skyfm.knowledge.embedding import get_embedder, model_dir, onnx_model_path
from skyfm.knowledge.index import PaperIndex, embed_text


def _texts(corpus, n=12):
    return [embed_text(None, "", r["abstract"]) for r in corpus["records"][:n]]


def test_fused_int8_graph_ranks_like_the_float_graph(corpus):
    onnx = pytest.importorskip("onnx")
    ops = {n.op_type for n in onnx.load(str(onnx_model_path(model_dir(), True))).graph.node}
    # fused attention / layer norm / GELU, int8 weights in the attention and the MatMuls
    assert {"QAttention", "SkipLayerNormalization", "BiasGelu", "MatMulInteger"} <= ops
    texts = _texts(corpus)
    titles = [r["title"] for r in corpus["records"][:12]]
    q8, f32 = get_embedder("onnx-int8", 128), get_embedder("onnx", 128)
    a, b = q8.embed(texts), f32.embed(texts)
    assert a.shape == (12, 384) and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert float((a * b).sum(1).min()) > 0.98
    ranks = [np.argsort(-(e.embed(titles) @ v.T), axis=1)[:, 0] for e, v in ((q8, a), (f32, b))]
    assert (ranks[0] == ranks[1]).mean() >= 0.9  # same best abstract for (nearly) every title


def test_new_index_embeds_128_tokens_and_old_ones_keep_theirs(built_index, tmp_path):
    meta = json.loads((built_index / "meta.json").read_text())
    assert meta["max_tokens"] == 128 and meta["embedder"] == "minilm-l6-v2/onnx-int8"
    old = tmp_path / "old"
    PaperIndex(old, create=True, max_tokens=256).close()
    assert PaperIndex(old).embedder.max_len == 256


@pytest.mark.slow  # the first use distils the static model (~1 CPU-minute), then it is cached
def test_static_tier_index_and_search(corpus, tmp_path):
    pytest.importorskip("model2vec")
    from skyfm.knowledge.search import search

    emb = get_embedder("static")
    v = emb.embed(_texts(corpus, 8))
    assert v.shape == (8, 256) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert np.array_equal(v, emb.embed(_texts(corpus, 8)))
    ix = PaperIndex(tmp_path / "static", create=True, embedder="static")
    ix.add_sources([corpus["abstracts"]])
    assert ix.meta["embedder"] == "minilm-l6-v2/static" and ix.meta["dim"] == 256
    rec = corpus["records"][3]
    hits = search(ix, rec["title"], 3, mode="dense")
    assert hits and all(h.passage.kind == "arxiv" for h in hits)
    hits = search(ix, rec["title"], 3)
    assert hits[0].id == f"arXiv:{rec['arxiv_id']}"
