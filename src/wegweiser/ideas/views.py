"""Pages of the author's side of the needs & ideas pipeline (thin: parse, check access, call an
action, render): the board, submitting with live duplicate hints, an item's public page with
support, comments, following and reports, and the follower's notices. Nothing here reads
internal notes; the triage pages are in ``triage_views``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import add_action_errors, form_submitted, run_with_message
from wegweiser.core.views import download
from wegweiser.ideas import access, actions, selectors
from wegweiser.ideas.forms import CommentForm, FilterForm, ItemEditForm, ItemForm, ReportForm, SupportForm
from wegweiser.ideas.models import Follow, ImprovementCycle, Item, Notice, Support, WorkshopIdea
from wegweiser.organizations.access import Perm, has_perm


def nav_context(request: HttpRequest, federation: Any, **extra: Any) -> dict[str, Any]:
    """What every ideas page needs for its navigation."""
    prefixes = access.triage_prefixes(request.user, federation)
    return {
        "federation": federation,
        "triage": bool(prefixes),
        "configure_stages": has_perm(request.user, Perm.TRIAGE_IDEAS, federation),
        "unread_notices": notices_of(request.user, federation).filter(read_at__isnull=True).count(),
        **extra,
    }


def notices_of(user: Any, federation: Any) -> Any:
    """The user's notices about this federation's visible items and workshops."""
    about = Q(item__federation=federation, item__moderation=Item.Moderation.NONE) | Q(
        workshop__federation=federation
    )
    return Notice.objects.filter(about, user_id=user.pk or 0)


@staff_required
def start(request: HttpRequest) -> HttpResponse:
    federations = access.federations_for(request.user)
    if not federations:
        raise Http404
    if len(federations) == 1:
        return redirect("ideas:board", federation_id=federations[0].public_id)
    return render(request, "ideas/start.html", {"federations": federations})


@staff_required
@require_GET
def board(request: HttpRequest, federation_id: Any) -> HttpResponse:
    """The kanban board: one column per stage with its most supported items. With a stage chosen,
    that stage's items as a paged list."""
    federation = access.access_federation(request.user, federation_id)
    stages = actions.stages_ensure(federation=federation)
    form = FilterForm(request.GET or None, nodes=selectors.filter_nodes(federation), stages=stages)
    filters = form.filters()
    items = filters.apply(access.visible_items(request.user, federation))
    context = nav_context(request, federation, form=form, filters=filters)
    if filters.stage is not None:
        page = Paginator(
            items.select_related("branch", "stage").order_by("-support_count", "-created_at", "-id"), 50
        ).get_page(request.GET.get("page"))
        context.update(page=page, query=_query_without_page(request))
    else:
        context["columns"] = selectors.board_columns(
            items, stages, show_closed=request.GET.get("closed") == "1"
        )
    return render(request, "ideas/board.html", context)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@staff_required
@require_http_methods(["GET", "POST"])
def item_new(request: HttpRequest, federation_id: Any) -> HttpResponse:
    federation = access.access_federation(request.user, federation_id)
    units = access.units_with(request.user, federation)
    form = ItemForm(request.POST or None, request.FILES or None, units=units)
    hints: list[Any] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = actions.item_create(
                author=request.user,
                federation=federation,
                branch=data["branch"],
                kind=data["kind"],
                title=data["title"],
                problem=data["problem"],
                affected=data["affected"],
                field=data["field"],
                uploads=data["files"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Thank you! Your item has been submitted."))
            return redirect("ideas:item", item_id=item.public_id)
    if request.method == "POST":
        hints = selectors.duplicate_hints(federation, request.POST.get("title", ""))
    return render(request, "ideas/item_new.html", nav_context(request, federation, form=form, hints=hints))


@staff_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item(request.user, item_id)
    if item.author_id != request.user.pk:
        raise Http404
    initial = {"title": item.title, "problem": item.problem, "affected": item.affected, "field": item.field}
    form = ItemEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.item_edit(author=request.user, item=item, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Your changes have been saved."))
            return redirect("ideas:item", item_id=item.public_id)
    return render(
        request, "ideas/item_edit.html", nav_context(request, item.federation, item=item, form=form)
    )


@staff_required
@require_GET
def similar(request: HttpRequest, federation_id: Any) -> HttpResponse:
    """Possible duplicates of a title being typed (an HTMX fragment)."""
    federation = access.access_federation(request.user, federation_id)
    title = request.GET.get("title", "")[:200]
    hints = selectors.duplicate_hints(federation, title)
    return render(request, "ideas/_similar.html", {"hints": hints, "title": title})


@staff_required
@require_GET
def item(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item(request.user, item_id)
    return _item_page(request, item)


def _item_page(request: HttpRequest, item: Item, **forms: Any) -> HttpResponse:
    user = request.user
    units = access.units_with(user, item.federation)
    context = nav_context(
        request,
        item.federation,
        item=item,
        attachments=list(item.attachments.all()),
        supporting=selectors.supporting_branches(item),
        supported=Support.objects.filter(item=item, user_id=user.pk or 0).exists(),
        following=Follow.objects.filter(item=item, user_id=user.pk or 0).exists(),
        history=list(item.stage_changes.select_related("from_stage", "to_stage", "duplicate_of")),
        merged=list(item.duplicates.filter(moderation=Item.Moderation.NONE).only("public_id", "title")),
        comments=list(item.comments.select_related("author", "branch")),
        workshops=list(
            WorkshopIdea.objects.filter(item=item).select_related("workshop").order_by("workshop__starts_at")
        ),
        cycles=list(ImprovementCycle.objects.filter(item=item).select_related("team")),
        can_internal=access.can_see_internal(user, item),
        support_form=forms.get("support_form") or SupportForm(units=units),
        comment_form=forms.get("comment_form") or CommentForm(units=units),
        report_form=forms.get("report_form") or ReportForm(),
        several_units=len(units) > 1,
    )
    return render(request, "ideas/item.html", context, status=400 if forms else 200)


def _act(request: HttpRequest, item: Item, call: Any, done: str, form_name: str, form: Any) -> HttpResponse:
    """Run an action from a POST on the item page: success → back to the page with a message;
    refusal → the page again with the error at the form and the typed text kept."""
    if form_submitted(form, call):
        messages.success(request, done)
        return redirect("ideas:item", item_id=item.public_id)
    return _item_page(request, item, **{form_name: form})


@staff_required
@require_POST
def support(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item(request.user, item_id)
    form = SupportForm(request.POST, units=access.units_with(request.user, item.federation))
    return _act(
        request,
        item,
        lambda d: actions.item_support(user=request.user, item=item, branch=d["branch"]),
        _("Thank you for your support."),
        "support_form",
        form,
    )


@staff_required
@require_POST
def unsupport(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item(request.user, item_id)
    run_with_message(
        request,
        lambda: actions.item_unsupport(user=request.user, item=item),
        _("Your support has been withdrawn."),
    )
    return redirect("ideas:item", item_id=item.public_id)


@staff_required
@require_POST
def follow(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item(request.user, item_id)
    on = request.POST.get("follow") == "1"
    actions.item_follow(user=request.user, item=item, follow=on)
    messages.success(request, _("You follow this item.") if on else _("You no longer follow this item."))
    return redirect("ideas:item", item_id=item.public_id)


@staff_required
@require_POST
def comment(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item(request.user, item_id)
    form = CommentForm(request.POST, units=access.units_with(request.user, item.federation))
    return _act(
        request,
        item,
        lambda d: actions.comment_create(author=request.user, item=item, branch=d["branch"], text=d["text"]),
        _("Your comment has been published."),
        "comment_form",
        form,
    )


@staff_required
@require_POST
def report(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item(request.user, item_id)
    form = ReportForm(request.POST)
    return _act(
        request,
        item,
        lambda d: actions.item_report(reporter=request.user, item=item, reason=d["reason"]),
        _("Thank you. A moderator will look at it."),
        "report_form",
        form,
    )


@staff_required
@require_POST
def attachment_add(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item(request.user, item_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file."))
    else:
        run_with_message(
            request,
            lambda: actions.attachment_add(user=request.user, item=item, upload=upload),
            _("The file has been added."),
        )
    return redirect("ideas:item", item_id=item.public_id)


@staff_required
@require_GET
def attachment(request: HttpRequest, attachment_id: Any) -> HttpResponse:
    found = access.access_attachment(request.user, attachment_id)
    return download(
        actions.attachment_read(user=request.user, attachment=found), found.content_type, found.filename
    )


@staff_required
@require_http_methods(["GET", "POST"])
def notices(request: HttpRequest, federation_id: Any) -> HttpResponse:
    federation = access.access_federation(request.user, federation_id)
    if request.method == "POST":
        actions.notices_read(user=request.user)
        return redirect("ideas:notices", federation_id=federation.public_id)
    rows = list(
        notices_of(request.user, federation)
        .select_related("item__stage", "workshop")
        .order_by("-created_at", "-id")[:100]
    )
    return render(request, "ideas/notices.html", nav_context(request, federation, notices=rows))
