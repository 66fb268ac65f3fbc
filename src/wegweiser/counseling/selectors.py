"""Read-only queries for counseling: the agency finder, inbox lists, statistics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext as _

from wegweiser.counseling.models import Agency, Conversation, ConversationState, Message, Topic

_POSTCODE = re.compile(r"^\d{5}$")


def normalize_postcode(value: str) -> str:
    """German "24103" and Swedish "231 42" (or "23142") → five digits; anything else is refused."""
    compact = re.sub(r"[\s-]", "", value or "")
    if not _POSTCODE.match(compact):
        raise ValidationError(_("Please enter a postcode of five digits (for example 24103 or 231 42)."),
                              code="postcode")
    return compact


def active_topics() -> QuerySet[Topic]:
    return Topic.objects.filter(is_active=True, organization__is_active=True).select_related("organization")


@dataclass
class FinderResult:
    agencies: list[Agency]
    fallback: bool


def find_agencies(*, topic: Topic, postcode: str = "", age: int | None = None) -> FinderResult:
    """Agencies below the topic's organization that offer it, cover the postcode and accept the
    age; the topic's fallback agency when none does. Raises ValidationError for bad input."""
    if postcode:
        postcode = normalize_postcode(postcode)
    elif topic.postcode_required:
        raise ValidationError(_("This topic needs your postcode to find an agency near you."),
                              code="postcode")
    if age is not None and not 0 <= age <= 130:
        raise ValidationError(_("Please enter an age between 0 and 130."), code="age")
    if topic.min_age and (age is None or age < topic.min_age):
        if age is None:
            raise ValidationError(_("This topic needs your age."), code="age")
        raise ValidationError(
            _("This topic is for people aged %(age)s and older.") % {"age": topic.min_age}, code="age"
        )
    qs = (
        Agency.objects.filter(topics=topic, node__is_active=True,
                              node__path__startswith=topic.organization.path)
        .select_related("node").prefetch_related("topics").order_by("offline", "node__name")
    )
    if age is not None:
        qs = qs.filter(min_age__lte=age)
    if postcode:
        qs = qs.filter(postcode_ranges__start__lte=postcode, postcode_ranges__end__gte=postcode)
    agencies = list(qs.distinct())
    if agencies:
        return FinderResult(agencies, fallback=False)
    fallback = topic.fallback_agency
    if fallback is not None and fallback.node.is_active:
        return FinderResult([fallback], fallback=True)
    return FinderResult([], fallback=False)


def agency_offers(agency: Agency, topic: Topic) -> bool:
    if not agency.node.is_active or not topic.is_active:
        return False
    if topic.fallback_agency_id == agency.pk:
        return True
    return agency.node.path.startswith(topic.organization.path) and agency.topics.filter(pk=topic.pk).exists()


def with_unread(qs: QuerySet[Conversation], user: Any) -> QuerySet[Conversation]:
    """Annotate ``unread`` (messages by others after my read marker) and ``archived``."""
    state = ConversationState.objects.filter(conversation=OuterRef("pk"), user=user)
    marker = Coalesce(Subquery(state.values("last_read_seq")[:1]), Value(0))
    unread = (
        Message.objects.filter(conversation=OuterRef("pk"), seq__gt=OuterRef("read_marker"))
        .exclude(sender=user)
        .order_by().values("conversation").annotate(n=Count("pk")).values("n")
    )
    return qs.annotate(
        read_marker=marker,
        unread=Coalesce(Subquery(unread[:1], output_field=IntegerField()), Value(0)),
        is_archived=Exists(state.filter(archived=True)),
    )


def inbox(user: Any, *, tab: str, query: str = "") -> QuerySet[Conversation]:
    """A counselor's lists: ``enquiries`` (open, oldest first), ``mine``, ``team``, ``archived``
    (last message first). Each is ordered by one timestamp and the primary key, the shape that
    ``core.pagination.keyset_page`` pages through; ``query`` searches client usernames."""
    from wegweiser.counseling.access import counsel_agency_ids

    agencies = counsel_agency_ids(user)
    conversations = Conversation.objects.select_related("client", "topic", "agency__node", "counselor")
    if query:
        conversations = conversations.filter(client_search(query))
    if tab == "enquiries":
        qs = conversations.filter(agency__in=agencies, status=Conversation.Status.OPEN) \
            .order_by("created_at", "pk")
    else:
        archived = ConversationState.objects.filter(conversation=OuterRef("pk"), user=user, archived=True)
        if tab == "mine":
            qs = conversations.filter(agency__in=agencies, counselor=user).exclude(Exists(archived))
        elif tab == "team":
            # team IN (true), not team=True: Django writes the latter as a bare "WHERE team", which
            # SQLite cannot match to the (agency, team, last_message_at) index; it then sorts
            # every conversation of the agency instead of walking the index in order.
            qs = conversations.filter(agency__in=agencies, team__in=[True],
                                      status__in=[Conversation.Status.ACTIVE, Conversation.Status.CLOSED]) \
                .exclude(counselor=user).exclude(Exists(archived))
        else:
            # From this user's archive flags, index (user, archived, conversation), to the
            # conversations, rather than past every conversation of the agencies. archived IN
            # (true), not archived=True: see team above.
            flags = ConversationState.objects.filter(user=user, archived__in=[True],
                                                     conversation__agency__in=agencies)
            qs = conversations.filter(pk__in=flags.values("conversation_id")) \
                .filter(Q(counselor=user) | Q(team=True))
        qs = qs.order_by("-last_message_at", "-pk")
    return with_unread(qs, user)


SEARCH_IDS_MAX = 500


def client_search(query: str) -> Q:
    """A filter on conversations: the client's username contains ``query`` (any case).

    Matching users first, then their conversations, rather than joining the user table and
    testing the name on every conversation row. When few users match, their primary keys go into
    the query as a list, so that the planner knows how few (PostgreSQL cannot know from a pattern;
    for a name nobody has it walked every conversation). When many match, a subquery, tested on
    each row while the list is walked in its order, which soon fills a page. It is written
    NOT (NOT ...) on purpose: PostgreSQL then keeps it as a hashed filter, where it would otherwise
    turn it into a join and, guessing that a long pattern matches one user, start from the users
    (half a second for 10,000 of them). SQLite plans both forms alike."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(username__icontains=query[:150]).order_by() \
        .values_list("pk", flat=True)
    found = list(users[:SEARCH_IDS_MAX + 1])
    if len(found) <= SEARCH_IDS_MAX:
        return Q(client__in=found)
    return ~Q(~Q(client__in=users))


def client_conversations(user: Any) -> QuerySet[Conversation]:
    """A client's own conversations, last message first (keyset-paginated like the inbox)."""
    qs = Conversation.objects.filter(client=user).select_related("topic", "agency__node")
    return with_unread(qs.order_by("-last_message_at", "-pk"), user)


@dataclass
class StatRow:
    topic: str
    month: Any
    enquiries: int
    accepted: int
    closed: int
    median_first_answer_hours: float | None


SUPPRESS_BELOW = 5


def statistics(agency: Agency, *, months: int = 12) -> list[StatRow]:
    """Counts per topic and month for agency leads. No names; small cells are masked in the
    template ("<5") and a median over fewer than five answers is not shown."""
    from collections import defaultdict
    from datetime import timedelta
    from statistics import median

    from django.db.models.functions import TruncMonth
    from django.utils import timezone

    since = (timezone.now() - timedelta(days=31 * months)).replace(day=1, hour=0, minute=0, second=0,
                                                                  microsecond=0)
    base = Conversation.objects.filter(agency=agency).exclude(loadtest=True)
    table: dict[tuple[str, Any], dict[str, Any]] = defaultdict(lambda: {"enquiries": 0, "accepted": 0,
                                                                        "closed": 0, "waits": []})
    for field, key in (("created_at", "enquiries"), ("accepted_at", "accepted"), ("closed_at", "closed")):
        rows = (base.filter(**{f"{field}__gte": since}).annotate(month=TruncMonth(field))
                .values("topic__name", "month").annotate(n=Count("pk")).order_by())
        for row in rows:
            table[(row["topic__name"], row["month"])][key] = row["n"]
    answered = base.filter(created_at__gte=since, first_answer_at__isnull=False) \
        .annotate(month=TruncMonth("created_at")).values_list("topic__name", "month", "created_at",
                                                             "first_answer_at")
    for topic, month, created, answered_at in answered:
        if answered_at is not None:
            table[(topic, month)]["waits"].append((answered_at - created).total_seconds() / 3600)
    result = []
    for (topic, month), cell in table.items():
        waits = cell["waits"]
        result.append(StatRow(topic, month, cell["enquiries"], cell["accepted"], cell["closed"],
                              round(median(waits), 1) if len(waits) >= SUPPRESS_BELOW else None))
    result.sort(key=lambda r: (r.month, r.topic), reverse=True)
    return result


def team_key_state(user: Any, agency: Any) -> dict[str, Any]:
    """For one counselor and agency: the agency's team keys with the grant sealed to the user's
    current identity key, colleagues lacking a key (to share it with them), and whether the
    current key must be replaced because someone who held it left the team or replaced their
    identity key (see docs/e2e-protocol.md §3)."""
    from wegweiser.counseling.models import TeamKey, TeamKeyGrant

    members = team_members(agency)
    public_ids = dict(get_user_model().objects.filter(pk__in=members).values_list("pk", "public_id"))
    keys = list(TeamKey.objects.filter(agency=agency).order_by("created_at", "pk"))
    grants = list(TeamKeyGrant.objects.filter(team_key__agency=agency)
                  .values_list("team_key_id", "user_id", "recipient", "sealed"))
    fresh = {(key_pk, user_pk) for key_pk, user_pk, recipient, _ in grants
             if members.get(user_pk) == recipient}
    mine = {key_pk: sealed for key_pk, user_pk, recipient, sealed in grants
            if user_pk == user.pk and members.get(user_pk) == recipient}
    current = next((k for k in keys if k.retired_at is None), None)
    rotate = current is not None and any(key_pk == current.pk and members.get(user_pk) != recipient
                                         for key_pk, user_pk, recipient, _ in grants)
    missing = []
    for pk, public in members.items():
        lacking = [k.key_id for k in keys if (k.pk, pk) not in fresh]
        if lacking and pk != user.pk:
            missing.append({"user": str(public_ids[pk]), "public": public, "kids": lacking})
    return {
        "agency": str(agency.node.public_id),
        "name": agency.node.name,
        "current": {"kid": current.key_id, "public": current.public} if current else None,
        "keys": [{"kid": k.key_id, "public": k.public, "current": k is current, "sealed": mine.get(k.pk)}
                 for k in keys],
        "members": [{"user": str(public_ids[pk]), "public": public} for pk, public in members.items()],
        "missing": missing,
        "rotate": rotate,
        "url": reverse("counseling:keys_team", kwargs={"agency_id": agency.node.public_id}),
    }


def team_members(agency: Any) -> dict[Any, str]:
    """Counselors of the agency who have an identity key: user pk → identity public key."""
    from wegweiser.counseling.access import agency_counselor_public_ids
    from wegweiser.counseling.models import IdentityKey

    ids = agency_counselor_public_ids(agency)
    return dict(IdentityKey.objects.filter(user__public_id__in=ids).values_list("user_id", "public"))


def conversation_keys(user: Any, conversation: Conversation) -> dict[str, Any] | None:
    """What the browser needs to open an encrypted conversation's key (None for a plain one):
    the key sealed to the client's identity (for the client) or to a team key together with the
    counselor's grant of that team key, and both public keys for the safety code."""
    from wegweiser.counseling.models import ConversationKeyGrant, TeamKeyGrant

    if not conversation.key_id:
        return None
    grants = list(ConversationKeyGrant.objects.filter(conversation=conversation).select_related("team_key"))
    client_grant = next((g for g in grants if g.user_id is not None), None)
    team_grant = next((g for g in grants if g.team_key_id is not None), None)
    data: dict[str, Any] = {
        "kid": conversation.key_id,
        "client_public": client_grant.recipient if client_grant else None,
        "team_public": team_grant.recipient if team_grant else None,
        "team_kid": team_grant.team_key.key_id if team_grant and team_grant.team_key else None,
        "sealed": None,
        "team_sealed": None,
        "via_team": conversation.client_id != user.pk,  # counselors open it with the team key
        # The safety code this user marked as compared (the page warns when it changed).
        "compared": conversation.states.filter(user=user).values_list("safety_code", flat=True).first() or "",
    }
    if conversation.client_id == user.pk:
        data["sealed"] = client_grant.sealed if client_grant else None
    elif team_grant is not None:
        data["sealed"] = team_grant.sealed
        data["team_sealed"] = TeamKeyGrant.objects.filter(
            team_key_id=team_grant.team_key_id, user=user, recipient=identity_public(user),
        ).values_list("sealed", flat=True).first()
    return data


def identity_public(user: Any) -> str:
    from wegweiser.counseling.models import IdentityKey

    return IdentityKey.objects.filter(user=user).values_list("public", flat=True).first() or ""


def enquiry_keys(agency: Any) -> dict[str, Any] | None:
    """The agency's current team key, to which a new enquiry's conversation key is sealed."""
    from wegweiser.counseling.models import TeamKey

    key = TeamKey.objects.filter(agency=agency, retired_at__isnull=True).values("key_id", "public").first()
    return {"kid": key["key_id"], "public": key["public"]} if key else None


def keys_me(user: Any) -> dict[str, Any]:
    """What keys.js needs about the logged-in user (embedded in pages with ``json_script``)."""
    from wegweiser.counseling.access import counsel_agency_ids, is_client
    from wegweiser.counseling.models import IdentityKey

    key = IdentityKey.objects.filter(user=user).first()
    return {
        "user": str(user.public_id),
        "username": user.username,
        "bundle": key.bundle if key else None,
        "counselor": not is_client(user) and bool(counsel_agency_ids(user)),
        "urls": {
            "identity": reverse("counseling:keys_identity"),
            "rewrap": reverse("counseling:keys_rewrap"),
            "teams": reverse("counseling:keys_teams"),
            "setup": reverse("counseling:keys"),
        },
    }
