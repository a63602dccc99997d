"""Password hashing with Argon2id and the password rules (OWASP ASVS 6.2).

argon2-cffi's defaults follow RFC 9106's second recommendation (t=3, m=64 MiB, p=4), above
OWASP's floor; ``needs_rehash`` lets sign-in upgrade old hashes when parameters change.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

from alerts.errors import N_

MIN_LENGTH = 12
MAX_LENGTH = 128
# A short list of the passwords attackers try first; longer lists belong in a data file.
COMMON = frozenset(
    """password password1 password123 123456789012 1234567890ab qwertyuiop12 qwerty123456
    abc123456789 iloveyou1234 admin1234567 administrator matkhau12345 matkhau123456
    congan123456 congan2025!! canhbao12345 vietnam12345 anhyeuem1234 111111111111
    000000000000 123123123123 passw0rd1234 letmein12345 welcome12345""".split()
)

_hasher = PasswordHasher()
# A fixed hash to verify against when the username is unknown, so that the time taken
# does not tell an attacker which usernames exist.
_DUMMY_HASH = _hasher.hash("dummy password for timing")


def hash_password(password: str) -> str:
    """Return an Argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Return whether the password matches the hash (None: spend the same time, fail)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Return whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def password_problem(password: str, username: str = "") -> str | None:
    """Return why a new password is refused (in English, for translation), or None."""
    if len(password) < MIN_LENGTH:
        return N_("Use at least 12 characters.")
    if len(password) > MAX_LENGTH:
        return N_("Use at most 128 characters.")
    lowered = password.lower()
    if lowered in COMMON or (username and username.lower() in lowered):
        return N_("This password is too easy to guess.")
    return None
