"""The units that sync and their sync credential: registering a unit, issuing its credential (the
bearer token it pushes with and the key its USB packages are signed with, both made from one
secret shown once to the admin), and revoking it. Called by ``city-hub ward`` and by the wards
screen (:mod:`city_hub.admin`); each change is written with its ``HubAudit`` entry."""

from __future__ import annotations

import secrets

from kernel.columns import utcnow
from kernel.database import write_transaction
from wardapp.sync.protocol import package_key

from .extensions import db
from .models import Ward, hub_audit
from .sync import token_digest


class WardError(ValueError):
    """A unit or credential change refused, with the reason in Vietnamese."""


def unit_names() -> dict[str, str]:
    """The units a hub may register, by code: those of its newest reference-data snapshot (where
    an admin may have corrected a provisional code), or of the shipped catalogue before any."""
    from .refdata import snapshot_units

    return {u["code"]: u["name"] for u in snapshot_units()}


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


def find_ward(code: str) -> Ward:
    record = db.session.get(Ward, code)
    if record is None:
        raise WardError(f"Chưa đăng ký đơn vị {code}.")
    return record


def register_ward(code: str) -> tuple[Ward, str]:
    """Register a unit of the catalogue and issue its first credential (returned, shown once)."""
    names = unit_names()
    if code not in names:
        raise WardError(f"Không có đơn vị mã {code} trong danh mục.")
    with write_transaction(db.session):
        if db.session.get(Ward, code) is not None:
            raise WardError(f"Đã đăng ký {code}; hãy cấp khóa mới cho đơn vị này.")
        record = Ward(code=code, name=names[code])
        token = issue_credential(record)
        db.session.add(record)
        hub_audit("ward.add", code)
    return record, token


def rotate_credential(code: str) -> tuple[Ward, str]:
    """A new credential for a registered unit (returned, shown once); the old one stops working."""
    with write_transaction(db.session):
        record = find_ward(code)
        token = issue_credential(record)
        hub_audit("ward.rotate", code)
    return record, token


def revoke_credential(code: str) -> Ward:
    """Refuse the unit's sync and packages from now on, until a new credential is issued."""
    with write_transaction(db.session):
        record = find_ward(code)
        record.active = False
        hub_audit("ward.revoke", code)
    return record
