"""Printouts: the Circular 01/2018 forms (Mẫu 01–05) of one dossier and the logbook (Mẫu 06)."""

import html as htmllib
import re

import pytest
import sqlalchemy as sa
from flask import render_template

from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.sync.records import Dossier

from .conftest import account, intake_data, vn_time

APPLICANT = "Nguyễn Văn Đức"
TITLES = {
    "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "04": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
    "05": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
}


def long_date(ddmmyyyy: str) -> str:
    """The forms' wording of a dd/mm/yyyy date: "ngày 10 tháng 12 năm 2026"."""
    day, month, year = ddmmyyyy.split("/")
    return f"ngày {day} tháng {month} năm {year}"


def step(code, kind, at, who="chuyenvien", **kwargs):
    return record_step(code, kind, actor=account(who), now=at, **kwargs)


def full_history_dossier(**intake) -> str:
    """A 3-working-day dossier (due Thursday 10/12/2026) that goes through every printed step.

    Received Monday 07/12 09:00, handed over at once (early), asked to supplement, resumed the
    next day (due moves to Friday 11/12), apology with a new date Tuesday 15/12, handed over
    again on the due day (on time), resolved Monday 14/12 (late against 11/12).
    """
    dossier, _ = receive_dossier(
        intake_data(procedure_code="1.004873", **intake),
        actor=account("letan"),
        now=vn_time(2026, 12, 7, 9),
    )
    code = dossier.code
    step(
        code,
        "handed_over",
        vn_time(2026, 12, 7, 10),
        who="letan",
        to_user_uuid=account("chuyenvien").uuid,
    )
    step(
        code,
        "supplement_requested",
        vn_time(2026, 12, 7, 11),
        reason="Bản sao Giấy khai sinh\n- Giấy xác nhận nơi cư trú",
    )
    step(code, "supplement_received", vn_time(2026, 12, 8, 9), who="letan")
    step(
        code,
        "apology",
        vn_time(2026, 12, 10, 10),
        who="lanhdao",
        reason="Cần xác minh thêm thông tin hộ tịch.",
        new_due_date="2026-12-15",
    )
    step(code, "handed_over", vn_time(2026, 12, 11, 9), to_user_uuid=account("lanhdao").uuid)
    step(code, "resolved", vn_time(2026, 12, 14, 10), who="lanhdao")
    db.session.expire_all()
    return code


@pytest.fixture
def code(app):
    return full_history_dossier()


def get_page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def text_of(fragment: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_forms_share_header_and_print_toolbar(client, auth, code):
    auth.login()
    for form in ("01", "02", "04", "05"):
        html = get_page(client, f"/dossiers/{code}/print/{form}")
        assert TITLES[form] in html
        assert code in html and APPLICANT in html
        assert "UBND PHƯỜNG MỸ BÌNH" in html
        assert "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ" in html
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html
        assert "Độc lập - Tự do - Hạnh phúc" in html
        assert "Long Xuyên, ngày" in html
        assert '<button type="button" data-print>In</button>' in html
        assert f'href="/dossiers/{code}"' in html
        assert 'class="page-a5"' in html


def test_mau01_receipt(client, auth, code):
    auth.login()
    html = get_page(client, f"/dossiers/{code}/print/01")
    text = text_of(html)
    assert f"Mã hồ sơ: {code}" in text
    assert "Số định danh cá nhân/CMND: 089095001234" in text
    assert "Nội dung yêu cầu giải quyết: Cấp Giấy xác nhận tình trạng hôn nhân" in text
    assert "1. Thành phần hồ sơ nộp gồm" in text
    assert "Bản chính" in text
    assert "2. Số lượng hồ sơ: 1 (bộ)" in text
    assert "3. Thời gian giải quyết hồ sơ theo quy định là: 3 ngày làm việc" in text
    assert "4. Thời gian nhận hồ sơ: 09 giờ 00 phút, thứ hai " + long_date("07/12/2026") in text
    # the appointment of the receipt is the original one (10/12), not the moved or revised one
    assert (
        "5. Thời gian trả kết quả giải quyết hồ sơ: 17 giờ 00 phút, thứ năm "
        + long_date("10/12/2026")
        in text
    )
    assert "6. Đăng ký nhận kết quả: Tại Bộ phận Tiếp nhận và Trả kết quả" in text
    assert "tại: Tại" not in text  # the place was said twice
    assert "Phí, lệ phí: 15.000 đồng" in text
    assert "Quyển số: 2026 Số thứ tự: 1" in text
    assert "NGƯỜI NỘP HỒ SƠ" in text
    assert "NGƯỜI TIẾP NHẬN HỒ SƠ (Ký và ghi rõ họ tên) Trần Thị Ngọc Hân" in text
    assert "Giấy tiếp nhận được lập thành 02 liên" in text


def test_mau01_organisation_id_label(client, auth, app):
    dossier, _ = receive_dossier(
        intake_data(
            procedure_code="2.000509",
            applicant_kind="organisation",
            applicant_name="Ban quản trị đình Mỹ Phước",
            citizen_id="1600123456",
        ),
        actor=account("letan"),
        now=vn_time(2026, 12, 7, 9),
    )
    auth.login()
    text = text_of(get_page(client, f"/dossiers/{dossier.code}/print/01"))
    assert "Mã số thuế/mã định danh: 1600123456" in text
    assert "Số định danh cá nhân/CMND" not in text


def test_mau02_lists_items_to_supplement(client, auth, code):
    auth.login()
    html = get_page(client, f"/dossiers/{code}/print/02")
    assert re.findall(r"<li>(.*?)</li>", html) == [
        "Bản sao Giấy khai sinh",
        "Giấy xác nhận nơi cư trú",
    ]
    text = text_of(html)
    assert f"Kính gửi: Ông (bà) {APPLICANT}" in text
    assert "Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau" in text
    assert "Long Xuyên, " + long_date("07/12/2026") in text
    assert "NGƯỜI HƯỚNG DẪN (Ký và ghi rõ họ tên) Lê Văn Phúc" in text


def test_mau04_apology_with_original_and_new_date(client, auth, code):
    auth.login()
    text = text_of(get_page(client, f"/dossiers/{code}/print/04"))
    assert f"Kính gửi: Ông (bà) {APPLICANT}" in text
    assert (
        "Thời gian hẹn trả kết quả giải quyết hồ sơ: 17 giờ 00 phút, thứ năm "
        + long_date("10/12/2026")
        in text
    )
    assert "Lý do: Cần xác minh thêm thông tin hộ tịch." in text
    assert "xin lỗi" in text
    assert (
        "hẹn lại thời gian trả kết quả vào: 17 giờ 00 phút, thứ ba " + long_date("15/12/2026")
        in text
    )
    assert "Long Xuyên, " + long_date("10/12/2026") in text


def test_mau05_control_slip_rows(client, auth, code):
    auth.login()
    html = get_page(client, f"/dossiers/{code}/print/05")
    text = text_of(html)
    assert "Tên cơ quan" in text and "Thời gian giao, nhận hồ sơ" in text
    assert "Kèm theo hồ sơ của: " + APPLICANT in text
    assert "Thời gian hẹn trả kết quả: 17 giờ 00 phút, thứ sáu " + long_date("11/12/2026") in text
    rows = re.findall(r'<tr class="event-(\w+)">(.*?)</tr>', html, re.S)
    assert [kind for kind, _ in rows] == [
        "received",
        "handed_over",
        "supplement_requested",
        "supplement_received",
        "apology",
        "handed_over",
        "resolved",
    ]
    cells = [[text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for _, row in rows]
    assert all(len(c) == 4 for c in cells)
    received, first, asked, resumed, apology, second, resolved = cells
    assert "Bộ phận TN&TKQ tiếp nhận hồ sơ" in received[0]
    assert "Giao: Trần Thị Ngọc Hân Nhận: Lê Văn Phúc" in first[0]
    assert first[1].startswith("10 giờ 00 phút, thứ hai " + long_date("07/12/2026"))
    assert "Người giao" in first[1] and "Người nhận" in first[1]
    assert first[2] == "Trước hạn"
    assert "Bản sao Giấy khai sinh" in asked[3]
    assert "Cần xác minh thêm thông tin hộ tịch." in apology[3] and "15/12/2026" in apology[3]
    assert "Giao: Lê Văn Phúc Nhận: Phạm Quốc Hùng" in second[0]
    assert second[2] == "Đúng hạn"
    assert "Hoàn thành giải quyết, chuyển kết quả về Bộ phận TN&TKQ" in resolved[0]
    assert resolved[2] == "Quá hạn"
    assert received[2] == asked[2] == resumed[2] == apology[2] == ""


def test_form_whose_event_has_not_happened_is_404(client, auth, app):
    dossier, _ = receive_dossier(
        intake_data(procedure_code="1.004873"), actor=account("letan"), now=vn_time(2026, 12, 7, 9)
    )
    auth.login()
    assert client.get(f"/dossiers/{dossier.code}/print/01").status_code == 200
    assert client.get(f"/dossiers/{dossier.code}/print/05").status_code == 200
    for form in ("02", "03", "04", "06", "99"):
        assert client.get(f"/dossiers/{dossier.code}/print/{form}").status_code == 404
    assert client.get("/dossiers/30280-000000-9999/print/01").status_code == 404


def test_mau03_refusal(client, auth, app):
    dossier, _ = receive_dossier(
        intake_data(procedure_code="1.004873"), actor=account("letan"), now=vn_time(2026, 12, 7, 9)
    )
    step(
        dossier.code,
        "refused",
        vn_time(2026, 12, 7, 9, 30),
        who="letan",
        reason="Người yêu cầu không cư trú tại phường.\nĐề nghị nộp tại nơi cư trú.",
    )
    auth.login()
    html = get_page(client, f"/dossiers/{dossier.code}/print/03")
    text = text_of(html)
    assert "Phiếu từ chối tiếp nhận, giải quyết hồ sơ" in text
    assert dossier.code in text and APPLICANT in text
    assert "thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau" in text
    assert "Người yêu cầu không cư trú tại phường." in text
    assert "Đề nghị nộp tại nơi cư trú." in text
    assert "Long Xuyên, " + long_date("07/12/2026") in text


def test_printouts_escape_user_text(client, auth, app):
    name = 'Lê <script>alert("x")</script> <b>Tám</b>'
    code = full_history_dossier(
        applicant_name=name, address='<img src=x onerror="alert(1)"> khóm 3'
    )
    auth.login()
    pages = [
        get_page(client, f"/dossiers/{code}/print/{form}") for form in ("01", "02", "04", "05")
    ]
    pages.append(get_page(client, "/logbook?from=2026-12-01&to=2026-12-31"))
    for html in pages:
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &lt;b&gt;Tám&lt;/b&gt;" in html
        assert "<script>alert" not in html and "<b>Tám" not in html
        assert "<img src=x" not in html


def test_printouts_load_only_local_assets_and_no_inline_code(client, auth, code):
    auth.login()
    pages = [
        get_page(client, f"/dossiers/{code}/print/{form}") for form in ("01", "02", "04", "05")
    ]
    pages.append(get_page(client, "/logbook?from=2026-12-01&to=2026-12-31"))
    for html in pages:
        assets = re.findall(r'<(?:link|script)\b[^>]*?(?:href|src)="([^"]*)"', html)
        assert assets == ["/static/css/print.css", "/static/app.js"]
        assert len(re.findall(r"<script\b", html)) == 1
        assert re.search(r"<script\b[^>]*>(?!</script>)", html) is None  # no inline script
        assert " style=" not in html and "<style" not in html
        assert re.search(r"\son[a-z]+=", html) is None
        assert "http://" not in html and "https://" not in html


def test_logbook_lists_dossiers_of_the_span(client, auth, code):
    auth.login()
    html = get_page(client, "/logbook?from=2026-12-01&to=2026-12-31")
    text = text_of(html)
    assert "Sổ theo dõi hồ sơ" in text
    assert 'class="page-a4-landscape"' in html
    assert 'name="from" value="2026-12-01"' in html and 'name="to" value="2026-12-31"' in html
    rows = re.findall(r"<tbody>(.*?)</tbody>", html, re.S)[0]
    row = [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rows, re.S)]
    assert row[:5] == ["1", code, "Cấp Giấy xác nhận tình trạng hôn nhân", "1", APPLICANT]
    assert "0912345678" in row[5]
    assert row[6] == "UBND phường Mỹ Bình"
    assert row[7] == "09:00 07/12/2026"
    assert row[8].startswith("17:00 11/12/2026") and "15/12/2026" in row[8]
    assert row[9] == "10:00 07/12/2026"  # first hand-over
    assert row[10] == "10:00 14/12/2026"  # resolved
    assert row[11] == ""  # not yet returned
    assert row[12].startswith("Đã có kết quả, chờ trả")
    assert 'href="/"' in html  # no dossier: the toolbar links back home


def test_logbook_empty_span(client, auth, code):
    auth.login()
    text = text_of(get_page(client, "/logbook?from=2026-11-01&to=2026-11-30"))
    assert "Không có hồ sơ nào trong khoảng ngày này." in text
    assert code not in text


def test_print_requires_login(client, code):
    response = client.get(f"/dossiers/{code}/print/01")
    assert response.status_code in (302, 401)
    assert APPLICANT not in response.get_data(as_text=True)


def test_forms_render_without_a_ward_in_context(app, code):
    """The header falls back to a blank issuing body when no ward is injected."""
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    with app.test_request_context():
        html = render_template(
            "print/mau01.html", dossier=dossier, event=None, title=TITLES["01"], calendar=None
        )
    assert "UBND PHƯỜNG, XÃ" in html and "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ" in html
    assert code in html
