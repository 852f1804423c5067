"""``skyfm papers index|search|related`` and ``skyfm ask``: literature search and answers that
cite their sources (see :mod:`skyfm.knowledge`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from skyfm.cli import app

papers_app = typer.Typer(help="Search papers and documentation (hybrid BM25 + MiniLM).\n\n"
                              "Example: skyfm papers index abstracts.jsonl.gz --index papers_idx",
                         no_args_is_help=True)
app.add_typer(papers_app, name="papers")


def _index_dir(index: Path | None) -> Path:
    """--index, else $SKYFM_PAPERS_INDEX (typer reads it), else ~/.local/share/skyfm/papers."""
    return index if index is not None else Path.home() / ".local" / "share" / "skyfm" / "papers"


IndexOpt = Annotated[Path | None, typer.Option(
    "--index", envvar="SKYFM_PAPERS_INDEX", show_default=False,
    help="index directory (default: $SKYFM_PAPERS_INDEX, else ~/.local/share/skyfm/papers)")]


def _hit_json(h) -> dict:
    return {"id": h.id, "title": h.title, "score": round(h.score, 6), "snippet": h.snippet,
            "passage_id": h.passage.passage_id, "source": h.passage.source}


def _print_hits(hits, query: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from skyfm.knowledge.search import highlight_terms

    table = Table(title=f"papers for {query[:80]!r}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("id")
    table.add_column("title")
    table.add_column("score", justify="right")
    table.add_column("snippet")
    for i, h in enumerate(hits, 1):
        snip = Text(h.snippet)
        for a, b in highlight_terms(h.snippet, query):
            snip.stylize("bold yellow", a, b)
        table.add_row(str(i), Text(h.id), Text(h.title), f"{h.score:.4f}", snip)
    Console().print(table)


@papers_app.command("index")
def papers_index(
    sources: Annotated[list[Path], typer.Argument(
        help="files or directories: arXiv-style .jsonl[.gz], .rst, .md, .txt, .pdf, .tex")],
    index: IndexOpt = None,
    label: Annotated[str | None, typer.Option(
        help="name cited for files of a directory, e.g. 'pyvo docs' -> [pyvo docs: dal/index.rst]"
             " (default: the directory's name)")] = None,
    embedder: Annotated[str, typer.Option(
        help="embedding back-end of a new index: onnx-int8 | onnx | torch (MiniLM) or static "
             "(a model2vec model distilled from it: ~30x faster, weaker dense "
             "ranking)")] = "onnx-int8",
    max_tokens: Annotated[int | None, typer.Option(
        min=16, max=512, help="truncate passages to this many tokens when embedding (a new "
                              "index; default 128 for MiniLM, half the cost of the model's "
                              "256; 512 for static)")] = None,
) -> None:
    """Add documents to a paper index (created when new). Adding is incremental: documents
    already indexed are not added again; unreadable files are reported by name and skipped.

    Example: skyfm papers index $SKYFM_DATA_DIR/text_pyvo_docs/docs --label "pyvo docs"
    --index papers_idx
    """
    from skyfm.cli.progress import make_progress
    from skyfm.knowledge.index import PaperIndex

    index = _index_dir(index)
    ix = PaperIndex(index, create=not (index / "meta.json").is_file(), embedder=embedder,
                    max_tokens=max_tokens)
    with make_progress(transient=True) as progress:
        task = progress.add_task("embedding passages", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = ix.add_sources(sources, label=label, progress=advance)
    for p in report.problems:
        typer.echo(f"skipped {p}", err=True)
    typer.echo(f"{report.summary()} -> {index} ({ix.n_documents} documents, "
               f"{ix.n_passages} passages)")


@papers_app.command("search")
def papers_search(
    query: Annotated[str | None, typer.Argument(help="free text (LaTeX allowed)")] = None,
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=1000, help="results")] = 10,
    mode: Annotated[str, typer.Option(help="hybrid | sparse | dense")] = "hybrid",
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="keep papers in this category (repeatable: all of them)")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="listed on or after "
                                                                 "YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="listed on or before "
                                                             "YYYY-MM-DD")] = None,
    author: Annotated[str | None, typer.Option(help="part of an author's name")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    queries: Annotated[Path | None, typer.Option(
        help="a file of queries, one a line: one JSON line per query on stdout")] = None,
) -> None:
    """Search the index: ranked papers with the matching snippet.

    Example: skyfm papers search --index papers_idx "ram pressure stripping" -k 5
    """
    from pydantic import ValidationError

    from skyfm.errors import SkyfmError
    from skyfm.knowledge.search import search
    from skyfm.knowledge.tools import open_index

    if (query is None) == (queries is None):
        raise typer.BadParameter("give a QUERY or --queries FILE (one of them)")
    try:
        from skyfm.knowledge.tools import SearchPapersIn

        SearchPapersIn(query=query or "x", k=min(k, 200), mode=mode, categories=category or [],
                       date_from=date_from, date_to=date_to, author=author)
    except ValidationError as exc:
        raise SkyfmError("invalid search option: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    ix = open_index(_index_dir(index))
    opts = {"mode": mode, "categories": category or None, "date_from": date_from,
            "date_to": date_to, "author": author}
    if queries is not None:
        if not queries.is_file():
            raise typer.BadParameter(f"{queries}: no such file", param_hint="--queries")
        for line in queries.read_text(encoding="utf-8").splitlines():
            if line.strip():
                hits = search(ix, line.strip(), k, **opts)
                typer.echo(json.dumps({"query": line.strip(),
                                       "results": [_hit_json(h) for h in hits]}))
        return
    hits = search(ix, query, k, **opts)
    if json_out:
        typer.echo(json.dumps({"results": [_hit_json(h) for h in hits]}, indent=1))
    elif not hits:
        typer.echo("no results")
    else:
        _print_hits(hits, query)


@papers_app.command("related")
def papers_related(
    object_id: Annotated[str, typer.Argument(help="the object's id")],
    index: IndexOpt = None,
    run: Annotated[Path | None, typer.Option(
        help="a `skyfm discover` OUT directory holding the object (class, neighbours, reason)")
    ] = None,
    label: Annotated[str | None, typer.Option("--class", help="the object's class")] = None,
    neighbour: Annotated[list[str] | None, typer.Option(
        "--neighbour-label", help="a nearest neighbour's class (repeatable)")] = None,
    prop: Annotated[list[str] | None, typer.Option(
        "--prop", help="a measured property NAME=VALUE, e.g. period=0.56 (repeatable)")] = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=200)] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Papers about objects like this one (its class, its neighbours' classes, its properties).

    Example: skyfm papers related 12345 --run out --index papers_idx
    """
    from skyfm.knowledge.related import ObjectContext, context_from_run, related
    from skyfm.knowledge.tools import open_index

    ctx = context_from_run(run, object_id) if run is not None else ObjectContext(object_id)
    if label:
        ctx.label = label
    if neighbour:
        ctx.neighbour_labels = list(neighbour)
    for p in prop or []:
        name, eq, value = p.partition("=")
        try:
            ctx.properties[name.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{p!r} (expected NAME=NUMBER)", param_hint="--prop")
        if not eq or not name.strip():
            raise typer.BadParameter(f"{p!r} (expected NAME=NUMBER)", param_hint="--prop")
    query, hits = related(open_index(_index_dir(index)), ctx, k)
    if json_out:
        typer.echo(json.dumps({"object_id": object_id, "query": query,
                               "results": [_hit_json(h) for h in hits]}, indent=1))
    else:
        typer.echo(f"query: {query}")
        _print_hits(hits, query) if hits else typer.echo("no results")


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="a question in plain words")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="passages to read")] = 10,
    llm: Annotated[bool | None, typer.Option(
        "--llm/--offline", help="use the OpenAI-compatible endpoint in SKYFM_LLM_BASE_URL "
                                "(+ SKYFM_LLM_MODEL, SKYFM_LLM_API_KEY); default: when set")]
    = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Answer a question from the paper index; every statement cites the passage it came from.

    Example: skyfm ask "what is pyvo?" --index papers_idx
    """
    from skyfm.errors import SkyfmError
    from skyfm.knowledge.answer import answer, llm_from_env
    from skyfm.knowledge.tools import open_index

    cfg = llm_from_env() if llm is not False else None
    if llm and cfg is None:
        raise SkyfmError("--llm needs SKYFM_LLM_BASE_URL and SKYFM_LLM_MODEL in the "
                         "environment")
    a = answer(open_index(_index_dir(index)), question, k=k, llm=cfg)
    if json_out:
        typer.echo(json.dumps(a.to_dict(), indent=1))
        return
    if not a.statements:
        typer.echo("I found nothing that answers this.")
    for s in a.statements:
        typer.echo(f"- {s.text} {''.join(f'[{c}]' for c in s.citations)}")
    for n in a.notes:
        typer.echo(f"note: {n}", err=True)
