"""Rating codes: what a citizen types at the kiosk to rate their dossier.

Dossier codes are sequential (``<agency>-<yyMMdd>-<NNNN>``), so anyone could rate anyone's dossier
by counting; the kiosk therefore takes a code printed only on the citizen's receipt (Mẫu 01):
8 random characters and a check character, 9 in all (about 40 bits, drawn by :mod:`secrets`).

The alphabet leaves out the characters a reader confuses (O and 0, I, L and 1) and has 31
symbols, a prime: the check character makes the weighted sum
``1·c1 + 2·c2 + … + 9·c9`` zero modulo 31, which catches every single mistyped character and
every swap of two characters (a weight or a difference of weights is never a multiple of 31),
so the kiosk can tell a typing slip from a code that does not exist.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MODULUS = len(ALPHABET)  # 31, prime
RANDOM_LENGTH = 8
LENGTH = RANDOM_LENGTH + 1
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_INVERSE_OF_LAST_WEIGHT = pow(LENGTH, -1, MODULUS)
# What a citizen may type between the groups of a printed code.
_SEPARATORS = re.compile(r"[\s\-.]")


def check_character(body: str) -> str:
    """The character that completes ``body`` (the 8 random ones) to a valid code."""
    partial = sum(weight * _VALUE[c] for weight, c in enumerate(body, start=1))
    return ALPHABET[(-partial * _INVERSE_OF_LAST_WEIGHT) % MODULUS]


def unused_rating_code(taken: Callable[[str], bool]) -> str:
    """A new random code that ``taken`` says no dossier of this ward holds yet."""
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
        code = body + check_character(body)
        if not taken(code):
            return code


def normalised(raw: str) -> str:
    """A typed code in its stored form: capitals, without the blanks and dashes between groups."""
    return _SEPARATORS.sub("", raw).upper()


def well_formed(code: str) -> bool:
    """Whether a normalised code could have been issued (length, alphabet, check character)."""
    return (
        len(code) == LENGTH
        and all(c in _VALUE for c in code)
        and check_character(code[:-1]) == code[-1]
    )


def grouped(code: str) -> str:
    """A code as printed: three groups of three, easy to read out and type."""
    return "-".join(code[i : i + 3] for i in range(0, len(code), 3))
