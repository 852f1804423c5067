"""Readers and chunking: missing/null fields, bad records and corrupt files are reported by
name, offsets point into the document, LaTeX becomes words."""

from __future__ import annotations

import gzip
import json

from skyfm.knowledge.documents import Document
from skyfm.knowledge.ingest import Problem, chunk_document, read_sources
from skyfm.knowledge.normalize import clean_text, latex_to_words, strip_markup


def _split(items):
    items = list(items)
    docs = [i for i in items if isinstance(i, Document)]
    return docs, [i for i in items if isinstance(i, Problem)]


def test_jsonl_missing_and_null_fields_are_indexed_bad_records_reported(tmp_path):
    rows = [
        {"arxiv_id": "2501.00001", "abstract": "A abstract.", "title": None, "authors": None,
         "categories": None, "listing_date": None},
        {"arxiv_id": "2501.00002", "abstract": "Only the required fields."},
        {"arxiv_id": "2501.00003", "title": "No abstract here"},
        {"arxiv_id": "2501.00004", "abstract": "x", "authors": 5},
        {"abstract": "no id"},
        {"arxiv_id": "2501.00005", "abstract": "bad date", "listing_date": "yesterday"},
        {"arxiv_id": "2501.00006", "abstract": "Cats as arXiv spells them.",
         "categories": "astro-ph.GA astro-ph.CO", "listing_date": "2025-04-17"},
    ]
    f = tmp_path / "new.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    docs, problems = _split(read_sources([f]))
    assert [d.doc_id for d in docs] == ["arXiv:2501.00001", "arXiv:2501.00002",
                                        "arXiv:2501.00006"]
    assert docs[0].title is None and docs[0].authors == [] and docs[0].date is None
    assert docs[2].categories == ["astro-ph.GA", "astro-ph.CO"] and docs[2].date == "2025-04-17"
    msgs = {p.source.rsplit(":", 1)[1]: p.message for p in problems}
    assert set(msgs) == {"3", "4", "5", "6", "8"}
    assert "'abstract'" in msgs["3"] and "'authors'" in msgs["4"] and "'arxiv_id'" in msgs["5"]
    assert "'listing_date'" in msgs["6"] and "not JSON" in msgs["8"]
    assert all(p.source.startswith(str(f)) for p in problems)


def test_truncated_gzip_and_binary_rst_are_skipped_by_name(tmp_path):
    good = tmp_path / "good.jsonl.gz"
    good.write_bytes(gzip.compress(b'{"arxiv_id": "1", "abstract": "fine"}\n'))
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(b'{"arxiv_id": "2", "abstract": "cut"}\n' * 50)[:40])
    junk = tmp_path / "junk.rst"
    junk.write_bytes(b"\xff\xfe\x00binary\x00")
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.4 this is not really a pdf")
    other = tmp_path / "image.png"
    other.write_bytes(b"\x89PNG")
    docs, problems = _split(read_sources([tmp_path]))
    assert [d.doc_id for d in docs] == ["arXiv:1"]
    named = {p.source for p in problems}
    assert {str(bad), str(junk), str(pdf), str(other)} <= named
    assert all("skipped" in p.message or "not indexed" in p.message for p in problems)


def test_chunks_keep_provenance_offsets(shared_data):
    docs, problems = _split(read_sources([shared_data("text_pyvo_docs") / "docs" / "dal"],
                                         label="pyvo docs"))
    assert not problems and [d.doc_id for d in docs] == ["pyvo docs: index.rst"]
    chunks = chunk_document(docs[0])
    assert len(chunks) > 10
    for c in chunks:
        assert docs[0].text[c.start:c.end] == c.text
        assert c.passage_id == f"pyvo docs: index.rst#{c.n}"
    assert {"Getting started", "Table Access Protocol"} <= {clean_text(c.section)
                                                            for c in chunks}


def test_latex_source_reader(tmp_path):
    tex = tmp_path / "paper.tex"
    tex.write_text("\\documentclass{article}\\usepackage{amsmath}\n\\title{Dusty discs}\n"
                   "\\begin{document}\\maketitle\n\\section{Introduction}\nDiscs at "
                   "$z\\sim2$ are dusty.\n\n\\section{Method}\nWe fit \\emph{SEDs}.\n"
                   "\\end{document}\n")
    (doc,), _ = _split(read_sources([tex]))
    assert doc.doc_id == "paper.tex" and doc.title == "Dusty discs" and doc.kind == "latex"
    chunks = chunk_document(doc)
    assert all("usepackage" not in c.text for c in chunks)
    assert "Discs at z ~ 2 are dusty." in clean_text(" ".join(c.text for c in chunks))


def test_latex_and_markup_become_words():
    assert latex_to_words("$z\\sim2$") == "z ~ 2"
    assert latex_to_words("$10^{13}\\,M_\\odot$") == "10 13 M sun"
    assert latex_to_words("H$\\alpha$ and \\emph{JWST}") == "H alpha and JWST"
    assert strip_markup(":class:`~pyvo.dal.TAPService` and `astropy <https://x>`__").strip() \
        == "pyvo.dal.TAPService and astropy"
