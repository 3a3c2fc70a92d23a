"""Vietnamese text normalisation: NFC at the boundary, and a fold for diacritic-blind search."""

import re
import unicodedata

_WORD = re.compile(r"\w+")


def nfc(value: str | None) -> str:
    """Normalise input to NFC and trim it, because Vietnamese IMEs may send decomposed marks."""
    if value is None:
        return ""
    return unicodedata.normalize("NFC", value).strip()


def has_control_characters(value: str, allowed: str = "\n\t") -> bool:
    """Whether ``value`` holds a control character other than ``allowed`` (a NUL, which
    PostgreSQL refuses to store, a bell, an escape): nothing a person types in a form."""
    return any((ord(c) < 32 or 127 <= ord(c) < 160) and c not in allowed for c in value)


def fold(value: str) -> str:
    """Fold text for search: strip every tone and vowel mark, map đ/Đ to d, and casefold.

    FTS5's ``remove_diacritics 2`` folds tone marks but not đ (a letter of its own, not d plus a
    mark), so search keeps a Python-folded column and folds the query the same way.
    """
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D").casefold()


def words(value: str) -> list[str]:
    """The words of ``value`` as typed, diacritics kept: NFC and casefolded ("Hân" -> "hân")."""
    return _WORD.findall(nfc(value).casefold())


def search_terms(query: str) -> list[str]:
    """Split a folded query into the word tokens the FTS index holds."""
    return _WORD.findall(fold(query))
