"""Schemathesis over the API's own OpenAPI document: generated requests (bounded examples per
operation, each on the served stack with its real database and bus) never get a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from dispatch import tokens
from tests.support.api import dispatch_one


def test_no_generated_request_gets_a_server_error(api_stack):
    import requests

    dispatch_one(api_stack)
    secret = tokens.issue(api_stack.store, "operator", "fuzz")
    document = requests.get(api_stack.url + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # every route of the document, not a subset

    for operation in operations:
        _explore(operation, api_stack.url, secret, failures)
    assert not failures, "\n".join(failures[:10])


def _explore(operation, base_url: str, secret: str, failures: list[str]) -> None:
    """Five generated requests to one operation, with an operator's token."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=5,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )  # fmt: skip (the same requests on every run)
    def explore(case):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
        answer = case.call(base_url=base_url, timeout=30)
        if answer.status_code >= 500:
            failures.append(f"{operation.label}: {answer.status_code} {answer.text[:200]}")

    explore()
