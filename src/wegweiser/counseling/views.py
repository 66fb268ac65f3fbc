"""Pages of online counseling (thin: parse, check access, call an action, render).

Every page works without JavaScript: messages are form posts followed by a redirect; with
JavaScript the conversation page upgrades to the chat socket (static/wegweiser/js/chat.js).
"""

from __future__ import annotations

import uuid
from typing import Any

from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wegweiser.accounts.actions import client_account_create
from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import add_action_errors
from wegweiser.core.pagination import keyset_page
from wegweiser.core.views import download, json_body, json_error
from wegweiser.counseling import actions
from wegweiser.counseling.access import (
    access_attachment,
    access_conversation,
    access_enquiry,
    access_handover,
    access_offer,
    access_topic,
    can_write,
    counsel_agency_ids,
    is_client,
    manageable_topics,
    role_in,
)
from wegweiser.counseling.actions import keys as key_actions
from wegweiser.counseling.forms import (
    AbsenceForm,
    AgencyForm,
    AttachmentForm,
    DeleteAccountForm,
    EnquiryForm,
    FinderForm,
    HandoverForm,
    MessageForm,
    NotificationForm,
    TopicForm,
)
from wegweiser.counseling.models import Absence, Agency, Conversation, Handover, Message
from wegweiser.counseling.selectors import (
    active_topics,
    client_conversations,
    conversation_keys,
    enquiry_keys,
    find_agencies,
    inbox,
    keys_me,
    statistics,
)
from wegweiser.organizations.access import Perm, access_node, nodes_with_perm, parse_uuid
from wegweiser.organizations.models import Membership, Node, NodeKind, Role

PAGE_MESSAGES = 200


# --- finding an agency and writing an enquiry -----------------------------------------------------

@require_GET
def finder(request: HttpRequest) -> HttpResponse:
    form = FinderForm(request.GET or None, topics=active_topics())
    result = None
    if request.GET and form.is_valid():
        try:
            result = find_agencies(topic=form.cleaned_data["topic"], postcode=form.cleaned_data["postcode"],
                                   age=form.cleaned_data["age"])
        except ValidationError as exc:
            add_action_errors(form, exc)
    return render(request, "counseling/finder.html", {"form": form, "result": result})


@require_http_methods(["GET", "POST"])
def enquiry_new(request: HttpRequest, agency_id: str, topic_id: str) -> HttpResponse:
    agency, topic = access_offer(agency_id, topic_id)
    user: Any = request.user
    if user.is_authenticated and not is_client(user):
        messages.info(request, _("Staff accounts cannot send enquiries. Log in with a client account."))
        return redirect("dashboard")
    register = not user.is_authenticated
    initial = {"postcode": request.GET.get("postcode", "")[:10], "age": request.GET.get("age", "")[:3]}
    form = EnquiryForm(request.POST or None, topic=topic, register=register, initial=initial)
    if request.method == "POST" and form.is_valid():
        if register and not ratelimit.consume(request, action="signup"):
            form.add_error(None, _("Too many new accounts from here. Please try again later."))
        else:
            try:
                conversation = _enquiry_submit(request, form, agency, topic)
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("Your enquiry was sent. A counselor will answer here."))
                return redirect("counseling:conversation", conversation_id=conversation.public_id)
    e2e_page = {"team_key": enquiry_keys(agency), "required": topic.encryption_required, "register": register,
                "me": keys_me(user) if user.is_authenticated else None,
                "draft": f"wegweiser.enquiry.{agency.node.public_id}.{topic.public_id}"}
    return render(request, "counseling/enquiry_new.html",
                  {"form": form, "agency": agency, "topic": topic, "register": register,
                   "e2e_page": e2e_page})


def _enquiry_submit(request: HttpRequest, form: EnquiryForm, agency: Agency, topic: Any) -> Conversation:
    """Registering on the spot and the enquiry happen together or not at all."""
    data = form.cleaned_data
    keys = data.get("e2e")
    with transaction.atomic():
        client: Any = request.user
        if form.register:
            client = client_account_create(username=data["username"], password=data["password"])
            if keys is not None and keys.identity is not None:
                key_actions.identity_create_for_new_account(user=client, bundle=keys.identity,
                                                            recovery_proof=keys.recovery)
        elif keys is not None and keys.identity is not None:
            raise ValidationError(_("Your encryption key is set up already."), code="exists")
        conversation = actions.enquiry_create(client=client, agency=agency, topic=topic, body=data["body"],
                                              postcode=data["postcode"], age=data["age"], keys=keys)
    if form.register:
        login(request, client, backend=settings.AUTHENTICATION_BACKENDS[0])
    return conversation


# --- conversations ---------------------------------------------------------------------------------

@login_required
@require_GET
def conversation_list(request: HttpRequest) -> HttpResponse:
    if not is_client(request.user):
        return redirect("counseling:inbox")
    page = keyset_page(client_conversations(request.user), cursor=request.GET.get("cursor"),
                       salt="counseling.conversations")
    return render(request, "counseling/conversation_list.html",
                  {"page": page, "keys_me": keys_me(request.user)})


def _conversation_context(request: HttpRequest, conversation: Conversation, **extra: Any) -> dict[str, Any]:
    user: Any = request.user
    rows = list(Message.objects.filter(conversation=conversation, seq__gt=max(0, conversation.last_seq
                                                                                - PAGE_MESSAGES))
                .select_related("sender", "attachment").order_by("seq"))
    context: dict[str, Any] = {
        "conversation": conversation,
        "rows": rows,
        "older": bool(rows) and rows[0].seq > 1,
        "role": role_in(user, conversation),
        "can_write": can_write(user, conversation),
        "message_form": MessageForm(initial={"client_id": uuid.uuid4()}),
        "attachment_form": AttachmentForm(),
        "open_handover": conversation.handovers.filter(status=Handover.Status.REQUESTED)
        .select_related("to_counselor").first(),
        "max_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
        "max_bytes": settings.ATTACHMENT_MAX_BYTES,
        "e2e_conversation": conversation_keys(user, conversation),
        "keys_me": keys_me(user) if conversation.key_id else None,
    }
    if context["role"] == "counselor" and conversation.counselor_id == user.pk and context["can_write"]:
        context["handover_form"] = HandoverForm(colleagues=_colleagues(conversation, user))
    context.update(extra)
    return context


def _colleagues(conversation: Conversation, user: Any) -> Any:
    node = conversation.agency.node
    user_ids = Membership.objects.filter(
        node__path__in=node.ancestor_paths, role__in=[Role.COUNSELOR, Role.AGENCY_LEAD]
    ).values("user_id")
    return get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(pk=user.pk) \
        .order_by("username")


@login_required
@require_GET
def conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conv = access_conversation(request.user, conversation_id)
    if conv.last_seq:
        actions.read_marker_set(user=request.user, conversation=conv, seq=conv.last_seq)
    return render(request, "counseling/conversation.html", _conversation_context(request, conv))


@login_required
@require_POST
def message_send(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conv = access_conversation(request.user, conversation_id)
    form = MessageForm(request.POST)
    if form.is_valid() and not _post_allowed(request.user):
        form.add_error(None, _("You are sending messages too fast. Please wait a moment."))
    elif form.is_valid():
        try:
            actions.message_post(user=request.user, conversation=conv, body=form.cleaned_data["body"],
                                 client_id=form.cleaned_data["client_id"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            return redirect("counseling:conversation", conversation_id=conv.public_id)
    # Keep what was written: the form comes back with the text and the same client_id.
    return render(request, "counseling/conversation.html",
                  _conversation_context(request, conv, message_form=form), status=400)


def _post_allowed(user: Any) -> bool:
    """CHAT_RATE_LIMIT for form posts too (the socket keeps its own bucket per process)."""
    import time

    from django.core.cache import cache

    rate, per = (int(x) for x in settings.CHAT_RATE_LIMIT.split("/"))
    key = f"chatpost:{user.pk}:{int(time.time() // per)}"
    cache.add(key, 0, timeout=per + 1)
    return cache.incr(key) <= rate


@login_required
@require_POST
def attachment_upload(request: HttpRequest, conversation_id: str) -> HttpResponse:
    from wegweiser.counseling.attachments import attachment_upload as upload

    conv = access_conversation(request.user, conversation_id)
    if conv.key_id and "encrypted" in request.POST:
        return _encrypted_upload(request, conv)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            upload(user=request.user, conversation=conv, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The file was sent."))
            return redirect("counseling:conversation", conversation_id=conv.public_id)
    return render(request, "counseling/conversation.html",
                  _conversation_context(request, conv, attachment_form=form), status=400)


def _encrypted_upload(request: HttpRequest, conv: Conversation) -> JsonResponse:
    """An encrypted file from chat.js (fetch): JSON in, JSON out."""
    import json

    from wegweiser.counseling.attachments import attachment_json, encrypted_attachment_upload

    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError(_("Please choose a file."), code="required")
        try:
            envelope = json.loads(request.POST["encrypted"])
        except (ValueError, RecursionError):
            envelope = None
        attachment = encrypted_attachment_upload(user=request.user, conversation=conv, upload=upload,
                                                 envelope=envelope, client_id=request.POST.get("client_id"))
    except ValidationError as exc:
        return json_error(exc)
    message = actions.message_to_json(attachment.message, conversation_id=conv.public_id, key_id=conv.key_id)
    return JsonResponse({"message": {**message, "attachment": attachment_json(attachment)}})


@login_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: str) -> HttpResponse:
    from wegweiser.counseling.attachments import attachment_read

    attachment = access_attachment(request.user, attachment_id)
    # An end-to-end encrypted file has no name here: chat.js decrypts it and names it.
    return download(attachment_read(user=request.user, attachment=attachment), attachment.content_type,
                    attachment.filename or "encrypted.bin")


@staff_required
@require_POST
def enquiry_accept(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conv = access_enquiry(request.user, conversation_id)
    try:
        actions.enquiry_accept(actor=request.user, conversation=conv)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("counseling:inbox")
    messages.success(request, _("You accepted the enquiry. The client has been told."))
    return redirect("counseling:conversation", conversation_id=conv.public_id)


@staff_required
@require_POST
def conversation_close(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conv = access_conversation(request.user, conversation_id)
    try:
        actions.conversation_close(actor=request.user, conversation=conv)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("The conversation was closed."))
    return redirect("counseling:conversation", conversation_id=conv.public_id)


@login_required
@require_POST
def conversation_archive(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conv = access_conversation(request.user, conversation_id)
    archived = request.POST.get("archived") == "1"
    actions.conversation_archive(actor=request.user, conversation=conv, archived=archived)
    messages.success(request, _("Moved to the archive.") if archived else _("Moved out of the archive."))
    return redirect("counseling:inbox" if not is_client(request.user) else "counseling:conversations")


@login_required
@require_POST
def safety_code(request: HttpRequest, conversation_id: str) -> JsonResponse:
    """chat.js: "I have compared the code" (JSON {"code"}), so the page can warn when it changes."""
    conv = access_conversation(request.user, conversation_id)
    try:
        try:
            code = json_body(request).get("code")
        except ValidationError:
            code = None  # the action says what a code looks like
        actions.safety_code_compared(actor=request.user, conversation=conv, code=code)
    except ValidationError as exc:
        return json_error(exc)
    return JsonResponse({"ok": True, "code": code})


@staff_required
@require_POST
def handover_request(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conv = access_conversation(request.user, conversation_id)
    if conv.counselor_id != request.user.pk:
        raise Http404
    form = HandoverForm(request.POST, colleagues=_colleagues(conv, request.user))
    if form.is_valid():
        try:
            actions.handover_request(actor=request.user, conversation=conv,
                                     to_counselor=form.cleaned_data["to_counselor"])
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", [_("Not possible.")])))
        else:
            messages.success(request, _("The client has been asked for consent."))
            return redirect("counseling:conversation", conversation_id=conv.public_id)
    return render(request, "counseling/conversation.html",
                  _conversation_context(request, conv, handover_form=form), status=400)


@login_required
@require_POST
def handover_answer(request: HttpRequest, handover_id: str) -> HttpResponse:
    handover = access_handover(request.user, handover_id)
    consent = request.POST.get("consent") == "yes"
    try:
        actions.handover_answer(actor=request.user, handover=handover, consent=consent)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Thank you. Your colleague-to-be has been told.") if consent
                         else _("Thank you. Your counselor stays the same."))
    return redirect("counseling:conversation", conversation_id=handover.conversation.public_id)


# --- counselor pages -------------------------------------------------------------------------------

INBOX_TABS = ("enquiries", "mine", "team", "archived")


@staff_required
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    if not counsel_agency_ids(request.user):
        raise Http404
    tab = request.GET.get("tab", "enquiries")
    if tab not in INBOX_TABS:
        tab = "enquiries"
    query = request.GET.get("q", "").strip()[:150]
    page = keyset_page(inbox(request.user, tab=tab, query=query), cursor=request.GET.get("cursor"),
                       salt=f"counseling.inbox.{tab}")
    return render(request, "counseling/inbox.html", {"page": page, "tab": tab, "query": query,
                                                     "tabs": INBOX_TABS, "now": timezone.now(),
                                                     "keys_me": keys_me(request.user)})


@staff_required
@require_http_methods(["GET", "POST"])
def absence(request: HttpRequest) -> HttpResponse:
    if not counsel_agency_ids(request.user):
        raise Http404
    user: Any = request.user
    current = Absence.objects.filter(user=user).first()
    initial = {"starts_at": current.starts_at, "ends_at": current.ends_at,
               "message": current.message} if current else {}
    form = AbsenceForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if request.POST.get("clear"):
            actions.absence_clear(actor=request.user)
            messages.success(request, _("Your absence was removed."))
            return redirect("counseling:absence")
        if form.is_valid():
            try:
                data = form.cleaned_data
                actions.absence_set(actor=request.user, starts_at=data["starts_at"], ends_at=data["ends_at"],
                                    message=data["message"])
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("Your absence was saved."))
                return redirect("counseling:absence")
    return render(request, "counseling/absence.html", {"form": form, "current": current})


@staff_required
@require_GET
def statistics_view(request: HttpRequest) -> HttpResponse:
    nodes = nodes_with_perm(request.user, Perm.LEAD_AGENCY).filter(kind=NodeKind.AGENCY)
    agencies = list(Agency.objects.filter(node__in=nodes).select_related("node").order_by("node__name"))
    if not agencies:
        raise Http404
    chosen = agencies[0]
    if request.GET.get("agency"):
        wanted = parse_uuid(request.GET["agency"])
        chosen = next((a for a in agencies if a.node.public_id == wanted), None)  # type: ignore[assignment]
        if chosen is None:
            raise Http404
    return render(request, "counseling/statistics.html",
                  {"agencies": agencies, "agency": chosen, "stats": statistics(chosen)})


# --- administration: topics and agency settings -------------------------------------------------------

@staff_required
@require_GET
def topic_list(request: HttpRequest, node_id: str) -> HttpResponse:
    node = access_node(request.user, node_id, Perm.MANAGE_TREE)
    topics = manageable_topics(request.user).filter(organization=node)
    return render(request, "counseling/topic_list.html", {"node": node, "topics": topics})


def _agencies_below(node: Node) -> Any:
    return Agency.objects.filter(node__path__startswith=node.path).select_related("node") \
        .order_by("node__name")


@staff_required
@require_http_methods(["GET", "POST"])
def topic_create(request: HttpRequest, node_id: str) -> HttpResponse:
    node = access_node(request.user, node_id, Perm.MANAGE_TREE)
    form = TopicForm(request.POST or None, agencies=_agencies_below(node))
    if request.method == "POST" and form.is_valid():
        actions.topic_save(actor=request.user, organization=node, form=form)
        messages.success(request, _("The topic was saved."))
        return redirect("counseling:topic_list", node_id=node.public_id)
    return render(request, "counseling/topic_form.html", {"form": form, "node": node})


@staff_required
@require_http_methods(["GET", "POST"])
def topic_update(request: HttpRequest, topic_id: str) -> HttpResponse:
    topic = access_topic(request.user, topic_id)
    node = topic.organization
    form = TopicForm(request.POST or None, instance=topic, agencies=_agencies_below(node))
    if request.method == "POST" and form.is_valid():
        actions.topic_save(actor=request.user, organization=node, form=form)
        messages.success(request, _("The topic was saved."))
        return redirect("counseling:topic_list", node_id=node.public_id)
    return render(request, "counseling/topic_form.html", {"form": form, "node": node, "topic": topic})


@staff_required
@require_http_methods(["GET", "POST"])
def agency_settings(request: HttpRequest, node_id: str) -> HttpResponse:
    node = access_node(request.user, node_id, Perm.MANAGE_TREE)
    if node.kind != NodeKind.AGENCY:
        raise Http404
    agency = Agency.objects.filter(node=node).first() or Agency(node=node)
    topics = active_topics().filter(organization__path__in=node.ancestor_paths)
    form = AgencyForm(request.POST or None, instance=agency, topics=topics)
    if request.method == "POST" and form.is_valid():
        actions.agency_save(actor=request.user, node=node, form=form)
        messages.success(request, _("The agency settings were saved."))
        return redirect("organizations:node", node_id=node.public_id)
    return render(request, "counseling/agency_form.html", {"form": form, "node": node})


# --- the client's own account -----------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = NotificationForm(request.POST or None, initial={"email_notifications": user.email_notifications})
    has_email = user.emailaddress_set.filter(verified=True).exists()
    if request.method == "POST" and form.is_valid():
        wanted = form.cleaned_data["email_notifications"]
        if wanted and not has_email:
            form.add_error("email_notifications", _("Add and confirm an e-mail address first."))
        else:
            actions.notifications_set(user=user, enabled=wanted)
            messages.success(request, _("Your notification settings were saved."))
            return redirect("counseling:notifications")
    return render(request, "counseling/notifications.html", {"form": form, "has_email": has_email})


@login_required
@require_http_methods(["GET", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    """Download all my data (zip) or delete my account."""
    from wegweiser.counseling import retention

    if not is_client(request.user):
        raise Http404
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and request.POST.get("action") == "export":
        return download(retention.account_export(request.user), "application/zip", "wegweiser-data.zip")
    if request.method == "POST" and form.is_valid():
        from django.contrib.auth import logout

        user = request.user
        logout(request)
        retention.account_delete(user=user)
        messages.success(request, _("Your account and all your conversations were deleted."))
        return redirect("home")
    return render(request, "counseling/my_data.html", {"form": form})
