"""The on-disk index: incremental add, no duplicates, replacement, corrupt files, filters,
LaTeX search, and the CLI contract of ``skyfm papers index|search``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from skyfm.errors import DataNotFoundError
from skyfm.knowledge.documents import Document
from skyfm.knowledge.index import PaperIndex
from skyfm.knowledge.search import search

PYVO_FILES = 6  # files conftest.py copies from the pyvo docs


def test_built_index_holds_every_source(index, corpus):
    ids = {r[0] for r in index._db.execute("SELECT doc_id FROM documents")}
    assert {f"arXiv:{r['arxiv_id']}" for r in corpus["records"]} <= ids
    assert {"pyvo docs: index.rst", "pyvo docs: samp/index.rst", "notes: tap.md"} <= ids
    assert index.n_passages == index._dense.ntotal == index._sparse.searcher().num_docs


def test_adding_twice_does_not_duplicate(index_copy, corpus):
    before = (index_copy.n_documents, index_copy.n_passages)
    report = index_copy.add_sources([corpus["abstracts"], corpus["pyvo"]], label="pyvo docs")
    assert report.added == [] and report.replaced == []
    assert len(report.duplicates) == len(corpus["records"]) + 1 + PYVO_FILES
    assert (index_copy.n_documents, index_copy.n_passages) == before
    again = PaperIndex(index_copy.path)  # reopened: the stores still agree
    assert again.n_passages == before[1]


def test_two_versions_of_one_id_in_a_batch_never_flip_on_re_indexing(index_copy):
    """A source holding two different documents under one id keeps the first and reports the
    second every time; re-indexing the unchanged source changes nothing (it used to replace
    the stored one by the other on every run)."""
    first = Document("arXiv:9999.00003", "Pulsar timing arrays detect a background.", "arxiv",
                     "dup.jsonl")
    second = Document("arXiv:9999.00003", "Quasar winds heat the halo.", "arxiv", "dup.jsonl")
    index_copy.add([first, second])
    for _ in range(2):
        report = index_copy.add([first, second])
        assert report.replaced == [] and report.added == []
        assert report.duplicates == ["arXiv:9999.00003"]
        assert any("second document with id arXiv:9999.00003" in p.message
                   for p in report.problems)
    hit = search(index_copy, "pulsar timing background", 1, mode="sparse")[0]
    assert hit.id == "arXiv:9999.00003"


def test_changed_document_replaces_the_old_version(index_copy):
    doc = Document("arXiv:9999.00002", "Magnetars power fast radio bursts.", "arxiv", "mem")
    index_copy.add([doc])
    n = index_copy.n_passages
    report = index_copy.add([Document("arXiv:9999.00002", "Blazars emit neutrinos.", "arxiv",
                                      "mem")])
    assert report.replaced == ["arXiv:9999.00002"] and index_copy.n_passages == n
    assert search(index_copy, "blazars neutrinos", 1, mode="sparse")[0].id == "arXiv:9999.00002"
    assert all(h.id != "arXiv:9999.00002"
               for h in search(index_copy, "magnetars fast radio bursts", 5, mode="sparse"))


def test_corrupt_file_is_skipped_by_name_and_index_stays_usable(index_copy, tmp_path):
    bad = tmp_path / "broken.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    good = tmp_path / "new.jsonl"
    good.write_text(json.dumps({"arxiv_id": "9999.00003", "abstract":
                                "Exomoons transit brown dwarfs."}) + "\n")
    report = index_copy.add_sources([bad, good])
    assert [str(p.source) for p in report.problems] == [str(bad)]
    assert report.added == ["arXiv:9999.00003"]
    assert search(index_copy, "exomoons brown dwarfs", 1)[0].id == "arXiv:9999.00003"


def test_latex_is_searchable_as_words(index):
    import numpy as np

    (rowid,) = [r for (r,) in index._db.execute(
        "SELECT id FROM passages WHERE doc_id='arXiv:9999.00001'")]
    only = np.array([rowid])
    # the abstract says $z\sim2$ and $10^{13}\,M_\odot$: indexed as "z ~ 2", "10 13 M sun"
    assert [r for r, _ in index.sparse_search("z ~ 2", 5, only)] == [rowid]
    assert [r for r, _ in index.sparse_search("solar masses sun", 5, only)] == [rowid]
    assert index.sparse_search("sim2 odot", 5, only) == []
    hits = search(index, "clustering of quiescent galaxies at z ~ 2", 3)
    assert "arXiv:9999.00001" in [h.id for h in hits]
    snip = next(h.snippet for h in hits if h.id == "arXiv:9999.00001")
    assert "z ~ 2" in snip


def test_filters_on_category_date_and_author(index, corpus):
    rec = next(r for r in corpus["records"] if r.get("authors"))
    surname = rec["authors"][0].split()[-1]
    hits = search(index, "galaxies", 50, author=surname)
    assert hits and all(any(surname.lower() in a.lower() for a in h.passage.authors)
                        for h in hits)
    cat = "astro-ph.CO"
    hits = search(index, "dark matter", 20, categories=[cat])
    assert hits and all(cat in h.passage.categories for h in hits)
    day = min(r["listing_date"] for r in corpus["records"])
    hits = search(index, "galaxies", 20, date_from=day, date_to=day)
    assert hits and all(h.passage.date == day for h in hits)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="no paper index"):
        PaperIndex(tmp_path / "nothing")


def _cli(*args):
    from skyfm.cli import _register, app

    _register()
    return CliRunner().invoke(app, list(args))


def test_cli_index_search_json_and_queries(tmp_path):
    src = tmp_path / "mine.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in [
        {"arxiv_id": "2601.00001", "abstract": "Cold fronts in galaxy clusters seen by XRISM.",
         "title": None},
        {"arxiv_id": "2601.00002", "abstract": "Tidal tails of globular clusters in Gaia."},
        {"arxiv_id": "2601.00003", "title": "no abstract"}]) + "\n")
    idx = tmp_path / "idx"
    r = _cli("papers", "index", str(src), "--index", str(idx))
    assert r.exit_code == 0, r.output
    assert "2 documents added" in r.output and f"{src}:3" in r.output
    r = _cli("papers", "search", "--index", str(idx), "globular cluster tidal tails", "-k", "1",
             "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)["results"]
    assert [x["id"] for x in res] == ["arXiv:2601.00002"]
    assert set(res[0]) >= {"id", "title", "score", "snippet"}
    q = tmp_path / "q.txt"
    q.write_text("cold fronts\nglobular clusters\n")
    r = _cli("papers", "search", "--index", str(idx), "--queries", str(q), "-k", "2")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["results"][0]["id"] for x in lines] == ["arXiv:2601.00001", "arXiv:2601.00002"]
    r = _cli("papers", "index", str(src), "--index", str(idx))
    assert "0 documents added" in r.output and "2 already indexed" in r.output
