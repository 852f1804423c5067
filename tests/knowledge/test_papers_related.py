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
    # the discovery reason's phrasing never dilutes what is known; alone, only its quantities
    why = "Concentration 2.62 lower than its neighbours' median 4.21; flagged most by the knn"
    assert related_query(ObjectContext("o", label="SNIa", reason=why)) == "type Ia supernova"
    assert related_query(ObjectContext("o", reason=why)) == "concentration"


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


def _cards(html: str) -> dict[str, str]:
    """object id -> the HTML of its card in a discovery report."""
    import re

    card = re.compile(r'<article class="card"[^>]*data-object-id="([^"]+)">(.*?)</article>',
                      re.DOTALL)
    return {m.group(1): m.group(2) for m in card.finditer(html)}


def test_discovery_report_lists_related_papers(tmp_path, built_index):
    """`skyfm discover run --papers-index`: each top card lists the 3 papers `related` finds
    for it, linked; rebuilt without an index the cards have no papers block; a missing index
    is an error before the run."""
    import re

    from typer.testing import CliRunner

    sys.path.insert(0, str(ROOT / "tests" / "discover"))
    from discover_synth import make_table

    from skyfm.cli import _register, app
    from skyfm.data import layout
    from skyfm.knowledge.tools import open_index

    _register()
    data = layout.write_dataset([make_table(40)], tmp_path / "table")
    args = ["discover", "run", str(data), "--top", "3", "--n-noise", "1", "--n-members", "2"]
    res = CliRunner().invoke(app, args + ["--out", str(tmp_path / "with"),
                                          "--papers-index", str(built_index)])
    assert res.exit_code == 0, res.output
    cards = _cards((tmp_path / "with" / "report" / "index.html").read_text())
    assert len(cards) == 3
    ix = open_index(built_index)
    for oid, card in cards.items():
        shown = re.findall(r'data-paper-id="([^"]+)"', card)
        _, hits = related(ix, context_from_run(tmp_path / "with", oid), 3)
        assert shown == [h.id for h in hits] and len(shown) == 3
        for h in hits:
            if h.id.startswith("arXiv:"):
                assert f'href="https://arxiv.org/abs/{h.id[6:]}"' in card
            else:
                assert f'href="{Path(h.passage.source).resolve().as_uri()}"' in card

    # the same run's report rebuilt without an index: the cards have no papers block
    import pandas as pd

    from skyfm.discover.report import report_from_run

    cands = pd.read_csv(tmp_path / "with" / "candidates.csv", dtype={"object_id": str})
    html = report_from_run(tmp_path / "with", cands, [], top=3).read_text()
    assert len(_cards(html)) == 3 and "data-paper-id" not in html and 'class="papers"' not in html

    res = CliRunner().invoke(app, args + ["--out", str(tmp_path / "bad"),
                                          "--papers-index", str(tmp_path / "no-index")])
    assert res.exit_code != 0 and "no paper index" in str(res.exception)
    assert not (tmp_path / "bad" / "candidates.csv").exists()
