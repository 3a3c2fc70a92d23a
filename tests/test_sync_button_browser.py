""" "Đồng bộ ngay" in chromium: a real ward and a real hub, each on waitress. A leader presses the
button and watches the run (phase, records sent of the total) end in the import summary without
leaving the page; while the scheduled run holds the lock the press is refused; a receptionist
has no button and is refused the request."""

from __future__ import annotations

import re
import threading

import pytest

from wardapp.sync import client as sync_client
from wardapp.sync.client import SyncConfig
from wardapp.sync.lock import sync_lock

from . import test_browser
from .conftest import LiveServer, make_hub, make_ward
from .test_browser import login, shot
from .test_sync import write_dossiers

DOSSIERS = 5
browser, page = test_browser.browser, test_browser.page  # the fixtures, used by name


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A hub and a ward connected to it, both served; the ward holds dossiers not yet sent."""
    root = tmp_path_factory.mktemp("sync-button")
    hub_app, tokens = make_hub(root / "hub")
    (root / "ward").mkdir()
    ward = make_ward(root / "ward")
    with LiveServer(hub_app) as hub_url, LiveServer(ward) as ward_url:
        SyncConfig(hub_url, tokens["30280"]).save(ward.instance_path)
        with ward.app_context():
            write_dossiers(DOSSIERS)
        yield ward, ward_url


@pytest.fixture(scope="module")
def server(city):
    return city[1]


@pytest.fixture
def held_after_first_batch(monkeypatch):
    """Batches of two records, and the run held after its first until the test lets it go, so
    the browser sees it half way."""
    go = threading.Event()
    cut = sync_client.make_batch
    batches = []

    def cut_after_the_first_waits(*args, **kwargs):
        batches.append(args)
        if len(batches) == 2:
            go.wait(30)
        return cut(*args, **kwargs)

    monkeypatch.setattr(sync_client, "BATCH_RECORDS", 2)
    monkeypatch.setattr(sync_client, "make_batch", cut_after_the_first_waits)
    yield go
    go.set()


def test_refused_while_the_scheduled_run_holds_the_lock(city, page, server):
    ward, _ = city
    login(page, server, "lanhdao")
    page.goto(f"{server}/sync/")
    with sync_lock(ward.instance_path) as held:
        assert held
        page.click("text=Đồng bộ ngay")
        page.wait_for_selector(
            "#sync-run [role=alert]:has-text('Đang có một lượt đồng bộ chạy theo lịch; "
            "thử lại sau ít phút.')"
        )
    assert "Đang gửi" not in page.inner_text("#sync-run")
    assert "Còn" in page.inner_text(".sync-badge")  # nothing was sent


def test_a_leader_presses_and_watches_the_run(city, page, server, held_after_first_batch):
    login(page, server, "lanhdao")
    page.goto(f"{server}/sync/")
    waiting = page.inner_text(".sync-badge")
    total = int(waiting.split()[1])
    assert page.inner_text("footer") == f"Chưa đồng bộ lần nào · Chờ gửi: {total} bản ghi"
    page.click("text=Đồng bộ ngay")
    phase = page.wait_for_selector(f".sync-run-phase:has-text('đã gửi 2/{total} bản ghi')")
    assert phase.inner_text() == f"Đang gửi hồ sơ: đã gửi 2/{total} bản ghi"
    assert page.is_disabled("#sync-run button")
    shot(page, "sync-now-running")
    held_after_first_batch.set()
    page.wait_for_selector(".sync-run-summary", timeout=30_000)
    assert page.url == f"{server}/sync/"  # never left the page
    summary = page.inner_text(".sync-run-summary")
    assert f"Đã gửi\n{total} bản ghi" in summary.replace("\t", "\n")
    assert "Bị cách ly (xung đột)" in summary and "Danh mục" in summary
    assert page.inner_text(".sync-run-phase") == "Đã đồng bộ xong"
    page.wait_for_selector(".sync-badge:has-text('Đã đồng bộ đầy đủ')")  # the panel refreshed
    page.wait_for_selector("footer:has-text('Chờ gửi: 0 bản ghi')")  # and the footer
    assert re.fullmatch(
        r"Đồng bộ lần cuối: \d\d/\d\d/\d{4} \d\d:\d\d · Chờ gửi: 0 bản ghi",
        page.inner_text("footer"),
    )
    shot(page, "sync-now-done")


def test_a_receptionist_has_no_button_and_is_refused(page, server):
    login(page, server, "letan")
    assert page.locator("text=Đồng bộ ngay").count() == 0
    assert "Chờ gửi: 0 bản ghi" in page.inner_text("footer")  # every page, every role
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    refused = page.request.post(
        f"{server}/sync/run", headers={"X-CSRFToken": token, "HX-Request": "true"}
    )
    assert refused.status == 403
    assert page.request.get(f"{server}/sync/").status == 403


def test_a_hub_that_does_not_answer_is_said_in_vietnamese(city, page, server):
    ward, _ = city
    hub = SyncConfig.load(ward.instance_path)
    SyncConfig("http://127.0.0.1:9", hub.token).save(ward.instance_path)  # nothing listens there
    try:
        with ward.app_context():
            write_dossiers(1)
        login(page, server, "quantri")
        page.goto(f"{server}/sync/")
        page.click("text=Đồng bộ ngay")
        page.wait_for_selector(".sync-run-phase:has-text('Đồng bộ không thành công')")
        said = page.inner_text("#sync-run [role=alert]")
        assert said == "Mất kết nối với máy chủ thành phố; hồ sơ chờ gửi lần sau."
        assert "Traceback" not in page.content()
        assert "Chờ gửi: 4 bản ghi" in page.inner_text("footer")
    finally:
        hub.save(ward.instance_path)
