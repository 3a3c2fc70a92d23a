"""End to end on the running demo (``wardapp demo --small``, the README's run command): a desk
works through an outage of the link to the hub, and the city sees its work once the link returns.

The hub is stopped by hand (its process id is in the demo folder) to cut the link; a receptionist
receives a dossier, an officer resolves it, the ward leader's sync panel shows it waiting; the hub
comes back, the ward's scheduled sync runs, and a city viewer sees the ward's received count grow
by one and the new dossier in the drill-down. Ctrl-C then stops every process of the demo.
Screenshots go to ``tests/screenshots/`` (git-ignored); the best are copied into ``docs/``.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernel.columns import utcnow
from kernel.workdays import to_local

from .test_browser import CHROMIUM, SCREENSHOTS, fill_intake  # noqa: F401  (skips the module without chromium)

pytestmark = pytest.mark.browser
DESKS = 14
HUB_SERVE = ["-c", "from city_hub.cli import cli; cli()", "serve"]


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    for _ in range(50):
        base = random.randint(20000, 40000)
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no run of free ports")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``wardapp demo --small`` running; yields what it printed, parsed."""
    root = tmp_path_factory.mktemp("demo") / "city"
    port = free_ports(DESKS + 1)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wardapp",
            "demo",
            "--small",
            "--port",
            str(port),
            "--instance",
            str(root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 600
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C") or time.monotonic() > deadline:
            break
    output = "".join(lines)
    assert "Sẵn sàng sau" in output, output
    passwords = dict(re.findall(r"^  (\w+)\s+(\S+)(?:  \(\w+\))?$", output, re.M))
    report = re.search(r"(http://127\.0\.0\.1:\d+/reports/\?\S+)", output).group(1)
    info = {
        "root": root,
        "port": port,
        "passwords": passwords,
        "report": report,
        "hub": f"http://127.0.0.1:{port}",
        "ward": f"http://127.0.0.1:{port + 2}",
        "output": output,
        "process": process,
        "extra": [],
    }
    yield info
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    process.stdout.close()
    for extra in info["extra"]:
        extra.terminate()
        extra.wait(timeout=10)


@pytest.fixture
def page(demo):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(locale="vi-VN", viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.outside_requests = []
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("http://127.0.0.1:")
                else (page.outside_requests.append(route.request.url), route.abort())
            ),
        )
        yield page
        context.close()
        browser.close()


def shot(page, name, full_page=True):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"demo-{name}.png"), full_page=full_page)


def login(page, base, username, password, landing):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(landing)


def logout(page):
    page.click("text=Đăng xuất")
    page.wait_for_url(re.compile(r".*/auth/login"))


def ward_received(page, report_url) -> int:
    page.goto(report_url)
    cell = page.locator("tr", has_text="Phường Mỹ Bình").locator("td").nth(2)
    return int(cell.inner_text().replace(".", ""))


def sync_ward(root: Path) -> int:
    return subprocess.run(
        [sys.executable, "-m", "wardapp", "sync", "--no-delay", "--instance", str(root / "30280")],
        capture_output=True,
        timeout=120,
    ).returncode


def test_a_desk_works_through_an_outage_and_the_city_sees_it(demo, page):
    hub, ward, pw = demo["hub"], demo["ward"], demo["passwords"]
    today = to_local(utcnow()).date()
    first = re.search(r"from=(\d{4}-\d\d-\d\d)", demo["report"]).group(1)
    report = f"{hub}/reports/?from={first}&to={today.isoformat()}"
    assert "Phường Mỹ Bình" in demo["output"] and f"{ward}/" in demo["output"]

    login(page, hub, "xembaocao", pw["xembaocao"], re.compile(r".*/reports/"))
    page.goto(demo["report"])
    shot(page, "hub-report", full_page=False)
    before = ward_received(page, report)
    assert before > 0
    logout(page)

    # The link is cut: the hub stops.
    hub_pid = int((demo["root"] / "hub.pid").read_text())
    os.kill(hub_pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while port_open(demo["port"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not port_open(demo["port"])

    login(page, ward, "letan", pw["letan"], f"{ward}/")
    shot(page, "ward-home")
    page.click("text=+ Tiếp nhận hồ sơ")
    fill_intake(
        page,
        "1.001193",
        "Huỳnh Thị Ngọc Diễm",
        "089301004567",
        "Số 45 đường Trần Hưng Đạo, khóm 4, phường Mỹ Bình",
        phone="0918123456",
        search="khai sinh",
    )
    page.click("text=Tiếp nhận và cấp giấy hẹn")
    page.wait_for_url(re.compile(rf".*/dossiers/30280-{today:%y%m%d}-\d{{4}}$"))
    code = page.url.rsplit("/", 1)[1]
    page.select_option("select[name=to_user_uuid]", label="Lê Văn Phúc (Chuyên viên xử lý)")
    page.click("button:has-text('Chuyển xử lý')")
    page.wait_for_selector(".status-4")
    logout(page)

    login(page, ward, "chuyenvien", pw["chuyenvien"], f"{ward}/")
    page.goto(f"{ward}/dossiers/{code}")
    page.click("button:has-text('Hoàn thành giải quyết')")
    page.wait_for_selector(".status-9")
    shot(page, "ward-dossier")
    logout(page)

    assert sync_ward(demo["root"]) == 2  # the scheduled sync finds the hub unreachable
    login(page, ward, "lanhdao", pw["lanhdao"], f"{ward}/")
    page.goto(f"{ward}/sync/")
    panel = page.locator("#sync-panel")
    assert "Mất kết nối với máy chủ thành phố" in panel.inner_text()
    waiting = re.search(r"Đang chờ gửi\s+([\d.]+) bản ghi", panel.inner_text())
    assert waiting and int(waiting.group(1).replace(".", "")) >= 6  # 3 steps: dossier + events
    shot(page, "ward-sync-waiting")

    # The link returns; the ward's next scheduled sync delivers the dossier.
    log = open(demo["root"] / "hub-again.log", "ab")
    demo["extra"].append(
        subprocess.Popen(
            [
                sys.executable,
                *HUB_SERVE,
                "--port",
                str(demo["port"]),
                "--instance",
                str(demo["root"] / "hub"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    log.close()
    deadline = time.monotonic() + 30
    while not port_open(demo["port"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sync_ward(demo["root"]) == 0
    page.reload()
    assert "Đã đồng bộ đầy đủ" in page.locator("#sync-panel").inner_text()
    logout(page)

    login(page, hub, "xembaocao", pw["xembaocao"], re.compile(r".*/reports/"))
    assert ward_received(page, report) == before + 1
    shot(page, "hub-report-after", full_page=False)
    page.locator("tr", has_text="Phường Mỹ Bình").locator("td").nth(2).locator("a").click()
    pages = page.locator("nav.pager").first
    if pages.count():  # the drill-down runs in order of receipt: the new dossier is on the last
        pages.locator("a", has_text=re.compile(r"^\d+$")).last.click()
    page.locator(f"text={code}").scroll_into_view_if_needed()
    shot(page, "hub-drilldown", full_page=False)
    assert page.outside_requests == []

    # Ctrl-C stops every process of the demo.
    demo["process"].send_signal(signal.SIGINT)
    assert demo["process"].wait(timeout=30) == 0
    assert not any(port_open(demo["port"] + i) for i in range(1, DESKS + 1))
