"""End to end: `skyfm serve` in a thread, headless Chromium clicks the feedback buttons."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from serve_helpers import GEM

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("SKYFM_REQUIRE_BROWSER"),
                       reason="needs Chromium at /usr/bin/chromium "
                              "(apt-get install -y chromium; CI installs it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(out_dir, **kwargs):
    import uvicorn

    from skyfm.serve import create_app

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(out_dir, **kwargs), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started:
        if time.time() > deadline or not thread.is_alive():
            pytest.fail("the skyfm server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def _browse(url, path="/"):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            pg = browser.new_page()
            pg.goto(url + path)
            yield pg
        finally:
            browser.close()


@pytest.fixture
def page(out_dir):
    for url in _serve(out_dir):
        yield from _browse(url)


@pytest.fixture
def discover_out(tmp_path):
    """A real `skyfm discover` run on a small simulated survey."""
    try:
        from skyfm.discover import discover
        from skyfm.sim import simulate_lightcurves
    except ImportError as exc:  # pragma: no cover - the modules ship together
        pytest.skip(f"discovery or simulation not importable: {exc}")
    obs = simulate_lightcurves({"rrab": 30, "eb_contact": 30, "constant": 30,
                                "microlensing": 3}, seed=0)
    discover(obs, tmp_path / "out", n_members=2, n_noise=1, top=8, use_labels=False)
    return tmp_path / "out"


def ids_in_page(page) -> list[str]:
    return page.eval_on_selector_all("#list li.cand", "els => els.map(e => e.dataset.objectId)")


def wait_for_reload(page, before: str) -> None:
    page.wait_for_function("b => document.body.dataset.loaded !== b", arg=before, timeout=20_000)


def test_page_feedback_reranks(page):
    page.wait_for_selector("#list li.cand")
    first = ids_in_page(page)
    assert first[:8] == [f"odd{i}" for i in range(8)]  # discovery's order
    assert "196 candidates · 0 labelled" in page.inner_text("#status")
    card = page.locator('li.cand[data-object-id="odd0"]')
    assert card.locator("img").get_attribute("src") == "/plots/odd0.png"
    assert "reason for odd0" in card.inner_text()
    assert "epistemic" in card.inner_text() and "aleatoric" in card.inner_text()

    # "not interesting" on the top candidate: it and its look-alikes leave the top
    stamp = page.evaluate("document.body.dataset.loaded")
    card.locator("button.fb-boring").click()
    wait_for_reload(page, stamp)
    after = ids_in_page(page)
    assert after != first and after[0] != "odd0"
    assert sum(i.startswith("odd") for i in after[:8]) <= 2
    assert "1 labelled" in page.inner_text("#status")

    # "interesting" on one gem (discovery's rank 24): all gems come to the top
    gem = page.locator(f'li.cand[data-object-id="{GEM[3]}"]')
    stamp = page.evaluate("document.body.dataset.loaded")
    gem.locator("button.fb-interesting").click()
    wait_for_reload(page, stamp)
    top = ids_in_page(page)[:8]
    assert sorted(top) == sorted(GEM)
    assert page.locator(f'li.cand[data-object-id="{GEM[3]}"]').get_attribute(
        "data-feedback") == "interesting"

    # "similar" lists the nearest neighbours, the object itself first
    page.locator(f'li.cand[data-object-id="{GEM[0]}"] button.similar').click()
    page.wait_for_selector("#similar-list li")
    sim = page.eval_on_selector_all("#similar-list li", "els => els.map(e => e.textContent)")
    assert sim[0].startswith(GEM[0]) and all(s.startswith("gem") for s in sim[:8])


def test_page_over_a_real_discover_run(discover_out):
    import pandas as pd

    cands = pd.read_csv(discover_out / "candidates.csv")
    for url in _serve(discover_out):
        for page in _browse(url):
            page.wait_for_selector("#list li.cand")
            first = ids_in_page(page)
            assert first[:10] == cands["object_id"].head(10).tolist()
            # the plot of the top candidate, as discover wrote it, is shown
            img = page.locator("#list li.cand").first.locator("img")
            img.wait_for()
            page.wait_for_function(
                "() => { const i = document.querySelector('#list li.cand img');"
                " return i && i.complete && i.naturalWidth > 0; }")
            assert page.locator("#report-link").get_attribute("href") == "/report/"
            assert page.request.get(url + "/report/").ok
            stamp = page.evaluate("document.body.dataset.loaded")
            page.locator("#list li.cand").first.locator("button.fb-boring").click()
            wait_for_reload(page, stamp)
            after = ids_in_page(page)
            assert after[0] != first[0] and first[0] not in after  # dismissed: last of 93
            assert (discover_out / "feedback.csv").read_text().count(first[0]) == 1


def test_page_works_with_the_printed_token_url(out_dir):
    """As after `skyfm serve --host 0.0.0.0`: the printed URL opens the page, whose fetches,
    plots and feedback buttons then work; without the token nothing is served."""
    token = "browser-test-token-0123456789abcdef"
    for url in _serve(out_dir, token=token):
        for page in _browse(url):  # no token: 401
            assert "missing or wrong access token" in page.content()
            assert page.request.get(url + "/api/candidates").status == 401
        for page in _browse(url, f"/?token={token}"):
            assert page.url == url + "/"  # the token left the address bar
            page.wait_for_selector("#list li.cand")
            assert ids_in_page(page)[:3] == ["odd0", "odd1", "odd2"]
            img = page.locator('li.cand[data-object-id="odd0"] img')
            page.wait_for_function(
                "() => { const i = document.querySelector('#list li.cand img');"
                " return i && i.complete && i.naturalWidth > 0; }")
            assert img.get_attribute("src") == "/plots/odd0.png"
            stamp = page.evaluate("document.body.dataset.loaded")
            page.locator('li.cand[data-object-id="odd0"] button.fb-boring').click()
            wait_for_reload(page, stamp)
            assert ids_in_page(page)[0] != "odd0" and "1 labelled" in page.inner_text("#status")
            page.locator('li.cand[data-object-id="gem0"] button.similar').click()
            page.wait_for_selector("#similar-list li")
    assert (out_dir / "feedback.csv").read_text().count("odd0,boring") == 1
