"""Papers for an object; PDF and Markdown sources; a damaged index is named; the pyvo
benchmark questions point at text that is really in their files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from skyfm.errors import DataFormatError
from skyfm.knowledge.documents import Document
from skyfm.knowledge.ingest import chunk_document, read_sources
from skyfm.knowledge.normalize import clean_text
from skyfm.knowledge.related import ObjectContext, context_from_run, related, related_query

ROOT = Path(__file__).resolve().parents[2]


def _pdf(text_lines: list[str]) -> bytes:
    """A minimal one-page PDF with the lines as text (offsets computed, so readers accept it)."""
    ops = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({t}) Tj T*" for t in text_lines) + " ET"
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
             "/Resources << /Font << /F1 5 0 R >> >> >>"),
            f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    return out


def test_pdf_and_markdown_sources(tmp_path):
    pytest.importorskip("pypdf")
    (tmp_path / "mine.pdf").write_bytes(_pdf(["Cepheids in M31 pulsate with periods",
                                              "of about ten days."]))
    (tmp_path / "notes.md").write_text("# Plan\n\nObserve the **Cepheids** with "
                                       "[HST](https://hst).\n\n## Later\n\nReduce the data.\n")
    items = list(read_sources([tmp_path], label="mine"))
    assert all(isinstance(i, Document) for i in items), items
    pdf = next(d for d in items if d.kind == "pdf")
    assert pdf.doc_id == "mine: mine.pdf" and "Cepheids in M31" in pdf.text
    assert pdf.sections[0][0] == "page 1"
    md = next(d for d in items if d.kind == "markdown")
    assert [s[0] for s in md.sections] == ["Plan", "Later"]
    text = clean_text(" ".join(c.text for c in chunk_document(md)))
    assert "Observe the Cepheids with HST." in text


def test_damaged_dense_index_is_named(index_copy):
    from skyfm.knowledge.index import PaperIndex

    path = index_copy.path
    index_copy.close()
    (path / "dense.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(DataFormatError, match="dense.faiss"):
        PaperIndex(path)


def test_related_query_and_papers(index):
    ctx = ObjectContext("obj-1", label="SNIa", neighbour_labels=["SNII", "SNII", "SNIa"],
                        properties={"redshift": 0.05})
    q = related_query(ctx)
    assert "type Ia supernova" in q and "type II supernova" in q and "redshift 0.05" in q
    query, hits = related(index, ctx, k=3)
    assert query == q and len(hits) == 3
    with pytest.raises(DataFormatError, match="nothing is known"):
        related_query(ObjectContext("bare"))


def test_context_from_a_discovery_run(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "serve"))
    from serve_helpers import make_out_dir

    out = make_out_dir(tmp_path / "out")
    import pandas as pd

    cands = pd.read_csv(out / "candidates.csv", dtype=str, keep_default_na=False)
    oid = cands["object_id"].iloc[0]
    ctx = context_from_run(out, oid)
    assert ctx.object_id == oid
    assert len(ctx.neighbour_labels) == len([n for n in cands["neighbours"].iloc[0].split(";")
                                             if n])
    with pytest.raises(DataFormatError, match="not in the run"):
        context_from_run(out, "no-such-object")


def test_bench_questions_answers_are_in_their_files(shared_data):
    docs = shared_data("text_pyvo_docs") / "docs"
    rows = [json.loads(x) for x in (ROOT / "bench" / "pyvo_questions.jsonl").read_text()
            .splitlines() if x.strip()]
    assert len(rows) >= 30 and len({r["question"] for r in rows}) == len(rows)
    for r in rows:
        assert r["answer"].lower() in clean_text((docs / r["file"]).read_text()).lower(), r
