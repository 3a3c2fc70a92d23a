"""Two desks receiving at the same moment: codes stay unique and gap-free, nothing fails."""

import threading

import sqlalchemy as sa

from kernel.columns import utcnow
from wardapp.dossiers.service import receive_dossier
from wardapp.extensions import db
from wardapp.models import Outbox
from wardapp.sync.records import Dossier, User

from .conftest import intake_data


def test_parallel_intake_gives_distinct_sequential_codes(app):
    now = utcnow()
    errors = []

    def desk():
        with app.app_context():
            try:
                clerk = db.session.scalar(sa.select(User).where(User.username == "letan"))
                for _ in range(15):
                    receive_dossier(intake_data(), actor=clerk, now=now)
            except Exception as e:  # collected and reported by the assertion below
                errors.append(e)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=desk) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    codes = sorted(db.session.scalars(sa.select(Dossier.code)))
    assert [int(c.rsplit("-", 1)[1]) for c in codes] == list(range(1, 46))
    numbers = sorted(db.session.scalars(sa.select(Dossier.logbook_number)))
    assert numbers == list(range(1, 46))
    outboxed = db.session.scalar(
        sa.select(sa.func.count()).select_from(Outbox).where(Outbox.table_name == "dossier")
    )
    assert outboxed == 45
