"""The audit trail's screen, where the leader and the admin read who changed what."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, render_template

from .audit import ACTIONS
from .auth import roles_required
from .extensions import db
from .sync.records import AuditEntry, DossierEvent

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@roles_required("leader", "admin")
def trail():
    """The newest changes: accounts, tokens and settings, then the dossier steps and who took
    them (those are the dossiers' own events)."""
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.at.desc()).limit(200))
    events = db.session.scalars(
        sa.select(DossierEvent)
        .order_by(DossierEvent.at.desc())
        .options(so.joinedload(DossierEvent.actor), so.joinedload(DossierEvent.dossier))
        .limit(200)
    )
    return render_template(
        "audit.html", entries=list(entries), events=list(events), actions=ACTIONS
    )
