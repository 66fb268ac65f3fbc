"""Workshops that take needs and ideas further: planning (date, place or online link, places,
linked items), registration from any unit of the federation, cancelling, and the outcome report
that names the linked items which moved on.

The caller has checked access (``ideas.access``: any staff of the federation reads and
registers, organizers are ``ideas.triage`` holders); the actions check the rules. Every action
is atomic, writes its audit entry (ids and codes only, never text) and changes nothing when it
refuses. The number of places holds under concurrency: registration locks the workshop row and
counts inside the transaction (on SQLite the IMMEDIATE transaction mode serializes writers).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wegweiser.core.audit import audit_record
from wegweiser.ideas.actions.items import clean_text
from wegweiser.ideas.models import TEXT_MAX, TITLE_MAX, Item, Notice, Registration, Workshop, WorkshopIdea
from wegweiser.organizations.access import Perm, has_perm
from wegweiser.organizations.models import Node

PLACE_MAX = 300
URL_MAX = 500
CAPACITY_MIN = 1
CAPACITY_MAX = 1000
MAX_LINKED_ITEMS = 30
MAX_DURATION = timedelta(days=14)
OUTCOME_MAX = TEXT_MAX * 2
ATTENDEES_MAX = 10_000

_https = URLValidator(schemes=["https"])


def _locked(workshop: Workshop) -> Workshop:
    """The workshop row, locked until the transaction ends (not the joined organization nodes)."""
    return (Workshop.objects.select_for_update(of=("self",)).select_related("federation", "organizer")
            .get(pk=workshop.pk))


def _minute(value: Any, *, label: str) -> datetime:
    """Workshops are planned to the minute (the form has no seconds); naive times are refused."""
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise ValidationError(_("%(field)s: enter a date and a time.") % {"field": label}, code="bad_time")
    return value.replace(second=0, microsecond=0)


def _clean_url(value: Any) -> str:
    url = str(value or "").strip()
    if not url:
        return ""
    if len(url) > URL_MAX:
        raise ValidationError(_("%(field)s: at most %(max)s characters, you wrote %(count)s.")
                              % {"field": _("Online link"), "max": URL_MAX, "count": len(url)},
                              code="too_long")
    try:
        _https(url)
    except ValidationError:
        raise ValidationError(_("The online link must be a complete address starting with https://."),
                              code="bad_url") from None
    return url


def _clean_capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not CAPACITY_MIN <= value <= CAPACITY_MAX:
        raise ValidationError(_("Places: enter a number from %(min)s to %(max)s.")
                              % {"min": CAPACITY_MIN, "max": CAPACITY_MAX}, code="bad_capacity")
    return value


def _closed_error(workshop: Workshop) -> ValidationError | None:
    if workshop.cancelled_at is not None:
        return ValidationError(_("This workshop was cancelled."), code="cancelled")
    return None


def workshop_save(*, actor: Any, federation: Node, organizer: Node, workshop: Workshop | None = None,
                  title: str, description: str, starts_at: datetime, ends_at: datetime, place: str,
                  online_url: str, capacity: int, items: list[Item]) -> Workshop:
    """Plan a workshop or change one. It needs a place or an https link; it ends after it starts
    (and within two weeks); a new or moved start lies in the future; the places never drop below
    the registrations; newly linked items belong to the federation and are not hidden (links to
    items hidden later stay, and so do the "moved on" marks of links that stay)."""
    title = clean_text(title, label=_("Title"), maximum=TITLE_MAX)
    description = clean_text(description, label=_("Description"), maximum=TEXT_MAX, required=False)
    place = clean_text(place, label=_("Place"), maximum=PLACE_MAX, required=False)
    online_url = _clean_url(online_url)
    if not place and not online_url:
        raise ValidationError(_("Give a place, an online link, or both."), code="no_place")
    starts_at = _minute(starts_at, label=_("Start"))
    ends_at = _minute(ends_at, label=_("End"))
    if ends_at <= starts_at:
        raise ValidationError(_("The workshop must end after it starts."), code="ends_before_start")
    if ends_at - starts_at > MAX_DURATION:
        raise ValidationError(_("A workshop can last at most %(days)s days.")
                              % {"days": MAX_DURATION.days}, code="too_long_duration")
    moved = workshop is None or starts_at != workshop.starts_at
    if moved and starts_at <= timezone.now():
        raise ValidationError(_("The start must lie in the future."), code="start_in_past")
    capacity = _clean_capacity(capacity)
    if organizer.federation_path != federation.path or not has_perm(actor, Perm.TRIAGE_IDEAS, organizer):
        raise ValidationError(_("Choose one of the units for which you organize workshops."),
                              code="bad_organizer")
    if workshop is not None and workshop.federation_id != federation.pk:
        raise ValidationError(_("This workshop belongs to another federation."), code="bad_federation")
    unique = list({item.pk: item for item in items}.values())
    if len(unique) > MAX_LINKED_ITEMS:
        raise ValidationError(_("Link at most %(count)s items to one workshop.")
                              % {"count": MAX_LINKED_ITEMS}, code="too_many_items")
    if any(item.federation_id != federation.pk for item in unique):
        raise ValidationError(_("Only items of this federation can be linked."), code="bad_item")
    fields = {"organizer": organizer, "title": title, "description": description, "starts_at": starts_at,
              "ends_at": ends_at, "place": place, "online_url": online_url, "capacity": capacity}
    with transaction.atomic():
        if workshop is None:
            workshop = Workshop.objects.create(federation=federation, created_by=actor, **fields)
            linked: set[int] = set()
            action = "ideas.workshop_created"
        else:
            workshop = _locked(workshop)
            if error := _closed_error(workshop):
                raise error
            registered = workshop.registrations.count()
            if capacity < registered:
                raise ValidationError(ngettext(
                    "%(count)s person is registered already: the workshop needs at least as many places.",
                    "%(count)s people are registered already: the workshop needs at least as many places.",
                    registered) % {"count": registered}, code="capacity_below_registrations")
            moved = any(getattr(workshop, name) != fields[name]
                        for name in ("starts_at", "ends_at", "place", "online_url"))
            for name, value in fields.items():
                setattr(workshop, name, value)
            workshop.save(update_fields=list(fields))
            if moved:
                notify_participants(workshop, Notice.Kind.WORKSHOP_CHANGED, exclude=actor)
            linked = set(WorkshopIdea.objects.filter(workshop=workshop).values_list("item_id", flat=True))
            action = "ideas.workshop_updated"
        wanted = {item.pk for item in unique}
        new = [item for item in unique if item.pk not in linked]
        if any(item.is_hidden for item in new):
            raise ValidationError(_("Hidden items cannot be linked to a workshop."), code="hidden_item")
        WorkshopIdea.objects.filter(workshop=workshop).exclude(item_id__in=wanted).delete()
        WorkshopIdea.objects.bulk_create([WorkshopIdea(workshop=workshop, item=item) for item in new])
        audit_record(actor=actor, action=action, node=organizer, obj=workshop,
                     data={"items": sorted(str(item.public_id) for item in unique), "capacity": capacity,
                           "online": bool(online_url), "place": bool(place)})
    return workshop


def notify_participants(workshop: Workshop, kind: str, *, exclude: Any = None) -> int:
    """A notice for everyone registered (but the organizer who changed it), inside the caller's
    transaction; the ``notify`` job e-mails those who want e-mail, without content."""
    registered = workshop.registrations.exclude(user_id=getattr(exclude, "pk", 0) or 0)
    users = registered.values_list("user_id", flat=True)
    notices = [Notice(user_id=user_id, workshop=workshop, kind=kind) for user_id in users]
    Notice.objects.bulk_create(notices)
    return len(notices)


def workshop_cancel(*, actor: Any, workshop: Workshop) -> Workshop:
    """Call a workshop off before it starts; registrations stay so participants see it on the
    page. A cancelled workshop cannot be changed, booked or reported on."""
    with transaction.atomic():
        workshop = _locked(workshop)
        if error := _closed_error(workshop):
            raise error
        if workshop.starts_at <= timezone.now():
            raise ValidationError(_("This workshop has started already; it can no longer be cancelled."),
                                  code="started")
        workshop.cancelled_at = timezone.now()
        workshop.save(update_fields=["cancelled_at"])
        notify_participants(workshop, Notice.Kind.WORKSHOP_CANCELLED, exclude=actor)
        audit_record(actor=actor, action="ideas.workshop_cancelled", node=workshop.organizer, obj=workshop,
                     data={"registrations": workshop.registrations.count()})
    return workshop


def workshop_register(*, user: Any, workshop: Workshop, branch: Node) -> Registration:
    """One place for ``user``, counted for one of their own units; refused when the workshop is
    full, has started, was cancelled or the user is registered already."""
    from wegweiser.ideas.access import units_with

    if branch.pk not in {unit.pk for unit in units_with(user, workshop.federation)}:
        raise ValidationError(_("Choose one of your own units."), code="bad_branch")
    with transaction.atomic():
        workshop = _locked(workshop)
        if error := _closed_error(workshop):
            raise error
        if workshop.starts_at <= timezone.now():
            raise ValidationError(_("This workshop has started already; registration is closed."),
                                  code="started")
        if Registration.objects.filter(workshop=workshop, user_id=user.pk).exists():
            raise ValidationError(_("You are registered for this workshop already."), code="twice")
        if workshop.registrations.count() >= workshop.capacity:
            raise ValidationError(_("This workshop is fully booked."), code="full")
        try:
            with transaction.atomic():
                registration = Registration.objects.create(workshop=workshop, user=user, branch=branch)
        except IntegrityError:
            raise ValidationError(_("You are registered for this workshop already."), code="twice") from None
        audit_record(actor=user, action="ideas.workshop_registered", node=branch, obj=workshop)
    return registration


def workshop_unregister(*, user: Any, workshop: Workshop) -> None:
    """Give the place back, until the workshop starts."""
    with transaction.atomic():
        workshop = _locked(workshop)
        if workshop.starts_at <= timezone.now():
            raise ValidationError(_("This workshop has started already; the registration cannot be "
                                    "withdrawn any more."), code="started")
        registration = Registration.objects.filter(workshop=workshop, user_id=user.pk).select_related(
            "branch").first()
        if registration is None:
            raise ValidationError(_("You are not registered for this workshop."), code="not_registered")
        branch = registration.branch
        registration.delete()
        audit_record(actor=user, action="ideas.workshop_unregistered", node=branch, obj=workshop)


def workshop_outcome(*, actor: Any, workshop: Workshop, outcome: str, attendee_count: int | None,
                     moved_on_items: list[Item]) -> Workshop:
    """The outcome report, once the workshop has started (and may be corrected later): what came
    out, how many took part, and which of the linked items moved on."""
    outcome = clean_text(outcome, label=_("Outcome report"), maximum=OUTCOME_MAX)
    if attendee_count is not None and (isinstance(attendee_count, bool) or not isinstance(attendee_count, int)
                                       or not 0 <= attendee_count <= ATTENDEES_MAX):
        raise ValidationError(_("Participants: enter a number from 0 to %(max)s.") % {"max": ATTENDEES_MAX},
                              code="bad_attendee_count")
    with transaction.atomic():
        workshop = _locked(workshop)
        if error := _closed_error(workshop):
            raise error
        if workshop.starts_at > timezone.now():
            raise ValidationError(_("The outcome can be reported once the workshop has started."),
                                  code="not_started")
        linked = set(WorkshopIdea.objects.filter(workshop=workshop).values_list("item_id", flat=True))
        moved = {item.pk: item for item in moved_on_items}
        if not set(moved) <= linked:
            raise ValidationError(_("Only items linked to this workshop can be marked as moved on."),
                                  code="not_linked")
        WorkshopIdea.objects.filter(workshop=workshop).update(moved_on=False)
        WorkshopIdea.objects.filter(workshop=workshop, item_id__in=moved).update(moved_on=True)
        first = workshop.outcome_at is None
        workshop.outcome = outcome
        workshop.attendee_count = attendee_count
        workshop.outcome_at = timezone.now()
        workshop.save(update_fields=["outcome", "attendee_count", "outcome_at"])
        audit_record(actor=actor, action="ideas.workshop_outcome_recorded" if first
                     else "ideas.workshop_outcome_updated", node=workshop.organizer, obj=workshop,
                     data={"moved_on": sorted(str(item.public_id) for item in moved.values()),
                           "attendees": attendee_count})
    return workshop
