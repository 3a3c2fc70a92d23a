"""A ward's sync credential: the bearer token it pushes with and the key its USB packages are
signed with, both made from one secret shown once to the admin."""

from __future__ import annotations

import secrets

from kernel.columns import utcnow
from wardapp.sync.protocol import package_key

from .models import Ward
from .sync import token_digest


def issue_credential(record: Ward) -> str:
    """Give ``record`` a new credential (in the caller's transaction) and return its token, which
    the hub keeps only as a digest: the admin hands it to the ward once. The old token and
    package key stop working at once."""
    token = "ws_" + secrets.token_urlsafe(32)
    record.token_sha256 = token_digest(token)
    record.package_key = package_key(token)
    record.credential_issued_utc = utcnow()
    record.active = True
    return token
