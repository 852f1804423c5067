"""The single page of ``skyfm serve``: plain HTML, CSS and vanilla JS (no build step).

Kept as a Python string so it ships inside the package without package-data rules.
"""

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>skyfm · unusual objects · {{OUT}}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 20px;
           align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header a { color: #9cc3ff; }
  main { padding: 12px 20px; display: grid; grid-template-columns: 1fr 320px; gap: 16px; }
  #list { list-style: none; margin: 0; padding: 0; }
  .cand { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; margin-bottom: 10px;
          padding: 10px; display: grid; grid-template-columns: 70px 480px 1fr; gap: 12px; }
  .cand.interesting { border-left: 5px solid #2e9d4f; }
  .cand.boring { opacity: 0.55; border-left: 5px solid #999; }
  .rank { font-size: 24px; font-weight: 700; }
  .moved { font-size: 11px; color: #666; }
  .cand img { width: 480px; height: auto; max-height: 260px; object-fit: contain; }
  .noplot { width: 480px; height: 120px; display: flex; align-items: center;
            justify-content: center; color: #999; background: #fafafa; }
  .oid { font-family: ui-monospace, monospace; font-weight: 600; }
  .meta span { margin-right: 12px; }
  .reason { margin: 6px 0; }
  .nbrs a { font-family: ui-monospace, monospace; margin-right: 6px; }
  button { cursor: pointer; border-radius: 4px; border: 1px solid #aab; padding: 4px 10px;
           background: #fff; margin-right: 6px; }
  button.fb-interesting { border-color: #2e9d4f; color: #2e9d4f; }
  button.fb-boring { border-color: #b33; color: #b33; }
  button:disabled { opacity: 0.5; cursor: wait; }
  .tag { font-size: 12px; padding: 1px 6px; border-radius: 8px; background: #eee; }
  aside { position: sticky; top: 10px; align-self: start; background: #fff;
          border: 1px solid #dde1e8; border-radius: 6px; padding: 10px; }
  aside ol { padding-left: 20px; }
  #status { font-size: 12px; color: #cfd6e4; }
</style>
</head>
<body>
<header>
  <h1>skyfm · most unusual objects</h1>
  <span id="status">loading…</span>
  <a href="/report/" id="report-link">discovery report</a>
  <a href="/docs">API</a>
</header>
<main>
  <section>
    <ol id="list" aria-label="ranked candidates"></ol>
    <button id="more">show more</button>
  </section>
  <aside>
    <h3>Similar objects</h3>
    <div id="similar">Click “similar” on a candidate to list its nearest neighbours in
      embedding space.</div>
  </aside>
</main>
<script>
"use strict";
let shown = 50;

function fmt(x, d) { return (x === null || x === undefined) ? "–" : Number(x).toFixed(d); }

function el(tag, attrs, children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children || []) e.appendChild(c);
  return e;
}

function card(c) {
  const li = el("li", {class: "cand " + (c.feedback || ""), "data-object-id": c.object_id,
                       "data-rank": c.rank, "data-feedback": c.feedback || ""});
  const moved = c.rank === c.prior_rank ? "" :
    (c.rank < c.prior_rank ? "▲ " : "▼ ") + "was #" + c.prior_rank;
  li.appendChild(el("div", {}, [el("div", {class: "rank", text: "#" + c.rank}),
                                el("div", {class: "moved", text: moved})]));
  li.appendChild(c.plot_url
    ? el("a", {href: c.plot_url, target: "_blank", title: "open the plot full size"},
         [el("img", {src: c.plot_url, alt: "plot of " + c.object_id, loading: "lazy"})])
    : el("div", {class: "noplot", text: "no plot"}));
  const body = el("div", {});
  const title = el("div", {}, [el("span", {class: "oid", text: c.object_id})]);
  if (c.feedback) title.appendChild(el("span", {class: "tag", text: " " + c.feedback}));
  body.appendChild(title);
  body.appendChild(el("div", {class: "meta"}, [
    el("span", {text: "score " + fmt(c.score, 3)}),
    el("span", {text: "epistemic " + fmt(c.epistemic, 3)}),
    el("span", {text: "aleatoric " + fmt(c.aleatoric, 3)})]));
  body.appendChild(el("div", {class: "reason", text: c.reason || ""}));
  if (c.neighbours.length) {
    const nb = el("div", {class: "nbrs"}, [el("span", {text: "neighbours: "})]);
    for (const n of c.neighbours.slice(0, 8)) {
      const a = el("a", {href: "#", text: n});
      a.onclick = (ev) => { ev.preventDefault(); similar(n); };
      nb.appendChild(a);
    }
    body.appendChild(nb);
  }
  const yes = el("button", {class: "fb-interesting", text: "interesting"});
  const no = el("button", {class: "fb-boring", text: "not interesting"});
  const sim = el("button", {class: "similar", text: "similar"});
  yes.onclick = () => send(c.object_id, "interesting", [yes, no]);
  no.onclick = () => send(c.object_id, "boring", [yes, no]);
  sim.onclick = () => similar(c.object_id);
  body.appendChild(el("div", {}, [yes, no, sim]));
  li.appendChild(body);
  return li;
}

async function load() {
  const r = await fetch("/api/candidates?limit=" + Math.min(shown, 10000));  // API's most
  if (!r.ok) {
    document.getElementById("status").textContent = r.status === 401
      ? "access token missing or wrong: open the URL `skyfm serve` printed"
      : "error " + r.status;
    return;
  }
  const data = await r.json();
  const list = document.getElementById("list");
  list.replaceChildren(...data.items.map(card));
  document.getElementById("status").textContent =
    data.total + " candidates · " + data.n_feedback + " labelled";
  document.getElementById("more").hidden = shown >= data.total;
  document.body.dataset.loaded = String(Date.now());
}

async function send(id, label, buttons) {
  buttons.forEach(b => b.disabled = true);
  const r = await fetch("/api/feedback", {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({object_id: id, label: label})});
  if (!r.ok) { alert("feedback failed: " + r.status); buttons.forEach(b => b.disabled = false); }
  await load();
}

async function similar(id) {
  const box = document.getElementById("similar");
  box.textContent = "searching…";
  const r = await fetch("/api/similar/" + encodeURIComponent(id) + "?k=10");
  if (!r.ok) { box.textContent = "similarity search unavailable (" + r.status + ")"; return; }
  const data = await r.json();
  const ol = el("ol", {id: "similar-list"});
  for (const n of data.neighbours)
    ol.appendChild(el("li", {class: "oid",
                             text: n.object_id + "  (" + fmt(n.similarity, 3) + ")"}));
  box.replaceChildren(el("div", {text: "nearest to " + id + " (" + data.metric + ")"}), ol);
}

document.getElementById("more").onclick = () => { shown += 50; load(); };
load();
</script>
</body>
</html>
"""
