"""SimilarityIndex: recall against exact search, persistence, query by id, updates, errors."""

from __future__ import annotations

import numpy as np
import pytest

from skyfm.discover.index import SimilarityIndex, load_embeddings
from skyfm.errors import DataFormatError, DataNotFoundError


def clustered(n, d=32, n_clusters=20, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (n_clusters, d))
    c = rng.integers(0, n_clusters, n)
    return (centres[c] + 0.3 * rng.normal(0, 1, (n, d))).astype(np.float32)


def recall_at_k(found, truth):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, truth)])


@pytest.fixture(scope="module")
def data():
    x = clustered(4200)
    return x[:4000], x[4000:], [f"obj{i}" for i in range(4000)]


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_approximate_recall_vs_flat(data, kind, metric):
    base, queries, ids = data
    exact = SimilarityIndex(metric=metric).build(base, ids, kind="flat")
    approx = SimilarityIndex(metric=metric).build(base, ids, kind=kind)
    truth, _ = exact.search(queries, 10)
    found, _ = approx.search(queries, 10)
    assert approx.kind_ == kind
    assert recall_at_k(found, truth) >= 0.95


def test_flat_matches_brute_force_cosine(data):
    base, queries, ids = data
    index = SimilarityIndex(metric="cosine").build(base, ids, kind="flat")
    hits = index.query(queries[:5], k=3)
    bn = base / np.linalg.norm(base, axis=1, keepdims=True)
    qn = queries[:5] / np.linalg.norm(queries[:5], axis=1, keepdims=True)
    sims = qn @ bn.T
    for q, row in enumerate(hits):
        best = np.argsort(-sims[q])[:3]
        assert [h.object_id for h in row] == [ids[i] for i in best]
        np.testing.assert_allclose([h.score for h in row], sims[q, best], atol=1e-4)


def test_l2_scores_are_euclidean_distances(data):
    base, queries, ids = data
    index = SimilarityIndex(metric="l2").build(base, ids, kind="flat")
    hit = index.query(queries[0], k=1)[0][0]
    j = ids.index(hit.object_id)
    assert hit.score == pytest.approx(np.linalg.norm(base[j] - queries[0]), rel=1e-4)
    assert hit.score == pytest.approx(np.linalg.norm(base - queries[0], axis=1).min(), rel=1e-4)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_query_id_returns_itself_first(data, kind):
    base, _, ids = data
    index = SimilarityIndex().build(base, ids, kind=kind)
    for oid in ("obj0", "obj1234", "obj3999"):
        hits = index.query_id(oid, k=5)
        assert hits[0].object_id == oid and hits[0].score == pytest.approx(1.0)
        assert len(hits) == 5 and len({h.object_id for h in hits}) == 5
        assert [h.rank for h in hits] == list(range(5))


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_load_round_trip(tmp_path, data, kind):
    base, queries, ids = data
    index = SimilarityIndex(metric="cosine", ef_search=80).build(base, ids, kind=kind)
    index.save(tmp_path / "ix")
    assert {p.name for p in (tmp_path / "ix").iterdir()} == {"index.faiss", "ids.txt",
                                                               "index.json"}
    loaded = SimilarityIndex.load(tmp_path / "ix")
    assert (loaded.metric, loaded.dim, loaded.kind_, len(loaded)) == ("cosine", 32, kind, 4000)
    assert loaded.ids == ids
    a, sa = index.search(queries, 10)
    b, sb = loaded.search(queries, 10)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(sa, sb)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_add_makes_new_objects_findable(tmp_path, data, kind):
    base, queries, ids = data
    index = SimilarityIndex().build(base[:3000], ids[:3000], kind=kind)
    index.add(base[3000:], ids[3000:])
    assert len(index) == 4000
    assert index.query_id("obj3500", 3)[0].object_id == "obj3500"
    # a vector equal to a newly added one finds it
    assert index.query(base[3777], 1)[0][0].object_id == "obj3777"
    # and the updated index survives a save/load and further adds
    index.save(tmp_path / "ix")
    again = SimilarityIndex.load(tmp_path / "ix").add(queries[:2], ["new0", "new1"])
    assert again.query(queries[1], 1)[0][0].object_id == "new1"
    with pytest.raises(DataFormatError, match="already in the index"):
        again.add(queries[:1], ["obj5"])


def test_auto_kind_is_flat_for_small_and_ivf_for_large(data):
    base, _, ids = data
    assert SimilarityIndex().build(base, ids).kind_ == "flat"
    index = SimilarityIndex(auto_threshold=1000).build(base, ids)
    assert index.kind_ == "ivf"
    assert index.nlist == 102  # 2*sqrt(4000) = 126 -> 128 lists, capped at 4000 // 39
    import faiss

    assert faiss.extract_index_ivf(index._index).nprobe == 16


def test_bad_input_raises_clear_errors(tmp_path, data):
    base, _, ids = data
    with pytest.raises(DataFormatError, match="duplicate object id 'a'"):
        SimilarityIndex().build(base[:3], ["a", "b", "a"])
    with pytest.raises(DataFormatError, match="one object id per embedding row"):
        SimilarityIndex().build(base[:3], ["a", "b"])
    bad = base[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(DataFormatError, match="NaN"):
        SimilarityIndex().build(bad, ["a", "b", "c"])
    index = SimilarityIndex().build(base[:10], ids[:10])
    with pytest.raises(DataFormatError, match="dimension 32"):
        index.query(np.zeros((1, 7)), 3)
    with pytest.raises(KeyError, match="not in the index"):
        index.query_id("nope")
    with pytest.raises(DataNotFoundError, match="index.faiss"):
        SimilarityIndex.load(tmp_path)


def test_load_embeddings_from_discover_out_and_npy(tmp_path):
    x = clustered(50, d=8)
    np.save(tmp_path / "embeddings.npy", x)
    (tmp_path / "object_ids.txt").write_text("\n".join(f"z{i}" for i in range(50)) + "\n")
    e, ids = load_embeddings(tmp_path)
    assert e.shape == (50, 8) and ids[0] == "z0" and ids[-1] == "z49"
    other = tmp_path / "sub"
    other.mkdir()
    np.save(other / "vectors.npy", x)
    e, ids = load_embeddings(other / "vectors.npy")
    assert ids[:3] == ["0", "1", "2"]
    (tmp_path / "object_ids.txt").write_text("a\nb\n")
    with pytest.raises(DataFormatError, match="2 ids for 50 embedding rows"):
        load_embeddings(tmp_path)
