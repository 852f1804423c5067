"""schemathesis over the whole OpenAPI schema of `skyfm serve` (ASGI transport, no network).

Every operation gets ``SKYFM_FUZZ_EXAMPLES`` (default 20) schema-valid and as many invalid
examples; every response must pass schemathesis's checks: no 5xx, only documented status
codes, bodies and content types as the schema says, the token enforced. A longer pass:
``SKYFM_FUZZ_EXAMPLES=500 pytest -q tests/serve/test_schema_fuzz.py -s``.
"""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from skyfm.serve import create_app

TOKEN = "s3cret-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
N = int(os.environ.get("SKYFM_FUZZ_EXAMPLES", "20"))


def _schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)


def _fuzz(schema, mode: GenerationMode, n: int, headers=AUTH) -> dict[str, int]:
    """Run ``n`` examples of ``mode`` per operation; returns examples tried per operation."""
    tried: dict[str, int] = {}
    for result in schema.get_all_operations():
        op = result.ok()
        tried[op.label] = 0
        try:
            _runner(op, mode, n, tried, headers)()
        except Unsatisfiable:  # nothing of this operation can be made invalid (no inputs)
            assert mode == GenerationMode.NEGATIVE and not list(op.iter_parameters()) and not \
                op.body, op.label
    return tried


def _runner(op, mode, n, tried, headers):
    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=n, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        tried[op.label] += 1
        case.call_and_validate(headers=headers)

    return check


@pytest.fixture
def app(out_dir):
    # a token and a Host list as `skyfm serve --host 0.0.0.0` sets them up
    return create_app(out_dir, token=TOKEN, allowed_hosts=["localhost", "testserver"])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_failure(out_dir, mode):
    """Valid data with the token (schemathesis also checks that leaving it out gives 401);
    invalid data on a loopback app without a token, so that it reaches validation."""
    token = TOKEN if mode == GenerationMode.POSITIVE else None
    app = create_app(out_dir, token=token, allowed_hosts=["localhost", "testserver"])
    tried = _fuzz(_schema(app), mode, N, AUTH if token else {})
    print(f"\nschemathesis {mode.value}: {len(tried)} operations, {sum(tried.values())} "
          f"examples, 0 failures: {tried}")
    assert set(tried) == {"GET /api/candidates", "GET /api/feedback", "POST /api/feedback",
                          "GET /api/similar/{object_id}"}
    assert all(n > 0 for op, n in tried.items() if op != "GET /api/feedback")


def test_schemathesis_catches_an_undocumented_status(app):
    """The harness itself: a 404 the schema does not declare must fail the run."""
    schema = app.openapi()
    del schema["paths"]["/api/similar/{object_id}"]["get"]["responses"]["404"]
    try:
        _fuzz(_schema(app), GenerationMode.POSITIVE, 5)
    except FailureGroup as group:  # schemathesis reports failures as a group
        assert [type(e).__name__ for e in group.exceptions] == ["UndefinedStatusCode"]
    else:
        pytest.fail("schemathesis did not flag the undocumented 404")


def test_schemathesis_catches_a_token_that_is_not_enforced(app):
    """The harness itself: an app that declares the token but lets requests without it
    through must fail the run (schemathesis's ignored-auth check)."""
    for m in app.user_middleware:  # the Guard, before the app is first called
        m.kwargs["token"] = None
    try:
        _fuzz(_schema(app), GenerationMode.POSITIVE, 5)
    except FailureGroup as group:
        assert "IgnoredAuth" in [type(e).__name__ for e in group.exceptions]
    else:
        pytest.fail("schemathesis did not flag the unenforced token")
