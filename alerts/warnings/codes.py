"""Verification codes: short, unguessable, easy to read aloud and to type.

The alphabet leaves out 0/O and 1/I so a code read over the phone or copied from an SMS
cannot be mistyped into another valid one. Eight characters from 32 give 2^40 codes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 8
_LOOKALIKES = str.maketrans({"0": "O", "1": "I"})


def new_code(taken: Callable[[str], bool]) -> str:
    """Return a fresh code that ``taken`` does not already know."""
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if not taken(code):
            return code


def display(code: str) -> str:
    """Return a code as shown to people: two groups of four ("K7M4-XQ2P")."""
    return f"{code[:4]}-{code[4:]}"


def normalise(text: str) -> str | None:
    """Return the code inside what a person typed ("k7m4 xq2p"), or None if it is not one.

    0 and 1 are read as O and I, which are not in the alphabet: a code with them is refused
    rather than silently turned into another warning's code.
    """
    letters = re.sub(r"[\s-]", "", text).upper().translate(_LOOKALIKES)
    if len(letters) == LENGTH and all(ch in ALPHABET for ch in letters):
        return letters
    return None
