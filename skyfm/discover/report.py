"""A self-contained HTML report of a discovery run (images inlined as base64 PNG).

Rendered from the Jinja2 templates in :mod:`skyfm.templates` (``report.html.j2`` on
``base.html.j2``). Each top candidate gets a card: rank, id, score ± epistemic, quality and
artefact flags, the reason in words, its position (RA/Dec, sexagesimal and degrees) when the
observation's meta has ``ra``/``dec``, the label when known, links out to the archives that
know it (SIMBAD by position; ALeRCE, Fink and TNS for ZTF ids: links only, nothing is fetched),
and its plot, with the alert cutouts (science, template, difference) beside it when the light
curve came from an alert file (read once per card from ``meta['alert_file']``, see
:func:`alert_cutouts`). Given a paper index (``papers_index``), each card also lists the three
papers :mod:`skyfm.knowledge.related` finds for objects like it (id, title, link, snippet;
searched locally, nothing is fetched); without one the cards are unchanged.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd

__all__ = ["alert_cutouts", "archive_links", "candidate_cards", "embedding_map", "position",
           "report_from_run", "score_histogram", "write_report"]

#: a ZTF object id (``ZTF`` + two-digit year + seven lower-case letters)
ZTF_ID = re.compile(r"ZTF\d\d[a-z]{7}")
#: alert files larger than this are not opened at report time for cutouts
MAX_ALERT_FILE_BYTES = 20 * 2**20


def _png(fig, dpi: int = 80) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _file_b64(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def embedding_map(X: np.ndarray, score: np.ndarray, top_idx: Sequence[int], ids: Sequence[str],
                  labels: Sequence | None = None, method: str = "pca", seed: int = 0,
                  max_points: int = 20000) -> str:
    """Base64 PNG of a 2-D map of the embedding (PCA, or t-SNE), coloured by score."""
    import matplotlib.pyplot as plt

    n = len(X)
    rng = np.random.default_rng(seed)
    show = np.arange(n) if n <= max_points else np.union1d(rng.choice(n, max_points, False),
                                                           np.asarray(top_idx, int))
    Xs = np.asarray(X, float)[show]
    if method == "tsne" and len(show) > 5:
        from sklearn.manifold import TSNE

        Y = TSNE(2, init="pca", random_state=seed,
                 perplexity=min(30, max(2, len(show) // 4))).fit_transform(Xs)
        ax_names = ("t-SNE 1", "t-SNE 2")
    else:
        from sklearn.decomposition import PCA

        k = min(2, Xs.shape[1], len(Xs))
        Y = PCA(k, random_state=seed).fit_transform(Xs) if len(Xs) > 1 else np.zeros((1, 2))
        if Y.shape[1] == 1:
            Y = np.column_stack([Y, np.zeros(len(Y))])
        ax_names = ("PC 1", "PC 2")
    fig, axes = plt.subplots(1, 2 if labels is not None else 1, figsize=(11 if labels is not None
                                                                         else 6, 4.5),
                             squeeze=False)
    ax = axes[0, 0]
    sc = ax.scatter(Y[:, 0], Y[:, 1], c=score[show], s=4, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="unusualness score")
    pos = {j: i for i, j in enumerate(show)}
    for r, j in enumerate(top_idx[:10]):
        if j in pos:
            p = Y[pos[j]]
            ax.scatter(*p, s=60, facecolor="none", edgecolor="red")
            ax.annotate(str(r + 1), p, fontsize=8, color="red", xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xlabel(ax_names[0])
    ax.set_ylabel(ax_names[1])
    ax.set_title("embedding map (red: top candidates by rank)")
    if labels is not None:
        ax = axes[0, 1]
        from skyfm.discover.scorers import is_missing

        lab = np.array(["unlabelled" if is_missing(v) else str(v) for v in labels],
                       dtype=object)[show]
        cmap = plt.get_cmap("tab20")
        known = sorted(set(lab) - {"unlabelled"})
        for j, name in enumerate(known + (["unlabelled"] if "unlabelled" in set(lab) else [])):
            m = lab == name
            colour = "#bbbbbb" if name == "unlabelled" else cmap(j % 20)  # 20 distinct colours
            ax.scatter(Y[m, 0], Y[m, 1], s=4, label=name, alpha=0.7, color=colour)
        ax.legend(fontsize=7, markerscale=3)
        ax.set_xlabel(ax_names[0])
        ax.set_title("coloured by label")
    fig.tight_layout()
    return _png(fig)


def score_histogram(score: np.ndarray, top_n: int) -> str:
    """Base64 PNG of the combined-score distribution with the top-candidate cut marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(score, bins=50, color="#4477aa")
    if top_n and len(score):
        cut = np.sort(score)[::-1][min(top_n, len(score)) - 1]
        ax.axvline(cut, color="red", ls="--", label=f"top {top_n}")
        ax.legend()
    ax.set_yscale("log")
    ax.set_xlabel("combined unusualness score (mean percentile over scorers)")
    ax.set_ylabel("objects")
    fig.tight_layout()
    return _png(fig)




def position(meta: Mapping | None) -> dict | None:
    """RA/Dec of an observation from its ``meta`` (``ra``, ``dec`` in degrees, ICRS), or None.

    Returns ``{"ra": deg, "dec": deg, "deg": "ra, dec", "sexagesimal": "hh:mm:ss.ss
    ±dd:mm:ss.s"}``; None when either is missing, not a number or out of range.
    """
    if not meta:
        return None
    try:
        ra, dec = float(meta.get("ra")), float(meta.get("dec"))
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(ra) and np.isfinite(dec) and 0 <= ra < 360 and -90 <= dec <= 90):
        return None
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    c = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
    sexa = (f"{c.ra.to_string(unit=u.hourangle, sep=':', precision=2, pad=True)} "
            f"{c.dec.to_string(unit=u.deg, sep=':', precision=1, alwayssign=True, pad=True)}")
    return {"ra": ra, "dec": dec, "deg": f"{ra:.5f}, {dec:+.5f}", "sexagesimal": sexa}


def archive_links(object_id: str, pos: dict | None) -> list[tuple[str, str]]:
    """(name, URL) of the archives that may know the object: links only, nothing is fetched.

    SIMBAD by position (5 arcsec) when the position is known; for ZTF object ids ALeRCE, Fink
    and TNS (by position when known, else by the ZTF name).
    """
    links = []
    if pos is not None:
        coord = f"{pos['ra']:.6f} {pos['dec']:+.6f}"
        links.append(("SIMBAD", "https://simbad.cds.unistra.fr/simbad/sim-coo?" + urlencode(
            {"Coord": coord, "Radius": 5, "Radius.unit": "arcsec"})))
    oid = str(object_id)
    if ZTF_ID.fullmatch(oid):
        links.append(("ALeRCE", f"https://alerce.online/object/{quote(oid)}"))
        links.append(("Fink", f"https://fink-portal.org/{quote(oid)}"))
        query = ({"ra": f"{pos['ra']:.6f}", "decl": f"{pos['dec']:.6f}", "radius": 5,
                  "coords_unit": "arcsec"} if pos is not None else {"internal_name": oid})
        links.append(("TNS", "https://www.wis-tns.org/search?" + urlencode(query)))
    return links


def alert_cutouts(ob) -> tuple[str | None, str | None]:
    """(base64 PNG of the science/template/difference cutouts, artefact note) of an alert
    light curve, read from its ``meta['alert_file']``; (None, None) when it has none.

    Only a file that exists and is at most :data:`MAX_ALERT_FILE_BYTES` is opened; a file the
    alert reader rejects gives no cutouts (the card says so)."""
    f = (getattr(ob, "meta", None) or {}).get("alert_file")
    if not f or not Path(f).is_file() or Path(f).stat().st_size > MAX_ALERT_FILE_BYTES:
        return None, None
    from skyfm.discover.artefact import image_artefact

    st = Path(f).stat()
    img = _alert_images(str(Path(f).resolve()), st.st_mtime_ns, st.st_size).get(ob.object_id)
    if img is None:
        return None, None
    import matplotlib.pyplot as plt

    names = ["science", "template", "difference"]
    fig, axes = plt.subplots(1, len(img.data), figsize=(2.0 * len(img.data), 2.2), squeeze=False)
    for ax, plane, name in zip(axes[0], img.data, names + list(img.bands)[3:]):
        finite = plane[np.isfinite(plane)]
        lo, hi = np.percentile(finite, [1, 99.5]) if finite.size else (0, 1)
        ax.imshow(plane, origin="lower", cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1)
        ax.set_title(name, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return _png(fig), image_artefact(img.data, names)


@lru_cache(maxsize=8)
def _alert_images(path: str, mtime_ns: int, size: int) -> dict:
    """object id -> cutout :class:`Image` of one alert file (cached: many cards, one file)."""
    from skyfm.data.io.alerts import read_alerts
    from skyfm.errors import SkyfmError

    try:
        return {im.object_id: im for im in read_alerts(path, modality="image")}
    except SkyfmError:  # no cutouts in it, or unreadable: the card has none
        return {}


def _num(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def related_papers(papers_index: str | Path, candidates: pd.DataFrame, top: int = 20,
                   k: int = 3) -> dict[str, dict]:
    """Object id -> {query, papers, note} for the top ``top`` candidates, from the paper index
    in ``papers_index`` (see :func:`skyfm.knowledge.related.papers_for_candidates`)."""
    from skyfm.knowledge.related import papers_for_candidates
    from skyfm.knowledge.tools import open_index

    ids = [str(i) for i in candidates.sort_values("rank")["object_id"].head(top)]
    return papers_for_candidates(open_index(papers_index), candidates, ids, k)


def candidate_cards(candidates: pd.DataFrame, plots: Mapping[str, Path],
                    observations: Mapping[str, object] | None = None,
                    top: int = 20, papers: Mapping[str, dict] | None = None) -> list[dict]:
    """The template context of the top ``top`` candidates' cards (see module docstring);
    ``papers``: the :func:`related_papers` of the run (None: no paper index, no papers block).
    """
    observations = observations or {}
    cards = []
    for _, r in candidates.sort_values("rank").head(top).iterrows():
        oid = str(r["object_id"])
        ob = observations.get(oid)
        meta = getattr(ob, "meta", None)
        pos = position(meta)
        p = plots.get(oid)
        cut, cut_note = alert_cutouts(ob) if ob is not None else (None, None)
        label = r.get("label") if "label" in r else None
        artefact = str(r["artefact"]) if "artefact" in r and pd.notna(r["artefact"]) else "none"
        if cut_note:
            artefact = cut_note if artefact == "none" else f"{artefact};{cut_note}"
        cards.append({
            "rank": int(r["rank"]), "object_id": oid, "score": _num(r["score"]),
            "epistemic": _num(r.get("epistemic")), "aleatoric": _num(r.get("aleatoric")),
            "quality": str(r.get("quality", "ok")), "artefact": artefact,
            "artefacts": [] if artefact == "none" else artefact.split(";"),
            "reason": str(r["reason"]), "label": None if label is None or pd.isna(label)
            else str(label),
            "neighbours": [n for n in str(r.get("neighbours", "")).split(";") if n],
            "position": pos, "links": archive_links(oid, pos),
            "plot": _file_b64(p) if p is not None and Path(p).exists() else None,
            "cutouts": cut, "survey": getattr(getattr(ob, "provenance", None), "survey", None),
            "related": None if papers is None else papers.get(oid),
        })
    return cards


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""  # missing (e.g. no label), not "nan"
    if isinstance(v, (float, np.floating)):
        return f"{v:.3f}"
    return str(v).replace(";", "; ")  # lets neighbour lists wrap


def _table(candidates: pd.DataFrame, n: int = 100) -> tuple[list[str], list[list[str]]]:
    cols = [c for c in candidates.columns if c != "reason"] + ["reason"]
    rows = []
    for _, r in candidates.sort_values("rank").head(n).iterrows():
        rows.append([_cell(r[c]) for c in cols])
    return cols, rows


def write_report(path: str | Path, candidates: pd.DataFrame, *, plots: dict[str, Path],
                 map_png: str | None, hist_png: str | None, info: dict, top: int = 20,
                 observations: Mapping[str, object] | None = None,
                 template: str = "report.html.j2", papers_index: str | Path | None = None,
                 **extra) -> Path:
    """Write ``index.html``: summary, score distribution, embedding map, candidate cards, the
    top-100 table.

    ``observations``: object id -> observation, for the cards' positions and cutouts;
    ``papers_index``: a ``skyfm papers`` index directory: each card lists related papers;
    ``template`` and ``extra``: another view on the same layout (the demo adds its sections).
    """
    from skyfm.outputs import write_text
    from skyfm.templates import render

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols, rows = _table(candidates)
    dropped = "; ".join(f"{k}: {v}" for k, v in (info.get("dropped") or {}).items())
    context = {"title": "skyfm discovery report", **extra}  # extra may retitle the view
    papers = None if papers_index is None else related_papers(papers_index, candidates, top)
    doc = render(template, info=info, dropped=dropped, hist_png=hist_png, map_png=map_png,
                 cards=candidate_cards(candidates, plots, observations, top, papers),
                 table_columns=cols, table_rows=rows, **context)
    write_text(path, doc)  # atomic: a reader never sees half a report
    return path


def report_from_run(run_dir: str | Path, candidates: pd.DataFrame, observations: Sequence, *,
                    top: int = 20, map_method: str = "pca", seed: int = 0,
                    template: str = "report.html.j2", papers_index: str | Path | None = None,
                    **extra) -> Path:
    """(Re)write ``run_dir/report/index.html`` from a finished run's files (``embeddings.npy``,
    ``object_ids.txt``, ``summary.json``, ``plots/``) and its ``candidates``; ``template``,
    ``papers_index`` and ``extra`` as in :func:`write_report` (the demo adds sections before and
    after the ranking).
    """
    import json

    from skyfm.discover.explain import safe_filename
    from skyfm.errors import DataFormatError

    run = Path(run_dir)
    X = np.load(run / "embeddings.npy")
    ids = (run / "object_ids.txt").read_text(encoding="utf-8").splitlines()
    by_id = candidates.set_index(candidates["object_id"].astype(str))
    missing = [i for i in ids if i not in by_id.index]
    if missing or len(ids) != len(X):
        raise DataFormatError("object ids of the run do not match its candidates/embeddings",
                              file=run / "object_ids.txt", field="object_id",
                              expected=f"{len(X)} ids, each a row of the candidates "
                                       f"(missing: {missing[:3]})")
    score = by_id.loc[ids, "score"].to_numpy(float)
    order = np.argsort(-score, kind="stable")
    labels = by_id.loc[ids, "label"].to_numpy(object) if "label" in by_id else None
    info = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    plots = {i: run / "plots" / f"{safe_filename(i)}.png" for i in ids}
    top_ids = set(by_id.sort_values("rank").index[:top])
    obs = {str(o.object_id): o for o in observations if str(o.object_id) in top_ids}
    return write_report(run / "report" / "index.html", candidates, plots=plots,
                        map_png=embedding_map(X, score, list(order[:top]), ids, labels,
                                              method=map_method, seed=seed),
                        hist_png=score_histogram(score, top), info=info, top=top,
                        observations=obs, template=template, papers_index=papers_index,
                        **extra)
