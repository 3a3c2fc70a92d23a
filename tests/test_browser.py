"""The desk in a real browser: Debian's chromium, driven by Playwright, against waitress.

Skipped with a reason where chromium is not installed; CI sets WARDAPP_REQUIRE_BROWSER=1 so that
there a missing browser fails instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

import pytest

from .conftest import PASSWORD, LiveServer, make_ward

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).parent / "screenshots"

if CHROMIUM is None and not os.environ.get("WARDAPP_REQUIRE_BROWSER"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real ward on a real waitress server on a free loopback port, CSRF on."""
    app = make_ward(tmp_path_factory.mktemp("browser-ward"))
    with LiveServer(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "chromium is required here (WARDAPP_REQUIRE_BROWSER is set)"
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
        yield browser
        browser.close()


@contextlib.contextmanager
def guarded_page(browser, server, viewport=(1280, 900), **options):
    """A page in a fresh Vietnamese browser context that records, and blocks, every request
    that leaves ``server``, and records the console's errors."""
    width, height = viewport
    context = browser.new_context(
        locale="vi-VN", viewport={"width": width, "height": height}, **options
    )
    page = context.new_page()
    page.outside_requests = []
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))

    def guard(route):
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            page.outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, server):
    """A page that records, and blocks, every request that leaves the server."""
    with guarded_page(browser, server) as page:
        yield page


def login(page, server, username):
    page.goto(f"{server}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def logout(page):
    page.click("text=Đăng xuất")
    page.wait_for_url(re.compile(r".*/auth/login"))


def shot(page, name, full_page=True):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def fill_intake(
    page,
    procedure: str,
    name: str,
    citizen_id: str,
    address: str,
    phone: str | None = None,
    search: str | None = None,
) -> None:
    """Fill the intake form as a receptionist does: pick the procedure (typing ``search`` in the
    picker first, if given), tick its required documents, type the applicant's details."""
    if search:
        page.fill("input[name=q]", search)
        page.wait_for_selector(f"#procedure-options option[value='{procedure}']")
    page.select_option("#procedure-options", procedure)
    page.wait_for_selector("input[name=documents]")
    for box in page.query_selector_all("#documents label:has(em) input[name=documents]"):
        box.check()
    page.fill("input[name=applicant_name]", name)
    page.fill("input[name=citizen_id]", citizen_id)
    if phone:
        page.fill("input[name=phone]", phone)
    page.fill("input[name=address]", address)


def test_receive_hand_over_resolve_return(page, server):
    login(page, server, "letan")
    shot(page, "home")
    page.click("text=+ Tiếp nhận hồ sơ")
    fill_intake(
        page,
        "1.001193",
        "Nguyễn Văn Đức",
        "089095001234",
        "Số 12 đường Hà Hoàng Hổ, khóm 3",
        phone="0912345678",
        search="khai sinh",
    )
    shot(page, "intake")
    page.click("text=Tiếp nhận và cấp giấy hẹn")
    page.wait_for_url(re.compile(r".*/dossiers/30280-\d{6}-0001$"))
    code = page.url.rsplit("/", 1)[1]
    assert "Đã tiếp nhận hồ sơ" in page.content()

    page.select_option("select[name=to_user_uuid]", label="Lê Văn Phúc (Chuyên viên xử lý)")
    page.click("button:has-text('Chuyển xử lý')")
    page.wait_for_selector(".status-4")
    logout(page)

    login(page, server, "chuyenvien")
    page.goto(f"{server}/worklists/in_progress")
    page.click(f"text={code}")
    page.click("button:has-text('Hoàn thành giải quyết')")
    page.wait_for_selector(".status-9")
    logout(page)

    login(page, server, "letan")
    page.fill("input[name=q][type=search]", "nguyen van duc")
    page.keyboard.press("Enter")
    page.click(f"text={code}")
    page.click("button:has-text('Trả kết quả')")
    page.wait_for_selector(".status-10")
    shot(page, "dossier")
    assert "Đã trả kết quả" in page.content()
    page.goto(f"{server}/dossiers/{code}/print/01")
    assert "GIẤY TIẾP NHẬN HỒ SƠ" in page.content().upper()
    shot(page, "receipt-mau01")
    assert page.outside_requests == []
    assert page.console_errors == []  # CSP violations and script errors land here


def test_bad_intake_shows_vietnamese_errors_in_place(page, server):
    login(page, server, "letan")
    page.goto(f"{server}/dossiers/new")
    page.select_option("#procedure-options", "1.001193")
    page.wait_for_selector("input[name=documents]")
    page.fill("input[name=applicant_name]", "Trần Thị B")
    page.fill("input[name=citizen_id]", "12345")
    page.fill("input[name=address]", "Khóm 1")
    page.click("text=Tiếp nhận và cấp giấy hẹn")
    page.wait_for_selector(".field-error")
    text = page.content()
    assert "12 chữ số" in text and "chưa đủ thành phần" in text
    assert page.url.endswith("/dossiers/new")
    assert page.outside_requests == []


def test_kiosk_rates_a_dossier(page, server):
    """A citizen rates a dossier on the kiosk tablet: large choices, no login, no way out, once."""
    login(page, server, "letan")
    page.goto(f"{server}/dossiers/new")
    fill_intake(
        page,
        "1.000656",
        "Lâm Thị Kiều",
        "089170004321",  # a death registration
        "Khóm 4, phường Mỹ Bình",
    )
    page.click("text=Tiếp nhận và cấp giấy hẹn")
    page.wait_for_url(re.compile(r".*/dossiers/30280-\d{6}-\d{4}$"))
    code = page.url.rsplit("/", 1)[1]
    page.goto(f"{server}/dossiers/{code}/print/01")
    assert page.locator(".rating-qr img").evaluate("img => img.naturalWidth") > 0
    rating_code = page.locator(".rating-code").inner_text()  # what the citizen takes home
    page.goto(f"{server}/")
    logout(page)
    login(page, server, "lanhdao")  # the result is ready and handed back: it may be rated
    page.goto(f"{server}/dossiers/{code}")
    page.click("button:has-text('Hoàn thành giải quyết')")
    page.click("button:has-text('Trả kết quả')")
    page.wait_for_selector(".status-10")
    page.goto(f"{server}/")
    logout(page)

    page.set_viewport_size({"width": 800, "height": 1280})  # a tablet, upright
    page.goto(f"{server}/kiosk/?code={rating_code}")
    assert page.locator("a").count() == 0
    assert "Lâm Thị Kiều" not in page.content()
    for criterion, level in (
        ("overall", "very_satisfied"),
        ("attitude", "satisfied"),
        ("timeliness", "very_satisfied"),
        ("guidance", "satisfied"),
    ):
        choice = page.locator(f"label.choice:has(input[name={criterion}][value={level}])")
        assert choice.bounding_box()["height"] >= 56  # a finger's target
        choice.click()
    page.fill("textarea[name=comment]", "Cảm ơn cán bộ đã hướng dẫn tận tình.")
    shot(page, "kiosk")
    page.click("button:has-text('Gửi đánh giá')")
    page.wait_for_selector(".kiosk-thanks")
    page.click("button:has-text('Đánh giá hồ sơ khác')")
    page.fill("input[name=code]", rating_code)
    for criterion in ("overall", "attitude", "timeliness", "guidance"):
        page.locator(f"label.choice:has(input[name={criterion}][value=satisfied])").click()
    page.click("button:has-text('Gửi đánh giá')")
    assert "chỉ đánh giá một lần" in page.content()
    assert page.outside_requests == []
    # The refused second rating is a 409, which chromium logs; nothing else may be there.
    assert [e for e in page.console_errors if "409 (CONFLICT)" not in e] == []
