"""Folding Vietnamese for search: tone marks and đ/Đ vanish, nothing else changes."""

from hypothesis import given
from hypothesis import strategies as st

from kernel.text import fold, nfc, search_terms


def test_fold_vietnamese():
    assert fold("Nguyễn Văn Đức") == "nguyen van duc"
    assert fold("ĐẶNG QUỐC VIỆT") == "dang quoc viet"
    assert fold("Số 12/3 đường Lê Lợi") == "so 12/3 duong le loi"
    assert fold("Ưng Hoàng Phúc") == "ung hoang phuc"


def test_nfc_joins_decomposed_input_and_trims():
    decomposed = "Nguye\u0302\u0303n"
    assert nfc(f"  {decomposed} ") == "Nguyễn"
    assert nfc(None) == ""


def test_search_terms():
    assert search_terms("30280-201015-0001") == ["30280", "201015", "0001"]
    assert search_terms("  Trần   thị ") == ["tran", "thi"]
    assert search_terms('" OR 1=1 --') == ["or", "1", "1"]


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(
    st.text(
        alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
        " ĐĂÂÊÔƠƯ"
    )
)
def test_fold_of_vietnamese_is_ascii(text):
    assert fold(text).isascii()
