"""Fuzzing the JSON APIs against their own OpenAPI documents (schemathesis): the ward's API and
the hub's sync API answer whatever they are sent without a server error, with a documented
status, and refuse data their schema forbids."""

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    status_code_conformance,
)

from wardapp.api import issue_token
from wardapp.dossiers.service import receive_dossier
from wardapp.extensions import db

from .conftest import account, intake_data, make_hub, make_ward

WARD = make_ward(Path(tempfile.mkdtemp(prefix="wardapp-fuzz-")), WTF_CSRF_ENABLED=True)
with WARD.app_context():
    TOKEN = issue_token(account("lanhdao"), "fuzz")
    receive_dossier(intake_data(), actor=account("letan"))
    db.session.commit()

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WARD)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_never_fails_with_a_server_error(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            negative_data_rejection,
        ],
    )


HUB, HUB_TOKENS = make_hub(Path(tempfile.mkdtemp(prefix="hub-fuzz-")))
hub_schema = schemathesis.openapi.from_wsgi("/api/sync/v1/openapi.json", HUB)


@hub_schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_sync_api_never_fails_with_a_server_error(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {HUB_TOKENS['30280']}"},
        checks=[not_a_server_error, status_code_conformance],
    )
