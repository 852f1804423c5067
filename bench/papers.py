"""Knowledge-layer benchmark: retrieval quality, speed, size and answer faithfulness, one run.

    python bench/papers.py                          # the full shared sets ($SKYFM_DATA_DIR)
    python bench/papers.py --n 2000 --torch-sample 300   # a quicker look
    python bench/papers.py --options onnx-int8@128,static   # + other embedders, side by side

1. Known-item retrieval (Pathfinder-style): the arXiv abstracts of ``text_arxiv_astroph`` are
   indexed WITHOUT their titles; each title is a query whose one right answer is its paper.
   recall@1, recall@10 and MRR (over the top 100) for sparse (tantivy BM25), dense (MiniLM
   through faiss) and hybrid (skyfm's z-score fusion, and reciprocal-rank fusion for
   comparison), all from the same candidate lists.
2. Speed: documents indexed per second (whole ``add``: chunk + embed + write) per wall second
   and per CPU-second of the process (the fair figure on a shared machine), embedding
   throughput of the PyTorch model vs the ONNX int8 one on the same sample (and whether their
   known-item rankings agree), query latency p50/p95 of a full hybrid ``search``, index size on
   disk, peak memory; extrapolated to 1 million abstracts.
3. Faithfulness: the pyvo docs are added to the same index (incrementally), and the offline
   ``answer`` is asked the questions of ``bench/pyvo_questions.jsonl`` (each with the file that
   holds the answer and a phrase of it): the share of answers whose cited passages contain the
   phrase, and the share citing the expected file.

``--options``: more embedders (``BACKEND[@TOKENS]``), each indexing the same abstracts into an
index of its own: one table row each with docs/s (wall and CPU) and dense / hybrid known-item
numbers beside the default's.

Threads: onnxruntime / torch use every core they see; compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def load_abstracts(root: Path, n: int | None):
    from skyfm.knowledge.ingest import read_jsonl

    docs = [d for d in read_jsonl(root / "text_arxiv_astroph" / "astroph_abstracts.jsonl.gz")
            if not hasattr(d, "message")]
    return docs[:n] if n else docs


def ranks_of(truth: list[int], lists: list[list[int]]) -> np.ndarray:
    """1-based rank of each truth in its list, 0 when absent."""
    out = np.zeros(len(truth), dtype=int)
    for i, (t, lst) in enumerate(zip(truth, lists)):
        if t in lst:
            out[i] = lst.index(t) + 1
    return out


def metrics(r: np.ndarray) -> dict:
    return {"recall@1": float((r == 1).mean()), "recall@10": float(((r >= 1) & (r <= 10)).mean()),
            "MRR": float(np.where(r > 0, 1.0 / np.maximum(r, 1), 0).mean())}


def known_item(ix, docs, titles, emb, depth: int = 100):
    """Sparse, dense and hybrid (both fusions) lists for each title; returns rank arrays."""
    from skyfm.knowledge.normalize import clean_text
    from skyfm.knowledge.search import fuse

    rowid = {d: r for r, d in ix._db.execute("SELECT id, doc_id FROM passages WHERE n=0")}
    truth = [rowid[d.doc_id] for d in docs]
    sparse = [ix.sparse_search(t, depth) for t in titles]
    q = emb.embed([clean_text(t) for t in titles])
    scores, ids = ix._dense.search(q, depth)
    dense = [list(zip(map(int, i), map(float, s))) for i, s in zip(ids, scores)]
    lists = {"sparse": sparse, "dense": dense,
             "hybrid": [fuse(s, d, "zscore") for s, d in zip(sparse, dense)],
             "hybrid-rrf": [fuse(s, d, "rrf") for s, d in zip(sparse, dense)]}
    return {m: ranks_of(truth, [[r for r, _ in x] for x in lst]) for m, lst in lists.items()}


def parse_option(spec: str) -> tuple[str, int | None]:
    """``onnx-int8@128`` -> ("onnx-int8", 128); ``static`` -> ("static", None)."""
    backend, _, tokens = spec.partition("@")
    return backend, int(tokens) if tokens else None


def timed_add(ix, docs) -> tuple:
    """``ix.add(docs)`` with its wall and process CPU seconds (all threads)."""
    t0, c0 = time.perf_counter(), time.process_time()
    rep = ix.add(docs)
    return rep, time.perf_counter() - t0, time.process_time() - c0


def option_row(spec: str, notitle, items, work: Path) -> dict:
    """Index ``notitle`` with embedder ``spec`` into a fresh index; speed and known-item."""
    from skyfm.knowledge.embedding import default_max_tokens, get_embedder
    from skyfm.knowledge.index import PaperIndex

    backend, tokens = parse_option(spec)
    tokens = tokens or default_max_tokens(backend)
    emb = get_embedder(backend, tokens)
    emb.embed(["warm up"])
    d = work / f"opt-{spec.replace('@', '-')}"
    ix = PaperIndex(d, create=True, embedder=backend, max_tokens=tokens)
    rep, wall, cpu = timed_add(ix, notitle)
    r = known_item(ix, items, [x.title for x in items], emb)
    row = {"docs_per_s": len(rep.added) / wall, "docs_per_cpu_s": len(rep.added) / cpu,
           "seconds": wall, "dense": metrics(r["dense"]), "hybrid": metrics(r["hybrid"]),
           "sparse": metrics(r["sparse"]), "index_bytes": ix.size_bytes(),
           "load": os.getloadavg()[0]}
    ix.close()
    shutil.rmtree(d, ignore_errors=True)
    return row


def dense_ranks(vecs: np.ndarray, qvecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact known-item ranks (1 = first) and the top-10 lists, by cosine."""
    sims = qvecs @ vecs.T
    truth = sims[np.arange(len(qvecs)), np.arange(len(qvecs))]
    ranks = 1 + (sims > truth[:, None]).sum(1)
    return ranks, np.argsort(-sims, axis=1)[:, :10]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("SKYFM_DATA_DIR"),
                    help="shared data folder (default $SKYFM_DATA_DIR)")
    ap.add_argument("--n", type=int, default=None, help="first N abstracts only (default all)")
    ap.add_argument("--embedder", default="onnx-int8",
                    help="index back-end BACKEND[@TOKENS] (default tokens: the index default)")
    ap.add_argument("--options", default="",
                    help="comma-separated further embedders BACKEND[@TOKENS] to compare, e.g. "
                         "onnx-int8@128,static")
    ap.add_argument("--torch-sample", type=int, default=500,
                    help="abstracts embedded by both torch and the index back-end")
    ap.add_argument("--latency-queries", type=int, default=300)
    ap.add_argument("--questions", default=str(HERE / "pyvo_questions.jsonl"))
    ap.add_argument("--keep", default=None, help="keep the index in this directory")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set SKYFM_DATA_DIR or --data")
    root = Path(args.data)
    from skyfm.knowledge.answer import answer
    from skyfm.knowledge.documents import Document
    from skyfm.knowledge.embedding import default_max_tokens, get_embedder
    from skyfm.knowledge.index import PaperIndex, embed_text
    from skyfm.knowledge.normalize import clean_text
    from skyfm.knowledge.search import search

    res: dict = {"threads": os.cpu_count()}
    docs = load_abstracts(root, args.n)
    notitle = [Document(d.doc_id, d.text, d.kind, d.source, None, d.authors, d.categories,
                        d.date) for d in docs]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="skyfm-papers-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    backend, tokens = parse_option(args.embedder)
    tokens = tokens or default_max_tokens(backend)
    spec = f"{backend}@{tokens}"
    emb = get_embedder(backend, tokens)
    emb.embed(["warm up"])

    # ---- speed of the embedders on one sample, and whether their rankings agree
    ns = min(args.torch_sample, len(docs))
    sample = [embed_text(None, "", d.text) for d in docs[:ns]]
    stitles = [clean_text(d.title or "") for d in docs[:ns]]
    speed = {}
    ref = f"torch@{tokens}"
    for name in (ref, spec):
        e = get_embedder(*parse_option(name))
        e.embed(sample[:8])
        t0, c0 = time.perf_counter(), time.process_time()
        v = e.embed(sample)
        speed[name] = (ns / (time.perf_counter() - t0), v, e.embed(stitles),
                       ns / (time.process_time() - c0))
    rt, tt = dense_ranks(speed[ref][1], speed[ref][2])
    rq, tq = dense_ranks(speed[spec][1], speed[spec][2])
    overlap = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(tt, tq)]))
    res["embed_docs_per_s"] = {k: v[0] for k, v in speed.items()}
    res["embed_docs_per_cpu_s"] = {k: v[3] for k, v in speed.items()}
    res["rank_agreement"] = {"sample": ns, ref: metrics(rt), spec: metrics(rq),
                             "top10_overlap": overlap,
                             "same_rank_share": float((rt == rq).mean()),
                             "min_cosine": float((speed[ref][1] * speed[spec][1]).sum(1).min())}

    # ---- build the index of abstracts without titles
    ix = PaperIndex(work, create=True, embedder=backend, max_tokens=tokens)
    rep, t_build, cpu_build = timed_add(ix, notitle)
    res["n_docs"], res["n_passages"] = len(rep.added), rep.n_passages
    res["duplicates_or_problems"] = len(rep.duplicates) + len(rep.problems)
    res["index_docs_per_s"] = len(rep.added) / t_build
    res["index_docs_per_cpu_s"] = len(rep.added) / cpu_build
    res["index_seconds"] = t_build
    res["index_load"] = os.getloadavg()[0]

    # ---- known-item retrieval: every title with a title, whose abstract was indexed
    added = set(rep.added)
    items = [d for d in docs if d.title and d.doc_id in added]
    t0 = time.perf_counter()
    r = known_item(ix, items, [d.title for d in items], emb)
    res["known_item"] = {"queries": len(items), **{m: metrics(v) for m, v in r.items()}}
    res["known_item_seconds"] = time.perf_counter() - t0
    res["options"] = {spec: {
        "docs_per_s": res["index_docs_per_s"], "docs_per_cpu_s": res["index_docs_per_cpu_s"],
        "seconds": t_build, "dense": res["known_item"]["dense"],
        "hybrid": res["known_item"]["hybrid"], "sparse": res["known_item"]["sparse"],
        "index_bytes": ix.size_bytes(), "load": res["index_load"]}}
    for opt in filter(None, (o.strip() for o in args.options.split(","))):
        res["options"][opt] = option_row(opt, notitle, items, work.parent / (work.name + "-o"))

    # ---- latency of a full hybrid search (query embedding + both searches + fusion + snippet)
    lat = []
    for d in items[: args.latency_queries]:
        t0 = time.perf_counter()
        search(ix, d.title, 10)
        lat.append(time.perf_counter() - t0)
    res["latency_ms"] = {"p50": 1000 * float(np.percentile(lat, 50)),
                         "p95": 1000 * float(np.percentile(lat, 95)), "n": len(lat)}
    res["index_bytes"] = ix.size_bytes()

    # ---- incremental add of the pyvo docs, then faithfulness of offline answers
    t0 = time.perf_counter()
    rep2 = ix.add_sources([root / "text_pyvo_docs" / "docs"], label="pyvo docs")
    res["pyvo_add"] = {"docs": len(rep2.added), "passages": rep2.n_passages,
                       "seconds": time.perf_counter() - t0, "problems": len(rep2.problems)}
    qs = [json.loads(x) for x in Path(args.questions).read_text().splitlines() if x.strip()]
    rows = []
    for q in qs:
        a = answer(ix, q["question"])
        texts = []
        for s in a.statements:
            for pid in s.passage_ids:
                p = ix.passage_by_id(pid)
                texts.append(clean_text(p.text).lower() if p else "")
        cites = {c for s in a.statements for c in s.citations}
        rows.append({"question": q["question"], "mode": a.mode,
                     "contains": any(q["answer"].lower() in t for t in texts),
                     "expected_file": f"pyvo docs: {q['file']}" in cites,
                     "cited": sorted(cites)})
    res["faithfulness"] = {
        "questions": len(rows),
        "answered": float(np.mean([r["mode"] != "none" for r in rows])),
        "cited_passage_contains_answer": float(np.mean([r["contains"] for r in rows])),
        "cites_expected_file": float(np.mean([r["expected_file"] for r in rows])),
        "rows": rows}
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # ---- extrapolation to 1,000,000 abstracts (linear in the number of documents)
    per_doc_bytes = res["index_bytes"] / max(res["n_docs"], 1)
    res["extrapolated_1M"] = {
        "index_hours": 1e6 / res["index_docs_per_s"] / 3600,
        "index_cpu_hours": 1e6 / res["index_docs_per_cpu_s"] / 3600,
        "disk_gb": per_doc_bytes * 1e6 / 1e9,
        "dense_ram_gb_flat_float32": 1e6 * ix._dense.d * 4 / 1e9,
    }
    report(res, spec)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if not args.keep:
        ix.close()
        shutil.rmtree(work, ignore_errors=True)


def report(res: dict, backend: str) -> None:
    ki = res["known_item"]
    print(f"\nknown-item retrieval: {ki['queries']} titles -> {res['n_docs']} abstracts "
          "indexed without titles")
    print(f"{'method':<8} {'recall@1':>9} {'recall@10':>10} {'MRR':>7}")
    for m in ("sparse", "dense", "hybrid", "hybrid-rrf"):
        print(f"{m:<8} {ki[m]['recall@1']:>9.3f} {ki[m]['recall@10']:>10.3f} "
              f"{ki[m]['MRR']:>7.3f}")
    ra = res["rank_agreement"]
    print(f"\nembedding throughput on {ra['sample']} abstracts ({res['threads']} cores visible):")
    for k, v in res["embed_docs_per_s"].items():
        print(f"  {k:<14} {v:7.1f} docs/s {res['embed_docs_per_cpu_s'][k]:7.1f} docs/CPU-s   "
              "dense known-item recall@1 "
              f"{ra[k]['recall@1']:.3f} recall@10 {ra[k]['recall@10']:.3f}")
    print(f"  {backend} vs torch at the same length: top-10 overlap {ra['top10_overlap']:.3f}, same known-item "
          f"rank {ra['same_rank_share']:.3f}, min cosine {ra['min_cosine']:.4f}")
    print(f"\nindexing: {res['index_docs_per_s']:.1f} docs/s end to end ({res['index_seconds']:.0f}"
          f" s for {res['n_docs']}), {res['index_docs_per_cpu_s']:.1f} docs per CPU-second, "
          f"load average {res['index_load']:.1f}; index on disk {res['index_bytes'] / 1e6:.1f} MB;"
          f" peak RSS {res['peak_rss_mb']:.0f} MB")
    print(f"\nembedder options (whole add: chunk + embed + write; same {res['n_docs']} abstracts):")
    print(f"{'embedder':<16} {'docs/s':>7} {'docs/CPU-s':>10} {'load':>5} {'dense R@1':>9} "
          f"{'R@10':>6} {'MRR':>6} {'hybrid R@1':>10} {'R@10':>6} {'MRR':>6}")
    for name, o in res["options"].items():
        print(f"{name:<16} {o['docs_per_s']:>7.1f} {o['docs_per_cpu_s']:>10.1f} {o['load']:>5.1f} "
              f"{o['dense']['recall@1']:>9.3f} {o['dense']['recall@10']:>6.3f} "
              f"{o['dense']['MRR']:>6.3f} {o['hybrid']['recall@1']:>10.3f} "
              f"{o['hybrid']['recall@10']:>6.3f} {o['hybrid']['MRR']:>6.3f}")
    lat = res["latency_ms"]
    print(f"hybrid query latency: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms "
          f"({lat['n']} queries)")
    pa = res["pyvo_add"]
    print(f"incremental add of the pyvo docs: {pa['docs']} files, {pa['passages']} passages in "
          f"{pa['seconds']:.1f} s")
    x = res["extrapolated_1M"]
    print(f"1M abstracts (linear): {x['index_hours']:.1f} h to index ({x['index_cpu_hours']:.1f} "
          f"CPU-hours), {x['disk_gb']:.1f} GB on "
          f"disk, {x['dense_ram_gb_flat_float32']:.2f} GB of float32 vectors in RAM (flat)")
    f = res["faithfulness"]
    print(f"\nfaithfulness, {f['questions']} pyvo questions (offline answers): answered "
          f"{f['answered']:.2f}, cited passage contains the answer "
          f"{f['cited_passage_contains_answer']:.2f}, cites the expected file "
          f"{f['cites_expected_file']:.2f}")
    for r in f["rows"]:
        if not (r["contains"] and r["expected_file"]):
            print(f"  miss: {r['question']!r} -> {r['cited']}")


if __name__ == "__main__":
    main()
