"""Search that respects what was typed: diacritics ranked, numbers exact (issue 16).

"ngọc hân" used to list Ngọc Hằng and Ngọc Hạnh beside (and above) Ngọc Hân; a receptionist who
typed the marks meant those letters. A query typed without marks still finds every spelling.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from kernel.columns import utcnow
from wardapp.dossiers.queries import search_dossiers
from wardapp.dossiers.service import receive_dossier

from .conftest import account, intake_data

HX = {"HX-Request": "true"}

# Received in this order, so that without ranking the newest (the wrong ones) came first.
PEOPLE = [
    ("Trần Thị Ngọc Hân", "089195001201", "0911000001"),
    ("Lê Thị Ngọc Hằng", "089195001202", "0911000002"),
    ("Phạm Thị Ngọc Hạnh", "089195001203", "0911000003"),
    ("Võ Ngọc Hanh", "089095001204", "0911000004"),
    ("Nguyễn Hân Nhi", "089195001205", "0911000005"),
]


@pytest.fixture
def people(app):
    codes = {}
    start = utcnow() - dt.timedelta(minutes=len(PEOPLE))
    for minute, (name, citizen_id, phone) in enumerate(PEOPLE):
        dossier, _ = receive_dossier(
            intake_data(applicant_name=name, citizen_id=citizen_id, phone=phone),
            actor=account("letan"),
            now=start + dt.timedelta(minutes=minute),
        )
        codes[name] = dossier.code
    return codes


def names(query: str) -> list[str]:
    return [d.applicant_name for d in search_dossiers(query)]


def test_letters_typed_with_marks_rank_first(people):
    found = names("ngọc hân")
    assert found[0] == "Trần Thị Ngọc Hân"
    # The folded matches are still there, below the exact one.
    assert set(found) == {
        "Trần Thị Ngọc Hân",
        "Lê Thị Ngọc Hằng",
        "Phạm Thị Ngọc Hạnh",
        "Võ Ngọc Hanh",
    }


def test_whole_words_rank_above_prefixes(people):
    found = names("hân")
    assert found[:2] == ["Nguyễn Hân Nhi", "Trần Thị Ngọc Hân"]  # both whole words, newest first
    assert found.index("Trần Thị Ngọc Hân") < found.index("Lê Thị Ngọc Hằng")
    # Typed without marks, the word matches every spelling, whole words above prefixes.
    plain = names("hanh")
    assert plain[:2] == ["Võ Ngọc Hanh", "Phạm Thị Ngọc Hạnh"]
    assert set(names("ngoc han")) == set(names("ngọc hân"))


def test_numbers_match_exactly(people):
    assert names("089195001202") == ["Lê Thị Ngọc Hằng"]
    assert names("0911 000 003") == ["Phạm Thị Ngọc Hạnh"]
    assert names("0911.000.004") == ["Võ Ngọc Hanh"]
    assert names("0911") == []  # a prefix of a phone is not that phone
    assert names("08919500120") == []
    code = people["Nguyễn Hân Nhi"]
    assert names(code) == ["Nguyễn Hân Nhi"]
    assert names(code[:-1]) == []


def test_the_search_page_shows_the_ranked_list(client, auth, people):
    auth.login()
    page = client.get("/search", query_string={"q": "Ngọc Hân"}).text
    applicants = re.findall(r"<td><a [^>]*>[^<]*</a></td>\s*<td>([^<]*)</td>", page)
    assert applicants[0] == "Trần Thị Ngọc Hân"
    assert set(applicants) == set(names("ngoc han"))
