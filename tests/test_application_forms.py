"""The writing desk prints the procedure's own application form (tờ khai, Circular
04/2020/TT-BTP), prefilled with the applicant's details, for the procedures it knows
(wardapp/dossiers/routes.py APPLICATION_FORMS); any other procedure prints the generic form.
tests/test_print_sheets.py prints each on its A4 sheet."""

import re

import pytest

from wardapp.dossiers.routes import APPLICATION_FORMS
from wardapp.dossiers.service import receive_dossier
from wardapp.models import Procedure

from .conftest import account, intake_data
from .test_print import get_page, text_of

APPLICANT = "Nguyễn Văn Đức"
ADDRESS = "Số 12 đường Hà Hoàng Hổ, khóm 3, phường Mỹ Bình"
FORMS = {  # procedure → (title, lines only its form has)
    "1.001193": (
        "TỜ KHAI ĐĂNG KÝ KHAI SINH",
        ["Quan hệ với người được khai sinh:", "Họ, chữ đệm, tên người mẹ:", "Quê quán:"],
    ),
    "1.000894": (
        "TỜ KHAI ĐĂNG KÝ KẾT HÔN",
        ["Bên nữ", "Bên nam", "Kết hôn lần thứ mấy", "việc kết hôn của chúng tôi là tự nguyện"],
    ),
    "1.000656": (
        "TỜ KHAI ĐĂNG KÝ KHAI TỬ",
        ["Quan hệ với người đã chết:", "Nơi cư trú cuối cùng:", "Nguyên nhân chết:"],
    ),
    "1.004873": (
        "TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
        ["Tình trạng hôn nhân:", "Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân:"],
    ),
    "2.000635": (
        "TỜ KHAI CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH",
        ["Đề nghị cấp bản sao trích lục hộ tịch về", "Số lượng bản sao đề nghị cấp:"],
    ),
}


def parties(html: str) -> dict[str, list[str]]:
    """The marriage form's table: each line's label → [her column, his column]."""
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", html, re.S)
    return {text_of(label): [text_of(her), text_of(his)] for label, her, his in rows}


def written(procedure: str, **intake) -> str:
    dossier, _ = receive_dossier(
        intake_data(procedure_code=procedure, writing_assist="1", **intake),
        actor=account("letan"),
    )
    return dossier.code


def test_every_mapped_procedure_is_in_the_catalogue(app):
    from wardapp.extensions import db

    for code in APPLICATION_FORMS:
        assert db.session.get(Procedure, code) is not None, code
    assert set(FORMS) <= set(APPLICATION_FORMS)


@pytest.mark.parametrize("procedure", FORMS)
def test_own_form_is_prefilled_with_the_applicant(app, client, auth, procedure):
    title, lines = FORMS[procedure]
    code = written(procedure)
    auth.login()
    html = get_page(client, f"/dossiers/{code}/print/viet-ho")
    text = text_of(html)
    assert 'class="page-a4"' in html
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc" in text
    assert title in text.upper() and f"Mã hồ sơ: {code}" in text
    assert "Kính gửi: UBND phường Mỹ Bình" in text
    for line in lines:
        assert line in text, (procedure, line)
    if procedure == "1.000894":  # the ID 089095…: its fourth digit 0 names a man
        table = parties(html)
        assert table["Họ, chữ đệm, tên"] == ["", APPLICANT]
        assert table["Nơi cư trú"] == ["", ADDRESS]
        assert table["Giấy tờ tùy thân"] == ["", "089095001234"]
        assert table["Kết hôn lần thứ mấy"] == ["", ""]
        assert "Bên nữ (Ký, ghi rõ họ, chữ đệm, tên)" in text and "Bên nam (Ký" in text
    else:
        assert f"Họ, chữ đệm, tên người yêu cầu: {APPLICANT}" in text
        assert f"Nơi cư trú: {ADDRESS}" in text
        assert "Giấy tờ tùy thân: Số định danh cá nhân 089095001234" in text
        assert "NGƯỜI YÊU CẦU (Ký, ghi rõ họ, chữ đệm, tên)" in text
    assert "CÁN BỘ VIẾT HỘ" in text and "Trần Thị Ngọc Hân" in text
    assert "Tôi cam đoan" in text or "Chúng tôi cam đoan" in text
    assert "Công dân đọc lại và ký xác nhận." in text


def test_marriage_form_puts_a_woman_in_her_column_or_asks_when_unknown(app, client, auth):
    auth.login()
    woman = written("1.000894", applicant_name="Lê Thị Mai", citizen_id="089195004321")
    html = get_page(client, f"/dossiers/{woman}/print/viet-ho")
    assert parties(html)["Họ, chữ đệm, tên"] == ["Lê Thị Mai", ""]
    unknown = written(
        "1.000894", applicant_name="Lê Thị Mai", applicant_kind="organisation", citizen_id=""
    )  # no citizen ID, no gender digit
    html = get_page(client, f"/dossiers/{unknown}/print/viet-ho")
    assert "Người yêu cầu: Lê Thị Mai" in text_of(html)
    assert parties(html)["Họ, chữ đệm, tên"] == ["", ""]


def test_other_procedures_print_the_generic_form(app, client, auth):
    code = written("2.000815")  # a certified copy: no form of its own
    auth.login()
    html = get_page(client, f"/dossiers/{code}/print/viet-ho")
    assert "TỜ KHAI ĐỀ NGHỊ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in html
    assert 'class="page-a5"' in html and APPLICANT in html
