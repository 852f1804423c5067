"""``skyfm index build|query``, ``skyfm feedback`` and ``skyfm serve``: search, labels, web page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skyfm.cli import app
from skyfm.cli.read_options import (
    ColumnOpt,
    DuplicatesOpt,
    ModalityOpt,
    TimeFormatOpt,
    read_input,
)

index_app = typer.Typer(help="Similarity search over embeddings (faiss).\n\n"
                             "Example: skyfm index build out --out out/index",
                        no_args_is_help=True)
app.add_typer(index_app, name="index")


def _encoder(model: str):
    from skyfm.models.registry import load_encoder

    return load_encoder("lightcurve", model)


def _embed_like_index(index, index_dir: Path, observations: list, model: str):
    """Embed ``observations`` the way the index's vectors were made.

    The fitted embedder a `skyfm discover` OUT holds (``embedder.json`` + ``embedder.npz``,
    read by :func:`skyfm.discover.embed.load_embedder`), in the index directory or in the
    directory the embeddings came from, is used first; otherwise the light-curve encoder
    ``model``, when its dimension matches the index. (No pickles are ever loaded.)
    """
    from skyfm.discover.embed import EMBEDDER_JSON, load_embedder
    from skyfm.errors import SkyfmError

    dirs = [d for d in (index_dir, Path(index.source) if index.source else None) if d is not None]
    for d in dirs:
        if (d / EMBEDDER_JSON).is_file():
            x = load_embedder(d).transform(observations)
            if x.shape[1] != index.dim:
                raise SkyfmError(f"the embedder saved in {d} makes {x.shape[1]}-D vectors but the "
                                 f"index holds {index.dim}-D ones")
            return x
    enc = _encoder(model)
    dim = enc.embed_dim
    if int(dim) != index.dim:
        raise SkyfmError(
            f"the index holds {index.dim}-D vectors but encoder '{model}' makes {dim}-D ones: "
            f"it was built from other embeddings ({index.source or 'unknown source'}), e.g. "
            "discovery's (encoder + features). Query it with --id, put the fitted embedder "
            f"({EMBEDDER_JSON} + its .npz from `skyfm discover`) in {index_dir}, or build the index from '{model}' embeddings.")
    return enc.embed(observations)


@index_app.command("build")
def index_build(
    source: Annotated[Path, typer.Argument(
        help="a `skyfm discover` OUT directory (embeddings.npy + object_ids.txt) or an .npy file")],
    out: Annotated[Path, typer.Option("--out", "-o", help="index directory to write")],
    kind: Annotated[str, typer.Option(help="auto | flat | hnsw | ivf")] = "auto",
    metric: Annotated[str, typer.Option(help="cosine | l2")] = "cosine",
    add: Annotated[bool, typer.Option(
        "--add", help="add the vectors to the existing index at --out instead of building a new one"
    )] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="replace an existing index at --out whole")] = False,
) -> None:
    """Build (or extend, with --add) a similarity index over embeddings.

    --out must be new or empty (or an index, with --overwrite or --add); the index is written
    beside it and moved into place only when complete.

    Example: skyfm index build out --out out/index --kind hnsw
    """
    from skyfm.cli.progress import progress_task
    from skyfm.discover.index import SimilarityIndex, load_embeddings
    from skyfm.outputs import check_target

    extend = add and (out / "index.faiss").is_file()
    if not extend:  # fail before any work when --out is taken
        check_target(out, overwrite, lambda p: (p / "index.json").is_file(), "index")
    x, ids = load_embeddings(source)
    if extend:
        index = SimilarityIndex.load(out)
        new = [i for i, oid in enumerate(ids) if oid not in index]
        index.add(x[new], [ids[i] for i in new])
        index.save(out, overwrite=True)  # the extended index replaces the old one whole
        typer.echo(f"added {len(new)} vectors ({len(ids) - len(new)} already indexed): {index} "
                   f"-> {out}")
        return
    with progress_task("indexing", len(x)) as advance:
        index = SimilarityIndex(metric=metric, kind=kind).build(x, ids, progress=advance)
    index.source = str(source.resolve() if source.is_dir() else source.resolve().parent)
    index.save(out, overwrite=overwrite)
    typer.echo(f"{index} -> {out}")


@index_app.command("query")
def index_query(
    index_dir: Annotated[Path, typer.Argument(help="directory written by `skyfm index build`")],
    object_id: Annotated[str | None, typer.Option("--id", help="an indexed object id")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", help="an observation file: read with skyfm.data.read and embedded")] = None,
    model: Annotated[str, typer.Option(help="encoder for --file")] = "skyfm-lc-base",
    k: Annotated[int, typer.Option("--k", "-k", help="number of neighbours")] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    column: ColumnOpt = None,
    duplicates: DuplicatesOpt = None,
    time_format: TimeFormatOpt = None,
    modality: ModalityOpt = None,
) -> None:
    """The k most similar indexed objects to an object id or to an observation file.

    Example: skyfm index query out/index --id ZTF18abcdefg --k 10
    """
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from skyfm.discover.index import SimilarityIndex

    if (object_id is None) == (file is None):
        raise typer.BadParameter("give exactly one of --id or --file")
    index = SimilarityIndex.load(index_dir)
    if object_id is not None:
        if object_id not in index:
            raise typer.BadParameter(f"object id {object_id!r} is not in the index "
                                     f"({len(index)} objects)", param_hint="--id")
        results = {object_id: index.query_id(object_id, k)}
    else:
        from skyfm.discover.embed import detect_modality
        from skyfm.discover.index import check_query_modality, index_modality, queryable

        obs = read_input(file, columns=column, duplicates=duplicates, time_format=time_format,
                         modality=modality)
        if len(obs) == 0:
            raise typer.BadParameter(f"no observations read from {file}", param_hint="--file")
        indexed = index_modality(index_dir, index.source)
        check_query_modality(list(obs), indexed, file)
        obs, skipped = queryable(obs, indexed or detect_modality(list(obs)))
        for name, why in skipped:
            typer.echo(f"skipped {name}: {why}", err=True)
        if not obs:
            raise typer.BadParameter(f"nothing in {file} can be queried ({len(skipped)} "
                                     "object(s) skipped)", param_hint="--file")
        vectors = _embed_like_index(index, index_dir, list(obs), model)
        names = [o.object_id or f"{file.name}[{i}]" for i, o in enumerate(obs)]
        results = dict(zip(names, index.query(vectors, k)))
    if json_out:
        typer.echo(json.dumps({q: [h.__dict__ for h in hits] for q, hits in results.items()},
                              indent=1))
        return
    score_name = "similarity" if index.metric == "cosine" else "distance"
    console = Console()
    for q, hits in results.items():
        table = Table(title=f"nearest to {escape(q)}")
        table.add_column("#", justify="right")
        table.add_column("object_id")
        table.add_column(score_name, justify="right")
        for h in hits:
            table.add_row(str(h.rank), escape(h.object_id), f"{h.score:.4f}")
        console.print(table)


@app.command("feedback")
def feedback(
    out: Annotated[Path, typer.Argument(help="a `skyfm discover` OUT directory")],
    object_id: Annotated[str, typer.Option("--id", help="object id from candidates.csv")],
    interesting: Annotated[bool, typer.Option("--interesting/--boring",
                                              help="mark the object interesting or not")],
    show: Annotated[int, typer.Option(
        help="print the top N of the re-ranked list (0 = none)")] = 10,
) -> None:
    """Mark a candidate interesting or boring; the ranking learns from it (OUT/feedback.csv).

    Example: skyfm feedback out --id ZTF18abcdefg --boring
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from skyfm.discover import feedback as fbk

    cands = fbk.load_candidates(out)
    row = fbk.record_feedback(out, object_id, interesting, source="cli",
                              known_ids=cands["object_id"].astype(str).tolist())
    typer.echo(f"{row['object_id']}: {row['label']} ({row['timestamp']}) -> {out / 'feedback.csv'}")
    if show > 0:
        ranked = fbk.rerank(out, candidates=cands)
        table = Table(title=f"re-ranked candidates (top {show})")
        for col in ("rank", "was", "object_id", "feedback", "reason"):
            table.add_column(col)
        for _, r in ranked.head(show).iterrows():
            table.add_row(str(r["rank"]), str(r["prior_rank"]), escape(str(r["object_id"])),
                          str(r["feedback"]), escape(str(r.get("reason", ""))[:60]))
        Console().print(table)


def serve_access(host: str, token: str | None, allowed: list[str], *,
                 env: dict | None = None) -> tuple[str | None, bool, list[str]]:
    """Who may reach ``skyfm serve --host HOST``: ``(token, generated, allowed_hosts)``.

    Loopback hosts need no token (one given by --token or $SKYFM_SERVE_TOKEN is still
    used). Any other host requires one: ``token``, else $SKYFM_SERVE_TOKEN, else a fresh
    random one (``generated`` = True; the caller prints it once).
    """
    import os

    from skyfm.serve.security import TOKEN_ENV, allowed_hosts_for, check_token, is_loopback

    env = os.environ if env is None else env
    token = token or env.get(TOKEN_ENV) or None
    generated = False
    if token is None and not is_loopback(host):
        from skyfm.serve.security import new_token

        token, generated = new_token(), True
    if token is not None:
        try:
            check_token(token)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=f"--token / ${TOKEN_ENV}") from None
    return token, generated, allowed_hosts_for(host, allowed)


@app.command("serve")
def serve(
    out: Annotated[Path, typer.Argument(help="a `skyfm discover` OUT directory")],
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(
        help="interface to bind (127.0.0.1 = this machine only; 0.0.0.0 exposes it to the "
             "network and then requires an access token)")] = "127.0.0.1",
    index_dir: Annotated[Path | None, typer.Option(
        "--index", help="index directory (default OUT/index, else built from OUT/embeddings.npy)"
    )] = None,
    token: Annotated[str | None, typer.Option(
        help="access token (default: $SKYFM_SERVE_TOKEN; beyond loopback a random one is made "
             "and printed)", show_default=False)] = None,
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", help="another name the Host header may carry (repeatable; loopback "
                               "names and --host are always allowed; '*' = any)")] = None,
    papers_index: Annotated[Path | None, typer.Option(
        "--papers-index", help="a `skyfm papers index` directory: also serve POST "
                               "/v1/papers/search and POST /v1/ask")] = None,
) -> None:
    """Web page of the ranked candidates with plots, uncertainty, neighbours and feedback buttons.

    Beyond loopback (e.g. --host 0.0.0.0) every request needs an access token; the printed
    URL carries it once and the page then keeps it in a cookie.

    Example: skyfm serve out --port 8000
    """
    from skyfm.errors import require

    require("fastapi", "serve")
    uvicorn = require("uvicorn", "serve")
    from skyfm.serve import create_app

    token, generated, allowed = serve_access(host, token, allowed_host or [])
    application = create_app(out, index_dir=index_dir, token=token, allowed_hosts=allowed,
                             papers_index=papers_index)
    shown = host
    if host.strip("[]") in ("", "0.0.0.0", "::"):  # every interface: name this machine
        import socket

        shown = socket.gethostname()
    elif ":" in host:
        shown = f"[{host}]"
    if token is None:
        typer.echo(f"serving {out} on http://{shown}:{port}/  (Ctrl-C to stop)")
    else:
        url = f"http://{shown}:{port}/?token={token}" if generated else \
            f"http://{shown}:{port}/?token=<your token>"
        typer.echo(f"serving {out} on {url}  (Ctrl-C to stop)")
        typer.echo("every request needs the access token " + (
            "above (made for this run; set $SKYFM_SERVE_TOKEN or --token to choose one)"
            if generated else "you gave") + "; API clients send 'Authorization: Bearer <token>'")
    typer.echo("Host names accepted: " + ", ".join(allowed) + " (add one with --allowed-host)")
    uvicorn.run(application, host=host, port=port, log_level="warning")
