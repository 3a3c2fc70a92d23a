"""Paper is part of the product: every form the desk prints, printed as the desk prints it.

Chromium (Debian's, through Playwright) prints each printout to PDF with the sheet size its CSS
asks for (``@page`` in kernel/static/css/print.css: A5 portrait for Mẫu 01–05, the writing
desk's application and the letters, A4 landscape for the Mẫu 06 logbook), and the PDF's sheets
are counted and measured. The dossiers carry the longest values the desk accepts or meets: a
200-character applicant name, a 300-character address (and postal return address), every
document of the procedure, long reasons. tests/test_print.py checks the printouts' wording;
this file checks that they fit their paper.

Skipped, like tests/test_browser.py, where chromium is not installed, unless
WARDAPP_REQUIRE_BROWSER is set. No PDF library: the few PDF objects read here are found with
regular expressions and zlib (Skia, chromium's PDF writer, writes plain page objects).
"""

# ruff: noqa: F811  (the tests take the fixtures imported from test_browser as parameters)
from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from dataclasses import dataclass, field

import pytest

from kernel.workdays import to_local
from wardapp.dossiers.routes import APPLICATION_FORMS
from wardapp.dossiers.service import receive_dossier, record_step
from wardapp.extensions import db
from wardapp.letters.service import issue_letter
from wardapp.models import Procedure

from .conftest import LiveServer, account, intake_data, make_ward, vn_time

# Importing from test_browser also skips this module, with its reason, where chromium is absent.
from .test_browser import browser, login, page  # noqa: F401  (fixtures used by name)

pytestmark = pytest.mark.browser

MM = 72 / 25.4  # PDF points per millimetre
A5 = (148 * MM, 210 * MM)  # 419.5 x 595.3 pt, portrait
A4_LANDSCAPE = (297 * MM, 210 * MM)  # 841.9 x 595.3 pt
A4 = (210 * MM, 297 * MM)  # 595.3 x 841.9 pt, portrait
CHAIRMAN = "Nguyễn Thị Thu Hà"


def long_text(words: str, length: int) -> str:
    """``words`` repeated up to exactly ``length`` characters, not ending on a space."""
    text = " ".join([words] * (length // len(words) + 2))[:length]
    return text[:-1] + "h" if text.endswith(" ") else text


# The desk's limits (wardapp/dossiers/service.py LIMITS): a name of 200 characters, an address of
# 300; the reasons are long ones a clerk writes (several lines), well short of the 2,000 allowed.
NAME = long_text("Nguyễn Huỳnh Thị Phương Thảo Ngọc Bảo Trân", 200)
ADDRESS = long_text(
    "Số 1234/56/78 đường Trần Hưng Đạo, tổ 15, khóm Đông Thịnh 3, phường Mỹ Bình,", 300
)
EMAIL = "nguyen.huynh.thi.phuong.thao.ngoc.bao.tran@example.com.vn"
SUPPLEMENT = "\n".join(
    [
        "Bản sao có chứng thực Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở của hộ gia đình",  # noqa: E501
        "- Giấy xác nhận nơi cư trú do Công an phường nơi người yêu cầu cư trú cấp (bản chính)",
        "- Tờ khai ghi đầy đủ họ, chữ đệm, tên, ngày tháng năm sinh của người được khai sinh",
        "- Văn bản ủy quyền có chứng thực trong trường hợp người nộp hồ sơ không phải người yêu cầu",  # noqa: E501
        "- Giấy tờ chứng minh quan hệ cha, mẹ, con hoặc văn bản của cơ sở y tế xác nhận việc sinh",
        "- Bản dịch có công chứng các giấy tờ do cơ quan có thẩm quyền nước ngoài cấp",
    ]
)
REFUSAL = (
    "Người yêu cầu không có nơi thường trú hoặc tạm trú tại phường Mỹ Bình theo dữ liệu "
    "của Cơ sở dữ liệu quốc gia về dân cư, nên hồ sơ không thuộc thẩm quyền giải quyết "
    "của Ủy ban nhân dân phường.\nĐề nghị Ông (bà) nộp hồ sơ tại Ủy ban nhân dân phường, "
    "xã nơi Ông (bà) đang cư trú; mọi thắc mắc xin liên hệ Bộ phận Tiếp nhận và Trả kết "
    "quả để được hướng dẫn."
)
APOLOGY = (
    "Hồ sơ cần xác minh thêm thông tin hộ tịch tại Ủy ban nhân dân nơi đăng ký khai sinh "
    "trước đây của người yêu cầu; văn bản đề nghị xác minh đã gửi nhưng cơ quan được đề "
    "nghị chưa có văn bản trả lời, nên chưa đủ căn cứ giải quyết hồ sơ đúng thời hạn đã "
    "hẹn."
)
NOTE = (
    "Công dân đề nghị ghi thêm tên gọi khác trong giấy tờ cũ; đã đối chiếu bản chính Căn cước "
    "công dân và sổ hộ khẩu cũ; công dân cam đoan chưa từng đăng ký tại nơi khác."
)
LONGEST_NAME = "2.000884"  # the procedure with the longest name (169 characters)


@dataclass
class Ward:
    url: str
    receipts: dict[str, str] = field(default_factory=dict)  # procedure → dossier, worst values
    dossiers: dict[str, str] = field(default_factory=dict)  # the forms' dossiers, by name
    logbook: dict[int, dict] = field(default_factory=dict)  # rows → the span that lists them


def all_documents(procedure: Procedure) -> list[str]:
    return [d["name"] for d in procedure.documents]


def worst_intake(procedure: Procedure, **overrides) -> dict:
    """The longest intake the desk takes for ``procedure``: every document, the longest name
    and address, an e-mail, a postal return address where the procedure returns by post, the
    writing desk's note."""
    data = dict(
        procedure_code=procedure.code,
        documents=all_documents(procedure),
        applicant_name=NAME,
        address=ADDRESS,
        email=EMAIL,
        sets_count=12,
        writing_assist="1",
        note=NOTE,
    )
    if procedure.postal_allowed:
        data.update(return_method="postal", return_address=ADDRESS)
    data.update(overrides)
    return intake_data(**data)


def receive(data: dict, at: dt.datetime) -> str:
    return receive_dossier(data, actor=account("letan"), now=at)[0].code


def step(code: str, kind: str, at: dt.datetime, who: str, **kwargs) -> None:
    record_step(code, kind, actor=account(who), now=at, **kwargs)


def later_due_date(code: str) -> str:
    from wardapp.sync.records import Dossier

    dossier = db.session.scalar(db.select(Dossier).where(Dossier.code == code))
    return (to_local(dossier.due_at).date() + dt.timedelta(days=14)).isoformat()


def long_history(procedure: Procedure, reasons: bool = True, intake: dict | None = None) -> str:
    """A dossier through every printed step: supplement asked (Mẫu 02), apology (Mẫu 04), two
    hand-overs, resolved and returned, so the control slip (Mẫu 05) has eight rows."""
    code = receive(intake or worst_intake(procedure), vn_time(2026, 12, 7, 8))
    step(
        code,
        "handed_over",
        vn_time(2026, 12, 7, 8, 10),
        "letan",
        to_user_uuid=account("chuyenvien").uuid,
    )
    step(
        code,
        "supplement_requested",
        vn_time(2026, 12, 7, 8, 20),
        "chuyenvien",
        reason=SUPPLEMENT if reasons else "Bản sao Giấy khai sinh",
    )
    step(code, "supplement_received", vn_time(2026, 12, 7, 8, 40), "letan")
    step(
        code,
        "apology",
        vn_time(2026, 12, 7, 9),
        "lanhdao",
        reason=APOLOGY if reasons else "Cần xác minh thêm.",
        new_due_date=later_due_date(code),
    )
    step(
        code,
        "handed_over",
        vn_time(2026, 12, 7, 9, 30),
        "chuyenvien",
        to_user_uuid=account("lanhdao").uuid,
    )
    step(code, "resolved", vn_time(2026, 12, 7, 10), "lanhdao")
    step(code, "returned", vn_time(2026, 12, 8, 10), "letan")
    return code


def plain_intake(**overrides) -> dict:
    return intake_data(procedure_code="1.004873", **overrides)


LOGBOOK_ROWS_MAX = 42  # two a working day of November 2026


def build_ward(app) -> Ward:
    ward = Ward(url="")
    procedures = db.session.scalars(
        db.select(Procedure).where(Procedure.active).order_by(Procedure.code)
    ).all()
    longest = db.session.get(Procedure, LONGEST_NAME)
    assert longest is not None and len(longest.name) == max(len(p.name) for p in procedures)
    # Mẫu 01 and the writing desk's application list the documents: one dossier a procedure.
    for number, procedure in enumerate(procedures):
        ward.receipts[procedure.code] = receive(
            worst_intake(procedure), vn_time(2026, 12, 1, 8, number)
        )
    # An ordinary application written at the writing desk, for each procedure with its own form.
    for procedure in APPLICATION_FORMS:
        ward.dossiers[f"application {procedure}"] = receive(
            intake_data(procedure_code=procedure, writing_assist="1"), vn_time(2026, 12, 9, 9)
        )
    # An ordinary dossier, as tests/test_print.py has it, through every printed step.
    ordinary = db.session.get(Procedure, "1.004873")
    ward.dossiers["ordinary"] = long_history(
        ordinary,
        reasons=False,
        intake=intake_data(procedure_code=ordinary.code, writing_assist="1"),
    )
    ordinary_refused = receive(intake_data(procedure_code=ordinary.code), vn_time(2026, 12, 7, 9))
    step(
        ordinary_refused,
        "refused",
        vn_time(2026, 12, 7, 9, 30),
        "letan",
        reason="Người yêu cầu không cư trú tại phường.\nĐề nghị nộp tại nơi cư trú.",
    )
    ward.dossiers["ordinary refused"] = ordinary_refused
    # The usual control slip: received, handed over, resolved, returned.
    usual = receive(intake_data(procedure_code=ordinary.code), vn_time(2026, 12, 7, 9))
    step(
        usual,
        "handed_over",
        vn_time(2026, 12, 7, 10),
        "letan",
        to_user_uuid=account("chuyenvien").uuid,
    )
    step(usual, "resolved", vn_time(2026, 12, 8, 10), "chuyenvien")
    step(usual, "returned", vn_time(2026, 12, 9, 10), "letan")
    ward.dossiers["usual"] = usual
    ward.dossiers["history"] = long_history(longest)
    ward.dossiers["short history"] = long_history(longest, reasons=False)
    refused = receive(worst_intake(longest), vn_time(2026, 12, 7, 9))
    step(refused, "refused", vn_time(2026, 12, 7, 9, 30), "letan", reason=REFUSAL)
    ward.dossiers["refused"] = refused
    # Letters: a birth's and a marriage's congratulation, a death's condolence, with the longest
    # name; and an ordinary birth's.
    for kind, procedure in (
        ("birth", "1.001193"),
        ("marriage", "1.000894"),
        ("death", "1.000656"),
        ("ordinary birth", "1.001193"),
    ):
        intake = (
            intake_data()
            if kind.startswith("ordinary")
            else worst_intake(db.session.get(Procedure, procedure))
        )
        code = receive(intake, vn_time(2026, 12, 2, 9))
        step(code, "resolved", vn_time(2026, 12, 2, 10), "lanhdao")
        issue_letter(code, actor=account("lanhdao"), now=vn_time(2026, 12, 2, 11))
        ward.dossiers[kind] = code
    # The logbook: ordinary dossiers, two a working day in November 2026 (a span of days lists
    # twice as many rows as it has working days); the receipts above are the longest rows
    # (1 December).
    day, rows = dt.date(2026, 11, 2), 0
    while rows < LOGBOOK_ROWS_MAX:
        if day.weekday() < 5:
            for hour in (9, 14):
                rows += 1
                receive(
                    plain_intake(address=f"Số {rows} đường Hà Hoàng Hổ, khóm 3, phường Mỹ Bình"),
                    vn_time(day.year, day.month, day.day, hour),
                )
            ward.logbook[rows] = {"from": "2026-11-01", "to": day.isoformat()}
        day += dt.timedelta(days=1)
    busy_month()
    db.session.remove()
    return ward


BUSY_MONTH = 120  # dossiers of October 2026: the logbook of a busy ward's month


def busy_month() -> None:
    """:data:`BUSY_MONTH` realistic dossiers received in October 2026, as the generator's people
    (names, IDs, addresses of the ward's streets) bring them, over the catalogue's procedures,
    the common civil-status ones most: most handed over, resolved with their result's number
    and date, and returned (every column filled), the rest still being processed."""
    import random

    from wardapp.generator.people import address, person

    rng = random.Random(16)
    common = ["1.001193", "1.000656", "1.000894", "1.004873", "2.000815", "2.000884"]
    catalogue = db.session.scalars(db.select(Procedure.code).where(Procedure.active)).all()
    days = [
        dt.date(2026, 10, 1) + dt.timedelta(days=n)
        for n in range(31)
        if (dt.date(2026, 10, 1) + dt.timedelta(days=n)).weekday() < 5
    ]
    for number in range(BUSY_MONTH):
        day = days[number * len(days) // BUSY_MONTH]
        name, citizen_id = person(rng, day)
        procedure = rng.choice(common if rng.random() < 0.7 else catalogue)
        code = receive(
            intake_data(
                procedure_code=procedure,
                applicant_name=name,
                citizen_id=citizen_id,
                phone=f"09{rng.randint(10000000, 99999999)}",
                address=address(rng, "phuong", "phường Mỹ Bình"),
            ),
            vn_time(day.year, day.month, day.day, 8 + number % 8, number % 60),
        )
        if number % 6 == 5:
            continue
        at = vn_time(day.year, day.month, day.day, 16, 30)
        step(code, "handed_over", at, "letan", to_user_uuid=account("chuyenvien").uuid)
        resolved = at + dt.timedelta(days=2)
        step(
            code,
            "resolved",
            resolved,
            "chuyenvien",
            result_number=f"{number + 1}/{resolved.year}/QĐ-UBND",
            result_date=to_local(resolved).date().isoformat(),
        )
        step(code, "returned", resolved + dt.timedelta(days=1), "letan")


@pytest.fixture(scope="module")
def ward(tmp_path_factory):
    """A ward holding a dossier for every printout, served by waitress (CSRF on)."""
    app = make_ward(tmp_path_factory.mktemp("print-sheets"), CHAIRMAN_NAME=CHAIRMAN)
    with app.app_context():
        built = build_ward(app)
    with LiveServer(app) as url:
        built.url = url
        yield built


@pytest.fixture(scope="module")
def server(ward):
    """The URL the imported ``page`` fixture lets requests through to."""
    return ward.url


# --- Reading a PDF ------------------------------------------------------------------------------

OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)


def pdf_objects(pdf: bytes) -> dict[int, bytes]:
    return {int(n): body for n, body in OBJECT.findall(pdf)}


def stream(body: bytes) -> bytes:
    data = re.search(rb"stream\r?\n(.*)endstream", body, re.S).group(1)
    return zlib.decompress(data) if b"/FlateDecode" in body else data


def to_unicode(cmap: bytes) -> dict[int, str]:
    """A font's glyph → text map from its ToUnicode CMap (bfchar and bfrange)."""
    chars: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for glyph, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            chars[int(glyph, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for first, last, text in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            start = int(text, 16)
            for offset, glyph in enumerate(range(int(first, 16), int(last, 16) + 1)):
                chars[glyph] = chr(start + offset)
    return chars


@dataclass
class Sheet:
    width: float  # points
    height: float
    text: str  # the sheet's text in the order it is drawn, without spaces


def sheets(pdf: bytes) -> list[Sheet]:
    """The PDF's pages (``/Type /Page``, not ``/Pages``), their MediaBox and their text."""
    objects = pdf_objects(pdf)
    fonts: dict[int, dict[int, str]] = {}
    result = []
    for body in objects.values():
        if not re.search(rb"/Type\s*/Page\b(?!s)", body):
            continue
        x0, y0, x1, y1 = map(float, re.search(rb"/MediaBox\s*\[([^\]]*)\]", body).group(1).split())
        names = dict(re.findall(rb"/(F\d+)\s+(\d+)\s+0\s+R", body))
        maps = {}
        for name, ref in names.items():
            if int(ref) not in fonts:
                unicode = re.search(rb"/ToUnicode\s+(\d+)\s+0\s+R", objects[int(ref)])
                fonts[int(ref)] = (
                    to_unicode(stream(objects[int(unicode.group(1))])) if unicode else {}
                )
            maps[name] = fonts[int(ref)]
        contents = re.search(rb"/Contents\s+(\d+)\s+0\s+R", body)
        text, current = [], {}
        for font, glyphs in re.findall(
            rb"/(F\d+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]+)>\s*Tj", stream(objects[int(contents.group(1))])
        ):
            if font:
                current = maps.get(font, {})
            else:
                text.extend(
                    current.get(int(glyphs[i : i + 4], 16), "") for i in range(0, len(glyphs), 4)
                )
        result.append(Sheet(x1 - x0, y1 - y0, "".join("".join(text).split())))
    return result


def squeezed(text: str) -> str:
    return "".join(text.split())


# --- Printing -----------------------------------------------------------------------------------


def print_pdf(page, url: str) -> list[Sheet]:
    """Open ``url`` and print it as the desk's "In" button does (the CSS page size)."""
    response = page.goto(url)
    assert response.status == 200, url
    return sheets(page.pdf(prefer_css_page_size=True))


def assert_size(printed: list[Sheet], size: tuple[float, float], what: str) -> None:
    for number, sheet in enumerate(printed, 1):
        assert abs(sheet.width - size[0]) < 1.5 and abs(sheet.height - size[1]) < 1.5, (
            f"{what}: sheet {number} is {sheet.width:.1f} x {sheet.height:.1f} pt, "
            f"not {size[0]:.1f} x {size[1]:.1f}"
        )


def assert_one_a5_sheet(printed: list[Sheet], what: str, *texts: str) -> None:
    """One A5 portrait sheet, holding ``texts`` (the form's last lines: nothing was cut)."""
    assert len(printed) == 1, f"{what} prints on {len(printed)} A5 sheets, not one"
    assert_size(printed, A5, what)
    for text in texts:
        assert squeezed(text) in printed[0].text, f"{what}: {text!r} is not on the sheet"


def as_who(page, ward: Ward, username: str) -> None:
    login(page, ward.url, username)


# --- The forms ----------------------------------------------------------------------------------

ORDINARY_FORMS = [  # (printout, dossier, who prints it, text of its last lines)
    ("01", "ordinary", "letan", "dịch vụ bưu chính công ích."),
    ("02", "ordinary", "chuyenvien", "NGƯỜI HƯỚNG DẪN"),
    ("03", "ordinary refused", "letan", "NGƯỜI LẬP PHIẾU"),
    ("04", "ordinary", "lanhdao", "THỦ TRƯỞNG CƠ QUAN"),
    ("05", "usual", "letan", "Bộ phận TN&TKQ trả kết quả cho cá nhân, tổ chức"),
    ("letter", "ordinary birth", "chuyenvien", CHAIRMAN),
]


def form_url(ward: Ward, form: str, dossier: str) -> str:
    code = ward.dossiers[dossier]
    if form == "letter":
        return f"{ward.url}/dossiers/{code}/letter"
    return f"{ward.url}/dossiers/{code}/print/{form}"


@pytest.mark.parametrize("form, dossier, who, last", ORDINARY_FORMS)
def test_ordinary_dossiers_forms_are_one_a5_sheet_each(page, ward, form, dossier, who, last):
    """The everyday case: a marital-status certificate (as in tests/test_print.py) through
    every printed step; its control slip (Mẫu 05) the usual four steps (the next tests for
    more). At 11pt the receipt took two sheets (see print.css, "A5")."""
    as_who(page, ward, who)
    printed = print_pdf(page, form_url(ward, form, dossier))
    assert_one_a5_sheet(
        printed,
        f"{form} of an ordinary dossier",
        ward.dossiers[dossier] if form != "letter" else "Nguyễn Văn Đức",
        last,
    )


@pytest.mark.parametrize(
    "form, dossier, who, last",
    [
        ("02", "history", "chuyenvien", "NGƯỜI HƯỚNG DẪN"),
        ("03", "refused", "letan", "NGƯỜI LẬP PHIẾU"),
        ("04", "history", "lanhdao", "THỦ TRƯỞNG CƠ QUAN"),
        ("letter", "birth", "chuyenvien", "đón chào thành viên mới"),
        ("letter", "marriage", "chuyenvien", "trăm năm hạnh phúc"),
        ("letter", "death", "chuyenvien", "lời chia buồn sâu sắc nhất"),
    ],
)
def test_notices_and_letters_with_the_longest_values_are_one_a5_sheet(
    page, ward, form, dossier, who, last
):
    """Mẫu 02–04 of the procedure with the longest name, for the longest applicant, with long
    reasons (six items to supplement); the letters to the longest name."""
    as_who(page, ward, who)
    printed = print_pdf(page, form_url(ward, form, dossier))
    assert_one_a5_sheet(
        printed,
        f"{form} ({dossier})",
        last,
        CHAIRMAN if form == "letter" else ward.dossiers[dossier],
    )


def receipts_and_applications(page, ward: Ward):
    """Mẫu 01 and the writing desk's application for every procedure, each with all its
    documents, the longest name, address and postal return address: (what, sheets). The
    application is the procedure's own form on A4 where it has one, else the generic one on
    A5."""
    as_who(page, ward, "letan")
    for procedure, code in ward.receipts.items():
        for form, what in (("01", "Mẫu 01"), ("viet-ho", "the writing desk's application")):
            printed = print_pdf(page, f"{ward.url}/dossiers/{code}/print/{form}")
            own = form == "viet-ho" and procedure in APPLICATION_FORMS
            assert_size(printed, A4 if own else A5, f"{what} of {procedure}")
            yield f"{what} of {procedure}", printed


def test_longest_receipts_and_applications_keep_their_signatures_together(page, ward):
    """The signatures stay together on one sheet, with the receiving clerk's name."""
    for what, printed in receipts_and_applications(page, ward):
        assert len(printed) <= 2, f"{what} prints on {len(printed)} sheets"
        signed = [
            sheet
            for sheet in printed
            if squeezed("CÁN BỘ VIẾT HỘ" if "writing" in what else "NGƯỜI NỘP HỒ SƠ") in sheet.text
        ]
        assert len(signed) == 1 and squeezed("Trần Thị Ngọc Hân") in signed[0].text, what


def test_longest_receipts_and_applications_are_one_sheet(page, ward):
    """Mẫu 01 with a 200-character name, a 300-character address and postal return address
    (the same one, printed "như địa chỉ trên") and every document of its procedure fits one A5
    sheet, at 10pt, with its rating code: at 9.5pt with the QR code on its own row it took
    197–242mm of the 194mm a sheet had (print.css, "A5"). So does the writing desk's
    application, on A5 or (the procedure's own form) A4."""
    overflowing = [
        f"{what}: {len(printed)} sheets"
        for what, printed in receipts_and_applications(page, ward)
        if len(printed) != 1
    ]
    assert overflowing == []


@pytest.mark.parametrize("procedure", sorted(APPLICATION_FORMS))
def test_own_application_forms_are_one_a4_sheet_prefilled(page, ward, procedure):
    """The procedure's own application form (tờ khai), A4 portrait as the real one, prefilled
    with the applicant's name: the longest (200 characters, a 300-character address) and an
    ordinary one, on one sheet with the citizen's signature and the writing desk's note."""
    as_who(page, ward, "letan")
    printed = print_pdf(page, f"{ward.url}/dossiers/{ward.receipts[procedure]}/print/viet-ho")
    assert len(printed) == 1, f"the application of {procedure} prints on {len(printed)} sheets"
    assert_size(printed, A4, f"the application of {procedure}")
    for text in (NAME, ADDRESS[:120], "CÁN BỘ VIẾT HỘ", "Công dân đọc lại và ký xác nhận."):
        assert squeezed(text) in printed[0].text, (procedure, text)
    code = ward.dossiers[f"application {procedure}"]
    printed = print_pdf(page, f"{ward.url}/dossiers/{code}/print/viet-ho")
    assert len(printed) == 1 and squeezed("Nguyễn Văn Đức") in printed[0].text


def test_control_slip_continues_with_its_column_heads(page, ward):
    """Mẫu 05 grows with the dossier's steps (four usually: one sheet, above): every printed
    step (eight) takes a second A5 sheet, long notes more, each sheet with the table's column
    heads (``thead`` repeats) and every step once."""
    as_who(page, ward, "letan")
    for dossier, at_least in (("ordinary", 2), ("short history", 2), ("history", 3)):
        printed = print_pdf(page, form_url(ward, "05", dossier))
        assert len(printed) >= at_least, (dossier, len(printed))
        assert_size(printed, A5, f"Mẫu 05 ({dossier})")
        for number, sheet in enumerate(printed, 1):
            assert squeezed("Thời gian giao, nhận hồ sơ") in sheet.text, (
                f"Mẫu 05 ({dossier}): sheet {number} has no column heads"
            )
        assert sum(sheet.text.count(squeezed("Người giao")) for sheet in printed) == 8, dossier


# --- The logbook (Mẫu 06) -------------------------------------------------------------------------

HEADS = "Chuyển hồ sơ đến cơ quan giải quyết"


def logbook(page, ward: Ward, rows: int) -> list[Sheet]:
    span = ward.logbook[rows]
    printed = print_pdf(page, f"{ward.url}/logbook?from={span['from']}&to={span['to']}")
    assert_size(printed, A4_LANDSCAPE, f"the logbook of {rows} rows")
    assert "30280-2611" in printed[-1].text, f"the total of {rows} rows is alone on its sheet"
    return printed


def test_logbook_sheets_grow_with_its_rows_and_repeat_the_heads(page, ward):
    """Mẫu 06 on A4 landscape: a sheet holds the first rows, each further sheet as many again
    (less the title); the column heads are on every sheet, the total on the last."""
    as_who(page, ward, "letan")
    counts = {rows: len(logbook(page, ward, rows)) for rows in ward.logbook}
    assert counts[2] == 1
    assert list(counts.values()) == sorted(counts.values()), counts  # never fewer with more rows
    first = max(rows for rows, count in counts.items() if count == 1)
    assert 10 <= first < LOGBOOK_ROWS_MAX, counts  # a sheet holds ordinary rows, but not all
    assert counts[first + 2] == 2, counts  # a day's rows more start the second sheet
    # the second sheet has no title, so it holds at least as many rows as the first
    assert counts[min(2 * first, LOGBOOK_ROWS_MAX)] == 2, counts

    printed = logbook(page, ward, LOGBOOK_ROWS_MAX)
    print("logbook sheets by rows:", counts)
    assert len(printed) == counts[LOGBOOK_ROWS_MAX] <= math.ceil(LOGBOOK_ROWS_MAX / first)
    for number, sheet in enumerate(printed, 1):
        assert squeezed(HEADS) in sheet.text, f"the logbook's sheet {number} has no column heads"
    assert squeezed("SỔ THEO DÕI HỒ SƠ") in printed[0].text  # the title, upper case by CSS
    assert squeezed(f"Tổng số: {LOGBOOK_ROWS_MAX} hồ sơ.") in printed[-1].text
    # every dossier of November once: no row lost, none printed twice
    assert "".join(sheet.text for sheet in printed).count("30280-2611") == LOGBOOK_ROWS_MAX


def test_logbook_of_worst_case_rows_is_a4_landscape_with_heads_on_every_sheet(page, ward):
    """The receipts' dossiers (the longest names and addresses) make tall rows: still A4
    landscape, every sheet with the column heads, every dossier on it."""
    as_who(page, ward, "letan")
    printed = print_pdf(page, f"{ward.url}/logbook?from=2026-12-01&to=2026-12-01")
    assert_size(printed, A4_LANDSCAPE, "the logbook of the longest rows")
    assert len(printed) >= 2
    print("logbook of the longest rows:", len(ward.receipts), "rows,", len(printed), "sheets")
    for number, sheet in enumerate(printed, 1):
        assert squeezed(HEADS) in sheet.text, f"sheet {number} has no column heads"
    texts = "".join(sheet.text for sheet in printed)
    for code in ward.receipts.values():
        assert texts.count(code) == 1, code


def test_logbook_of_a_busy_month_is_compact(page, ward):
    """A busy ward's month, 120 realistic dossiers (every column of the form filled for most,
    the result's number too; a quarter of them certifications with the catalogue's longest
    names), prints on at most 7 A4-landscape sheets, at most 6 per 100 dossiers. Measured: 7
    sheets, 5.8 per 100 (before the fixed column widths: 18 sheets, 15 per 100, a row's dates,
    agency and address wrapping over three and four lines)."""
    as_who(page, ward, "letan")
    printed = print_pdf(page, f"{ward.url}/logbook?from=2026-10-01&to=2026-10-31")
    assert_size(printed, A4_LANDSCAPE, "the logbook of a busy month")
    print("logbook of a busy month:", BUSY_MONTH, "rows,", len(printed), "sheets")
    assert len(printed) <= 7
    assert squeezed(f"Tổng số: {BUSY_MONTH} hồ sơ.") in printed[-1].text
    for number, sheet in enumerate(printed, 1):
        assert squeezed(HEADS) in sheet.text, f"sheet {number} has no column heads"
