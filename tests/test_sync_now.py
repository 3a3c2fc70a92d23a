""" "Đồng bộ ngay" through the Flask client against a real hub: a run in the server's
background, its progress polled, its summary; refused while another run holds the sync lock;
for leaders and admins only; a hub that does not answer is said in Vietnamese."""

from __future__ import annotations

import time

from kernel.formatting import vn_date_time
from wardapp.extensions import db
from wardapp.sync import now
from wardapp.sync.client import SyncConfig
from wardapp.sync.lock import sync_lock
from wardapp.sync.outgoing import sync_state

from .test_sync import outbox_head, run, write_dossiers

HTMX = {"HX-Request": "true"}


def finished(client, timeout: float = 30) -> str:
    """Poll the run as the panel does until it ends; the last fragment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get("/sync/run", headers=HTMX)
        if 'hx-trigger="every 1s"' not in page.text:
            assert page.headers.get("HX-Trigger") == "sync-finished"
            return page.text
        time.sleep(0.1)
    raise AssertionError("the run did not end")


def test_a_leader_starts_a_run_and_reads_its_summary(app, hub, client, auth):
    write_dossiers(3)
    SyncConfig(hub.url, hub.token).save(app.instance_path)
    auth.login("lanhdao")
    started = client.post("/sync/run", headers=HTMX)
    assert started.status_code == 200 and "Đồng bộ ngay" in started.text
    page = finished(client)
    db.session.rollback()  # the client's requests share the test's session: see the run's writes
    sent = outbox_head()
    assert "Đã đồng bộ xong" in page
    assert f"<dt>Đã gửi</dt><dd>{sent} bản ghi</dd>" in page
    # a dossier's first version, superseded in the same batch, is counted older ("cũ hơn")
    assert (
        f"<dt>Thành phố nhận</dt><dd>{sent} (mới {sent - 3}, cập nhật 0, không đổi 0, cũ hơn 3)"
        in page
    )
    assert "<dt>Bị cách ly (xung đột)</dt><dd>0</dd>" in page
    assert "<dt>Danh mục</dt><dd>đã nhận phiên bản 1</dd>" in page
    assert hub.count("dossier") == 3 and sync_state().acked_seq == sent
    panel = client.get("/sync/").text
    assert "Đồng bộ ngay" in panel and "Đã đồng bộ đầy đủ" in panel and "Đã đồng bộ xong" in panel


def test_refused_while_the_scheduled_run_holds_the_lock(app, hub, client, auth):
    write_dossiers(1)
    SyncConfig(hub.url, hub.token).save(app.instance_path)
    auth.login("quantri")
    with sync_lock(app.instance_path) as held:
        assert held
        page = client.post("/sync/run", headers=HTMX).text
        assert now.LOCK_HELD in page and 'hx-trigger="every 1s"' not in page
        assert now.current_run() is None
        refused = client.post("/sync/run", follow_redirects=True)  # without htmx: a flash
        assert refused.status_code == 200 and now.LOCK_HELD in refused.text
    assert now.current_run() is None and hub.count("dossier") == 0  # no second run


def test_an_unreachable_hub_is_said_in_vietnamese(app, client, auth):
    write_dossiers(1)
    SyncConfig("http://127.0.0.1:9", "khoa-thu").save(app.instance_path)
    auth.login("lanhdao")
    client.post("/sync/run", headers=HTMX)
    page = finished(client)
    assert "Đồng bộ không thành công" in page and "Mất kết nối với máy chủ thành phố" in page
    assert "Traceback" not in page and "ConnectionError" not in page


def test_unconfigured_is_refused_with_what_to_do(client, auth):
    auth.login("lanhdao")
    assert now.UNCONFIGURED in client.post("/sync/run", headers=HTMX).text


def test_only_leaders_and_admins(client, auth):
    auth.login("letan")
    assert "Đồng bộ ngay" not in client.get("/").text
    assert client.post("/sync/run", headers=HTMX).status_code == 403
    assert client.get("/sync/run", headers=HTMX).status_code == 403
    auth.login("chuyenvien")
    assert client.post("/sync/run").status_code == 403


def test_every_page_footer_says_the_last_sync_and_what_waits(app, hub, client, auth):
    import re

    write_dossiers(2)
    waiting = outbox_head()
    auth.login("letan")
    for path in ("/", "/dossiers/new"):  # (printed pages, such as the logbook, have none)
        page = client.get(path).text
        assert f"Chưa đồng bộ lần nào · Chờ gửi: {waiting} bản ghi</footer>" in page, path
    db.session.rollback()
    SyncConfig(hub.url, hub.token).save(app.instance_path)
    assert run(hub) == 0
    db.session.rollback()
    write_dossiers(1)  # four rows more: received and handed over, two events
    footer = client.get("/").text.split('class="sync-footer"')[1]
    last = re.search(r"Đồng bộ lần cuối: (\d\d/\d\d/\d{4} \d\d:\d\d) · Chờ gửi: 4 bản ghi<", footer)
    assert last and last[1] == vn_date_time(sync_state().last_pull_ok_utc)
    assert client.get("/sync/footer").text.count("Chờ gửi: 4 bản ghi") == 1


def test_the_footer_is_one_query_of_primary_keys(app, client, auth):
    """The footer counts nothing: one statement, whatever the outbox holds."""
    import sqlalchemy as sa

    from wardapp.sync.outgoing import at_a_glance

    statements = []

    def seen(conn, cursor, statement, parameters, *rest):
        if statement != "BEGIN":  # the session's transaction, when none is open
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    at_a_glance()
    sa.event.remove(db.engine, "before_cursor_execute", seen)
    ((sql, parameters),) = statements
    assert "count(" not in sql.lower() and "dossier" not in sql.lower()
    plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters).all()
    assert not [row for row in plan if "SCAN" in row[-1] and "CONSTANT ROW" not in row[-1]], plan
