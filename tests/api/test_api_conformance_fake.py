"""Every operation of the OpenAPI document, called by schemathesis against a live server on the
fake engine with keys of each role: no answer is a 5xx, and every answer is one the document
describes (status, media type, body schema, headers).

Examples are bounded per operation (valid requests and invalid ones), so the whole run stays
near a minute on two cores; a failure names the operation and the request that broke it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from hearth.governance import tenancy
from hearth.store.db import Database
from live_server import FAKE_ENV, LiveServer, start_server

OPERATOR = "conformance test"
ROLES = ("owner", "admin", "member", "service")
EXAMPLES_PER_OPERATION = 40  # about 15 s in all on two busy cores
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance,
          schemathesis.checks.response_schema_conformance,
          schemathesis.checks.response_headers_conformance]


@dataclass
class Callers:
    server: LiveServer
    keys: dict[str, str]  # role (and "operator") -> secret


@pytest.fixture(scope="module")
def callers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callers]:
    home = tmp_path_factory.mktemp("home")
    url = f"sqlite:///{home / 'hearth.db'}"
    db = Database(url)
    db.migrate()
    # Unlimited plans: a rate limit reached early would leave later examples only 429s.
    tenancy.update_org(db, OPERATOR, "local", {"plan": "enterprise"})
    tenancy.create_org(db, OPERATOR, "acme", plan="enterprise")
    tenancy.create_user(db, OPERATOR, "local", "root", role="owner")
    keys = {"operator": tenancy.create_key(db, OPERATOR, "local", "root").secret}
    for role in ROLES:
        tenancy.create_user(db, OPERATOR, "acme", role, role=role)
        keys[role] = tenancy.create_key(db, OPERATOR, "acme", role).secret
    db.dispose()
    server = start_server(home, env={**FAKE_ENV, "HEARTH_DATABASE_URL": url})
    yield Callers(server, keys)
    server.stop()


def test_every_answer_is_one_the_document_describes(callers: Callers) -> None:
    schema = schemathesis.openapi.from_url(f"{callers.server.root}/openapi.json")
    # The key is the test's to choose (one of each role, or none), not generated.
    schema.config.generation.update(with_security_parameters=False)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  derandomize=True,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=cases, caller=st.sampled_from([*sorted(callers.keys), None]))
        def call(case: schemathesis.Case, caller: str | None) -> None:
            key = {"Authorization": f"Bearer {callers.keys[caller]}"} if caller else {}
            case.call_and_validate(base_url=callers.server.root, headers=key, checks=CHECKS,
                                   timeout=30)

        try:
            call()
        except (Exception, schemathesis.core.failures.FailureGroup) as exc:  # noqa: BLE001
            failures.append(f"{operation.label}: {exc}")  # every operation is tried
    assert not failures, "\n\n".join(failures)
