"""Offline for real: every page loads only what the app itself serves."""

import re
from html.parser import HTMLParser

import pytest

from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.feedback.service import receive_feedback
from wardapp.inspections.service import start_inspection
from wardapp.letters.service import issue_letter

from .conftest import account, intake_data

ASSET_TAGS = {
    "script": "src",
    "link": "href",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "video": "src",
    "audio": "src",
    "embed": "src",
    "object": "data",
}


class AssetCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ASSET_TAGS and attrs.get(ASSET_TAGS[tag]):
            self.urls.append(attrs[ASSET_TAGS[tag]])
        if "style" in attrs:
            self.urls += re.findall(r"url\(([^)]+)\)", attrs["style"])


@pytest.fixture
def every_page(app):
    """One URL per GET route of the app, with real arguments, so a new route cannot slip by."""
    dossier, _ = receive_dossier(intake_data(), actor=account("letan"))
    code = dossier.code
    record_step(code, "supplement_requested", actor=account("letan"), reason="Thiếu tờ khai")
    record_step(code, "refused", actor=account("letan"), reason="Không thuộc thẩm quyền")
    app.config["CHAIRMAN_NAME"] = "Nguyễn Văn An"
    lettered, _ = receive_dossier(intake_data(writing_assist="1"), actor=account("letan"))
    record_step(lettered.code, "resolved", actor=account("lanhdao"))
    issue_letter(lettered.code, actor=account("chuyenvien"))
    feedback = receive_feedback(
        {
            "channel": "desk",
            "sender_name": "Lê Văn Tư",
            "subject": "Phí",
            "content": "Hỏi phí.",
            "regulation": "Lệ phí hộ tịch",
        },
        actor=account("letan"),
    )
    inspection = start_inspection("Năm 2025", actor=account("chuyenvien"))
    args = {
        "code": lettered.code,
        "name": "today",
        "form": "01",
        "filename": "css/app.css",
        "uuid": feedback.uuid,
        "rest": "khong-co",
    }
    pages = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and not rule.endpoint.startswith("api."):
                named = (
                    {**args, "uuid": inspection.uuid}
                    if rule.endpoint.startswith("inspections.")
                    else args
                )
                pages.append(app.url_for(rule.endpoint, **{a: named[a] for a in rule.arguments}))
    pages += [f"/dossiers/{code}/print/{n}" for n in ("02", "03", "05")]
    pages.append(f"/dossiers/{lettered.code}/print/viet-ho")
    return pages


def test_every_page_uses_only_local_assets(client, auth, every_page):
    checked, as_admin = set(), False
    # The ward leader sees every page but the accounts screen, which is the admin's: last.
    auth.login("lanhdao")
    for page in sorted(every_page, key=lambda p: p.startswith("/accounts")):
        if page.startswith("/accounts") and not as_admin:
            auth.logout()
            auth.login("quantri")
            as_admin = True
        with client.get(page) as response:
            # The kiosk's own "not found" page is a page too.
            assert response.status_code in (200, 302) or page == "/kiosk/khong-co", page
            html = response.text if response.mimetype == "text/html" else ""
        collector = AssetCollector()
        collector.feed(html)
        for url in collector.urls:
            if url.startswith("data:"):  # drawn by the app itself (the receipt's QR code)
                continue
            assert url.startswith("/static/"), f"{page} loads {url} from outside the app"
            if url not in checked:
                with client.get(url) as asset:
                    assert asset.status_code == 200, f"{page}: {url} is missing"
                    text = asset.text if url.endswith(".css") else ""
                for ref in re.findall(r"url\(([^)]+)\)|@import", text):
                    assert ref and not re.match(r"['\"]?(https?:)?//", ref), (url, ref)
                checked.add(url)
    assert "/static/vendor/htmx-2.0.11.min.js" in checked


def test_no_template_names_an_outside_host():
    from pathlib import Path

    import wardapp

    root = Path(wardapp.__file__).parent
    for path in (
        list(root.glob("templates/**/*.html"))
        + list(root.glob("static/**/*.css"))
        + list(root.glob("static/*.js"))
    ):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)\s*=\s*[\"'](https?:)?//", text), path
        assert "fonts.googleapis" not in text and "cdn" not in text.lower(), path
