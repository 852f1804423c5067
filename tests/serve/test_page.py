"""The served page comes from the shared Jinja2 layout: escaped, offline, one look."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from serve_helpers import make_out_dir

from skyfm.serve import create_app
from skyfm.serve.page import render_page


def test_a_hostile_output_folder_name_is_escaped(tmp_path):
    out = make_out_dir(tmp_path / "<script>alert(1)<")
    html = TestClient(create_app(out), base_url="http://127.0.0.1").get("/").text
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;" in html


def test_page_uses_the_shared_layout_and_fetches_nothing_outside():
    html = render_page("run")
    assert html.startswith("<!DOCTYPE html>") and "<title>skyfm · unusual objects · run" in html
    assert ".tag.artefact" in html  # the base layout's flag style, as in the report
    for tag in re.findall(r"<(?:script|img|link|iframe)\b[^>]*>", html):
        assert "src=" not in tag and "href=" not in tag, tag
    # archive links are built for ZTF ids only, and only as links
    assert "https://alerce.online/object/" in html and "fetch(\"http" not in html
