"""Live inbox: content-free "inbox" events to exactly the agency's counselors, after commit."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from tests.conftest import make_staff, make_user
from tests.test_realtime import connect
from wegweiser.accounts.models import User
from wegweiser.counseling import actions
from wegweiser.counseling.access import agency_counselor_public_ids
from wegweiser.organizations.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


async def listening(user: User) -> Any:
    socket = await connect(user)
    assert (await socket.connect())[0]
    return socket


async def test_a_new_enquiry_reaches_only_the_agencys_counselors(
        tree: SimpleNamespace, counseling: SimpleNamespace, mia: User, jonas: User, ayse: User, lars: User,
        otto: User) -> None:
    # Roles through an ancestor count; a counselor of the sister agency does not get it.
    regional = await database_sync_to_async(make_staff)("rita", [(tree.region, Role.COUNSELOR)])
    sister = await database_sync_to_async(make_staff)("sven", [(counseling.agency_b.node, Role.COUNSELOR)])
    no_totp = await database_sync_to_async(make_staff)("nina", [(counseling.agency_a.node, Role.COUNSELOR)],
                                                       mfa=False)
    ben = await database_sync_to_async(make_user)("ben", User.Kind.CLIENT)
    told = [await listening(u) for u in (jonas, ayse, regional)]
    untold = [await listening(u) for u in (lars, otto, mia, sister, no_totp)]

    await database_sync_to_async(actions.enquiry_create)(
        client=ben, agency=counseling.agency_a, topic=counseling.topic, body="Hilfe bitte")
    for socket in told:
        assert await socket.receive_json_from(timeout=3) == {"type": "inbox"}  # nothing more
        assert await socket.receive_nothing(timeout=0.1)
    for socket in untold:
        assert await socket.receive_nothing(timeout=0.2)
    for socket in told + untold:
        await socket.disconnect()


async def test_accepting_tells_the_colleagues_and_a_rollback_tells_nobody(
        counseling: SimpleNamespace, jonas: User, ayse: User) -> None:
    ben = await database_sync_to_async(make_user)("ben", User.Kind.CLIENT)
    enquiry = await database_sync_to_async(actions.enquiry_create)(
        client=ben, agency=counseling.agency_a, topic=counseling.topic, body="Hilfe bitte")
    ayse_socket = await listening(ayse)

    def accept_then_roll_back() -> None:
        try:
            with transaction.atomic():
                actions.enquiry_accept(actor=jonas, conversation=enquiry)
                raise RuntimeError
        except RuntimeError:
            pass

    await database_sync_to_async(accept_then_roll_back)()
    assert await ayse_socket.receive_nothing(timeout=0.3)
    await database_sync_to_async(actions.enquiry_accept)(actor=jonas, conversation=enquiry)
    assert await ayse_socket.receive_json_from(timeout=3) == {"type": "inbox"}
    await ayse_socket.disconnect()


def test_counselors_of_an_agency(counseling: SimpleNamespace, jonas: User, ayse: User, kai: User,
                                 lars: User) -> None:
    assert set(agency_counselor_public_ids(counseling.agency_a)) == {jonas.public_id, ayse.public_id}
    assert agency_counselor_public_ids(counseling.agency_b) == []  # kai administrates, not counsels
    jonas.is_active = False
    jonas.save()
    assert agency_counselor_public_ids(counseling.agency_a) == [ayse.public_id]
