"""Who a token is and what it may do: the caller's label that records keep, the staff-admin
rule, the hashes a revocation names, and a process's deny set winning over its cache and over
a copy read at the same moment."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from contracts.events import Person
from services.runtime.auth import BOOTSTRAP_STAFF, Caller, TokenDirectory, hash_token
from services.runtime.errors import Forbidden
from services.runtime.token_events import revoked_digests
from tests.support import events

ALICE = Person(name="Alice Moreau", email="alice.moreau@example.org")
PROJECT = uuid.UUID(int=7)


def test_records_name_the_person_of_a_named_staff_token() -> None:
    assert Caller(staff=True, person=ALICE).label == "Alice Moreau <alice.moreau@example.org>"
    assert BOOTSTRAP_STAFF.label == "staff"
    assert Caller(staff=False, project_id=PROJECT).label == f"project:{PROJECT}"


def test_only_bootstrap_and_admin_staff_tokens_manage_staff_tokens() -> None:
    BOOTSTRAP_STAFF.require_staff_admin()
    Caller(staff=True, person=ALICE, admin=True).require_staff_admin()
    for caller in (Caller(staff=True, person=ALICE), Caller(staff=False, project_id=PROJECT)):
        with pytest.raises(Forbidden):
            caller.require_staff_admin()
    with pytest.raises(Forbidden, match="programme-staff"):
        Caller(staff=False, project_id=PROJECT, admin=True).require_staff_admin()


def test_a_revocation_names_the_replaced_or_revoked_hash_and_nothing_else() -> None:
    values = [
        events.project_token_rotated(PROJECT, token="cmap_new", previous="cmap_old"),
        events.staff_token_revoked(uuid.uuid4(), token="cmas_gone"),
        events.staff_token_issued(uuid.uuid4(), token="cmas_new"),
        events.project_registered(PROJECT, token="cmap_old"),
    ]
    raw = [e.model_dump_json().encode() for e in values]
    malformed = b'{"type": "staff_token.revoked"}'
    assert revoked_digests([*raw, malformed]) == [hash_token("cmap_old"), hash_token("cmas_gone")]


class Copy:
    """A service's copy of the tokens as a dict; `during_read` runs while it is read, as a
    revocation heard meanwhile would."""

    def __init__(self, tokens: dict[str, Caller]) -> None:
        self.tokens, self.reads = tokens, 0
        self.during_read: Callable[[], None] = lambda: None

    async def read(self, digest: str) -> Caller | None:
        self.reads += 1
        self.during_read()
        return self.tokens.get(digest)


async def test_a_revoked_token_is_refused_though_cached_and_though_the_copy_still_has_it() -> None:
    project = Caller(staff=False, project_id=PROJECT)
    copy = Copy({"old": project})
    directory = TokenDirectory(copy.read)
    assert await directory.find("old") == project
    assert await directory.find("old") == project and copy.reads == 1  # cached
    directory.revoke(["old"])
    assert await directory.find("old") is None  # the copy has not heard yet: refused anyway


async def test_a_revocation_heard_while_the_copy_is_read_wins() -> None:
    copy = Copy({"old": Caller(staff=False, project_id=PROJECT)})
    directory = TokenDirectory(copy.read)
    copy.during_read = lambda: directory.revoke(["old"])
    assert await directory.find("old") is None
    copy.during_read = lambda: None
    assert await directory.find("old") is None and copy.reads == 1


async def test_the_deny_set_keeps_the_newest_revocations() -> None:
    directory = TokenDirectory(Copy({}).read, revoked_kept=2)
    directory.revoke(["a", "b", "c"])
    assert directory.revoked == ("b", "c")
