"""The competence centre's pages: an item's triage page (internal notes, evaluators, scores, the
stage change with its public answer, moderation), the effort/impact matrix, the moderation queue,
the federation overview with its CSV export, and the stage list."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import add_action_errors, form_submitted, run_with_message
from wegweiser.core.views import download
from wegweiser.ideas import access, actions, selectors
from wegweiser.ideas.forms import EvaluatorForm, MoveForm, NoteForm, ScoreForm, StageForm
from wegweiser.ideas.models import CLOSED_KINDS, Item, Stage
from wegweiser.ideas.views import nav_context
from wegweiser.organizations.access import Perm, has_perm

_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def _triage_page(request: HttpRequest, item: Item, status: int = 200, **forms: Any) -> HttpResponse:
    stages = [s for s in actions.stages_ensure(federation=item.federation) if s.is_active]
    can_triage = access.can_triage(request.user, item)
    context = nav_context(
        request,
        item.federation,
        item=item,
        can_triage=can_triage,
        notes=list(item.internal_notes.select_related("author")),
        evaluators=list(item.evaluators.select_related("user")),
        history=list(item.stage_changes.select_related("from_stage", "to_stage", "actor")),
        note_form=forms.get("note_form") or NoteForm(),
        score_form=forms.get("score_form")
        or ScoreForm(initial={"effort": item.effort, "impact": item.impact}),
        move_form=forms.get("move_form") or MoveForm(stages=stages, initial={"stage": item.stage.public_id}),
        evaluator_form=forms.get("evaluator_form") or EvaluatorForm(),
        move_url=reverse("ideas:move", kwargs={"item_id": item.public_id}),
    )
    return render(request, "ideas/triage.html", context, status=status)


@staff_required
@require_GET
def triage(request: HttpRequest, item_id: Any) -> HttpResponse:
    return _triage_page(request, access.access_item_internal(request.user, item_id))


def _done(request: HttpRequest, item: Item, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect("ideas:triage", item_id=item.public_id)


@staff_required
@require_POST
def note(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item_internal(request.user, item_id)
    form = NoteForm(request.POST)
    if form_submitted(form, lambda data: actions.note_add(author=request.user, item=item, text=data["text"])):
        return _done(request, item, _("The internal note has been saved."))
    return _triage_page(request, item, 400, note_form=form)


@staff_required
@require_POST
def score(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item_internal(request.user, item_id)
    form = ScoreForm(request.POST)
    if form_submitted(form, lambda data: actions.item_score(actor=request.user, item=item, **data)):
        return _done(request, item, _("The scores have been saved."))
    return _triage_page(request, item, 400, score_form=form)


def _original(user: Any, federation: Any, text: str) -> Item | None:
    """The item named by its id or by the address of its page, if the user may see it and it
    belongs to ``federation``."""
    match = _UUID.search(text or "")
    if match is None:
        return None
    try:
        item = access.access_item(user, match.group(0))
    except Http404:
        return None
    return item if item.federation_id == federation.pk else None


@staff_required
@require_POST
def move(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item_triage(request.user, item_id)
    stages = actions.stages_ensure(federation=item.federation)
    form = MoveForm(request.POST, stages=stages)
    if form.is_valid():
        data = form.cleaned_data
        original = _original(request.user, item.federation, data["original"]) if data["original"] else None
        if data["original"] and original is None:
            form.add_error("original", _("No item with this address in this federation."))
        else:
            try:
                actions.item_move(
                    actor=request.user,
                    item=item,
                    stage=form.stage_map[data["stage"]],
                    answer=data["answer"],
                    reason=data["reason"],
                    duplicate_of=original,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                return _done(request, item, _("The item has been moved and its followers told."))
    return _triage_page(request, item, 400, move_form=form)


@staff_required
@require_POST
def evaluator(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item_triage(request.user, item_id)
    if "remove" in request.POST:
        evaluators = item.evaluators.select_related("user")
        assignment = evaluators.filter(user__public_id=access.parse_uuid(request.POST["remove"])).first()
        if assignment is None:
            raise Http404
        run_with_message(
            request,
            lambda: actions.evaluator_remove(actor=request.user, item=item, user=assignment.user),
            _("The evaluator has been removed."),
        )
        return redirect("ideas:triage", item_id=item.public_id)
    form = EvaluatorForm(request.POST)
    if form.is_valid():
        user = get_user_model().objects.filter(username=form.cleaned_data["username"], is_active=True).first()
        try:
            if user is None:
                raise ValidationError(_("Evaluators must be staff of this federation."))
            actions.evaluator_assign(actor=request.user, item=item, user=user)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            return _done(request, item, _("The evaluator has been assigned."))
    return _triage_page(request, item, 400, evaluator_form=form)


@staff_required
@require_POST
def moderate(request: HttpRequest, item_id: Any) -> HttpResponse:
    item = access.access_item_triage(request.user, item_id)
    restore = request.POST.get("decision") == "restore"
    run_with_message(
        request,
        lambda: actions.moderation_decide(moderator=request.user, item=item, restore=restore),
        _("The item is visible again.") if restore else _("The item has been removed."),
    )
    return redirect("ideas:moderation", federation_id=item.federation.public_id)


def _triage_scope(request: HttpRequest, federation_id: Any) -> tuple[Any, list[str]]:
    federation = access.access_federation(request.user, federation_id)
    prefixes = access.triage_prefixes(request.user, federation)
    if not prefixes:
        raise Http404
    return federation, prefixes


@staff_required
@require_GET
def moderation(request: HttpRequest, federation_id: Any) -> HttpResponse:
    federation, prefixes = _triage_scope(request, federation_id)
    hidden = (
        Item.objects.filter(federation=federation, moderation=Item.Moderation.PENDING)
        .filter(access.triage_q(prefixes))
        .select_related("branch", "stage")
        .prefetch_related("reports")
        .order_by("-updated_at")[:200]
    )
    return render(request, "ideas/moderation.html", nav_context(request, federation, hidden=hidden))


@staff_required
@require_GET
def matrix(request: HttpRequest, federation_id: Any) -> HttpResponse:
    """Effort against impact (a PICK chart) for the scored open and active items in scope."""
    federation, prefixes = _triage_scope(request, federation_id)
    items = (
        selectors.items_in(federation, prefixes)
        .filter(effort__isnull=False, impact__isnull=False)
        .exclude(stage__kind__in=CLOSED_KINDS)
        .select_related("stage")
        .only(
            "public_id",
            "title",
            "effort",
            "impact",
            "support_count",
            "stage__label_de",
            "stage__label_sv",
            "stage__label_en",
            "stage__kind",
        )
        .order_by("-support_count", "-id")[:500]
    )
    cells: dict[tuple[int, int], list[Item]] = {}
    for item in items:
        cells.setdefault((item.impact or 0, item.effort or 0), []).append(item)
    rows = [
        {
            "impact": impact,
            "cells": [
                {
                    "effort": effort,
                    "items": cells.get((impact, effort), []),
                    "quadrant": _quadrant(effort, impact),
                }
                for effort in range(1, 6)
            ],
        }
        for impact in range(5, 0, -1)
    ]
    return render(request, "ideas/matrix.html", nav_context(request, federation, rows=rows))


def _quadrant(effort: int, impact: int) -> str:
    """PICK: Possible (easy, small), Implement (easy, big), Challenge (hard, big), Kill (hard, small)."""
    if impact >= 3:
        return "implement" if effort <= 2 else "challenge"
    return "possible" if effort <= 2 else "kill"


@staff_required
@require_GET
def overview(request: HttpRequest, federation_id: Any) -> HttpResponse:
    federation, prefixes = _triage_scope(request, federation_id)
    stages = actions.stages_ensure(federation=federation)
    items = selectors.items_in(federation, prefixes)
    return render(
        request,
        "ideas/overview.html",
        nav_context(
            request,
            federation,
            heat=selectors.heat_table(items, federation),
            stage_counts=selectors.stage_counts(items, stages),
            times=selectors.time_in_stage(items, stages),
            total=items.count(),
        ),
    )


def _cell(value: Any) -> Any:
    """Spreadsheet programs run cells that start like a formula: such text gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(rows: Any, name: str) -> HttpResponse:
    """A CSV download (UTF-8 with BOM, so spreadsheet programs read the umlauts)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return download(
        buffer.getvalue().encode("utf-8-sig"),
        "text/csv; charset=utf-8",
        f"{name}-{timezone.localdate().isoformat()}.csv",
    )


ITEM_COLUMNS = [
    "id",
    "type",
    "title",
    "field",
    "unit",
    "region",
    "stage",
    "stage_kind",
    "submitted",
    "days_in_stage",
    "supports",
    "comments",
    "effort",
    "impact",
]


@staff_required
@require_GET
def overview_csv(request: HttpRequest, federation_id: Any) -> HttpResponse:
    """Every item in scope with its public facts (never internal notes or evaluators), or with
    ``?table=heat`` the heat table of needs by field of work and region."""
    federation, prefixes = _triage_scope(request, federation_id)
    items = selectors.items_in(federation, prefixes)
    if request.GET.get("table") == "heat":
        heat = selectors.heat_table(items, federation)
        rows = [
            ["field", *heat["regions"], "total"],
            *[[row["field"], *[cell["n"] for cell in row["cells"]], row["total"]] for row in heat["rows"]],
        ]
        return _csv(rows, "needs-by-field-and-region")
    length, regions = selectors.region_of(federation)
    now = timezone.now()

    def item_rows() -> Any:
        yield ITEM_COLUMNS
        for item in (
            items.select_related("branch", "stage").order_by("created_at", "id").iterator(chunk_size=2000)
        ):
            yield (
                item.public_id,
                item.kind,
                item.title,
                item.field,
                item.branch.name,
                regions.get(item.branch.path[:length], federation.name),
                item.stage.label,
                item.stage.kind,
                item.created_at.date().isoformat(),
                (now - item.stage_changed_at).days,
                item.support_count,
                item.comment_count,
                item.effort or "",
                item.impact or "",
            )

    return _csv(item_rows(), "ideas")


@staff_required
@require_http_methods(["GET", "POST"])
def stages(request: HttpRequest, federation_id: Any) -> HttpResponse:
    """The federation's stages: rename, reorder, switch off, add (triage on the federation root)."""
    federation = access.access_federation(request.user, federation_id)
    if not has_perm(request.user, Perm.TRIAGE_IDEAS, federation):
        raise Http404
    existing = actions.stages_ensure(federation=federation)
    by_id = {str(s.public_id): s for s in existing}
    failed: tuple[str, StageForm] | None = None
    if request.method == "POST":
        target = request.POST.get("stage", "")
        stage: Stage | None = by_id.get(target) if target else None
        if target and stage is None:
            raise Http404
        form = StageForm(
            request.POST, prefix=target or "new", initial={"kind": stage.kind} if stage else None
        )
        if stage is not None:
            form.fields["kind"].disabled = True  # a stage's kind never changes
        if form.is_valid():
            try:
                actions.stage_save(
                    actor=request.user, federation=federation, stage=stage, **form.cleaned_data
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The stage has been saved."))
                return redirect("ideas:stages", federation_id=federation.public_id)
        failed = (target or "new", form)
        existing = list(Stage.objects.filter(federation=federation))  # a refused save changed nothing
    forms = [
        (
            s,
            failed[1]
            if failed and failed[0] == str(s.public_id)
            else StageForm(
                prefix=str(s.public_id),
                initial={
                    "label_de": s.label_de,
                    "label_sv": s.label_sv,
                    "label_en": s.label_en,
                    "kind": s.kind,
                    "position": s.position,
                    "is_active": s.is_active,
                },
            ),
        )
        for s in existing
    ]
    for _stage, form in forms:
        form.fields["kind"].disabled = True
    new_form = (
        failed[1]
        if failed and failed[0] == "new"
        else StageForm(
            prefix="new", initial={"position": actions.next_position(federation), "is_active": True}
        )
    )
    return render(
        request,
        "ideas/stages.html",
        nav_context(request, federation, forms=forms, new_form=new_form),
        status=400 if failed else 200,
    )
