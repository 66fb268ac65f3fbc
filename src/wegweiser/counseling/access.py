"""Who may see and do what in counseling. Builds on organizations.access (roles on subtrees,
TOTP for staff) and, like it, answers "not found" both for unknown and for forbidden objects.

Rules:
- the client of a conversation reads it always and writes while it is not closed;
- a counselor (``Perm.COUNSEL`` on the agency) sees the agency's open enquiries, and reads and
  writes the conversations assigned to them and, where team counseling is on, the agency's
  team conversations; assignment alone grants nothing once the role on the agency is gone;
- agency leads see statistics (``Perm.LEAD_AGENCY``), organization admins manage topics and
  agency settings (``Perm.MANAGE_TREE``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from wegweiser.counseling.models import Attachment, Conversation, Handover, Topic
from wegweiser.organizations.access import Perm, nodes_with_perm, parse_uuid


def is_client(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.kind == "client")


def counsel_agency_ids(user: Any) -> list[int]:
    """Primary keys of the agencies (Agency rows) on which ``user`` may counsel."""
    from wegweiser.counseling.models import Agency

    return list(Agency.objects.filter(node__in=nodes_with_perm(user, Perm.COUNSEL),
                                      node__is_active=True).values_list("pk", flat=True))


def agency_counselor_public_ids(agency: Any) -> list[Any]:
    """Public ids of everybody who counsels on ``agency`` (the inverse of counsel_agency_ids:
    a role with ``Perm.COUNSEL`` on the agency's node or an ancestor, an active account with
    TOTP). Used to choose the recipients of content-free inbox events."""
    from allauth.mfa.models import Authenticator
    from django.db.models import Exists, OuterRef

    from wegweiser.accounts.models import User
    from wegweiser.organizations.access import ROLE_PERMS
    from wegweiser.organizations.models import Membership

    if not agency.node.is_active:
        return []
    roles = [role for role, perms in ROLE_PERMS.items() if Perm.COUNSEL in perms]
    memberships = Membership.objects.filter(user=OuterRef("pk"), role__in=roles, node__is_active=True,
                                            node__path__in=agency.node.ancestor_paths)
    totp = Authenticator.objects.filter(user=OuterRef("pk"), type=Authenticator.Type.TOTP)
    return list(User.objects.filter(Exists(memberships), Exists(totp), is_active=True)
                .values_list("public_id", flat=True))


def readable_conversations(user: Any) -> QuerySet[Conversation]:
    """Every conversation ``user`` may read (including open enquiries of their agencies)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Conversation.objects.none()
    if user.kind == "client":
        return Conversation.objects.filter(client=user)
    agencies = counsel_agency_ids(user)
    if not agencies:
        return Conversation.objects.none()
    return Conversation.objects.filter(agency__in=agencies).filter(
        Q(status=Conversation.Status.OPEN) | Q(counselor=user) | Q(team=True)
    )


def live_conversations(user: Any) -> QuerySet[Conversation]:
    """Conversations whose new messages reach ``user``'s sockets (open or active, not closed;
    counselors only once accepted)."""
    qs = readable_conversations(user)
    if getattr(user, "kind", None) == "client":
        return qs.filter(status__in=[Conversation.Status.OPEN, Conversation.Status.ACTIVE])
    return qs.filter(status=Conversation.Status.ACTIVE)


def role_in(user: Any, conversation: Conversation) -> str:
    return "client" if conversation.client_id == user.pk else "counselor"


def can_write(user: Any, conversation: Conversation) -> bool:
    """Whether ``user`` (who may read it) may post now. Closed conversations are read-only."""
    if conversation.status == Conversation.Status.CLOSED:
        return False
    if conversation.client_id == user.pk:
        return True
    return conversation.status == Conversation.Status.ACTIVE


def access_conversation(user: Any, conversation_id: object, *, for_update: bool = False) -> Conversation:
    qs = readable_conversations(user).select_related("agency__node", "topic", "client", "counselor")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    conversation = qs.filter(public_id=parse_uuid(conversation_id)).first()
    if conversation is None:
        raise Http404
    return conversation


def access_enquiry(user: Any, conversation_id: object) -> Conversation:
    """An open enquiry the counselor may accept."""
    conversation = access_conversation(user, conversation_id)
    if conversation.status != Conversation.Status.OPEN or user.kind == "client":
        raise Http404
    return conversation


def access_offer(agency_id: object, topic_id: object) -> tuple[Any, Topic]:
    """An agency and a topic it offers, for the public enquiry form (404 otherwise)."""
    from wegweiser.counseling.models import Agency
    from wegweiser.counseling.selectors import active_topics, agency_offers

    agency = Agency.objects.select_related("node").filter(node__public_id=parse_uuid(agency_id)).first()
    topic = active_topics().filter(public_id=parse_uuid(topic_id)).first()
    if agency is None or topic is None or not agency_offers(agency, topic):
        raise Http404
    return agency, topic


def access_counsel_agency(user: Any, agency_id: object) -> Any:
    """An agency (by its node's public id) on which ``user`` counsels (404 otherwise)."""
    from wegweiser.counseling.models import Agency

    agency = Agency.objects.select_related("node").filter(
        node__public_id=parse_uuid(agency_id), pk__in=counsel_agency_ids(user)).first()
    if agency is None:
        raise Http404
    return agency


def access_attachment(user: Any, attachment_id: object) -> Attachment:
    attachment = (
        Attachment.objects.select_related("conversation", "message")
        .filter(public_id=parse_uuid(attachment_id),
                conversation__in=readable_conversations(user))
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment


def access_handover(user: Any, handover_id: object) -> Handover:
    """A handover request the client of the conversation answers."""
    handover = (
        Handover.objects.select_related("conversation", "to_counselor", "from_counselor")
        .filter(public_id=parse_uuid(handover_id), conversation__client=user,
                status=Handover.Status.REQUESTED)
        .first()
    )
    if handover is None or not is_client(user):
        raise Http404
    return handover


def manageable_topics(user: Any) -> QuerySet[Topic]:
    return Topic.objects.filter(organization__in=nodes_with_perm(user, Perm.MANAGE_TREE))


def access_topic(user: Any, topic_id: object) -> Topic:
    topic = manageable_topics(user).filter(public_id=parse_uuid(topic_id)).first()
    if topic is None:
        raise Http404
    return topic

