"""Improvement cycles of local teams (the Swedish improvement model): the three questions (aim,
measure with its baseline, change idea), the measurements of a run chart and the PDSA cycles.

Rules:
- Only members of the cycle's team change it (``can_work_on_cycle``); the views check first with
  ``access_cycle_team``, and every action checks again (``PermissionDenied``).
- A closed cycle is read-only until it is reopened.
- **One value per date and cycle.** A run chart plots one point per period; a second value for a
  date is refused (delete the first to correct it), so the date names a measurement and no
  integer key ever leaves the server. Dates lie between five years ago and today; values have at
  most two decimals and fit the column (±9 999 999 999.99); at most ``MAX_MEASUREMENTS`` per cycle.
- PDSA cycles are numbered 1, 2, …; a new one starts only when the previous one has its Act
  decision. Plan and prediction are fixed once Do or Study has been written down (a prediction
  written after the test teaches nothing). Study needs Do, the decision needs Study, and the
  decision (adopt / adapt / abandon) ends the PDSA cycle: it sets ``ended_on`` and makes it final.

Errors are ``ValidationError``s keyed by the form field they concern (all of them at once where
that helps), translated; a refused action writes nothing. Audit entries carry ids, dates and
codes only.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.ideas.actions.items import clean_text
from wegweiser.ideas.models import SHORT_TEXT_MAX, TITLE_MAX, ImprovementCycle, Item, Measurement, Pdsa
from wegweiser.organizations.models import Node

VALUE_LIMIT = Decimal("9999999999.99")  # max_digits=12, decimal_places=2
CENT = Decimal("0.01")
YEARS_BACK = 5
MAX_MEASUREMENTS = 500
MAX_PDSA = 100
MEASURE_MAX = 200
UNIT_MAX = 40
NOTE_MAX = 200


class _Errors:
    """Collects field errors so a form shows every problem at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[ValidationError]] = {}

    def check(self, field: str, clean: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return clean(*args, **kwargs)
        except ValidationError as exc:
            self.errors.setdefault(field, []).extend(exc.error_list)
            return None

    def add(self, field: str, message: str, code: str) -> None:
        self.errors.setdefault(field, []).append(ValidationError(message, code=code))

    def raise_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _refuse(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: [ValidationError(message, code=code)]})


def earliest_date(today: datetime.date) -> datetime.date:
    try:
        return today.replace(year=today.year - YEARS_BACK)
    except ValueError:  # 29 February
        return today.replace(year=today.year - YEARS_BACK, day=28)


def clean_number(value: Any, *, label: str) -> Decimal:
    """A value of the measure: finite, at most two decimals, within the column's limits."""
    invalid = ValidationError(_("%(field)s: enter a number such as 12 or 12,5.") % {"field": label},
                              code="not_a_number")
    if isinstance(value, bool) or value is None:
        raise invalid
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise invalid from None
    if not number.is_finite():
        raise invalid
    if abs(number) > VALUE_LIMIT:
        raise ValidationError(_("%(field)s: the number is too large (at most %(max)s).")
                              % {"field": label, "max": number_format(VALUE_LIMIT, 2, force_grouping=True)},
                              code="too_large")
    if number != number.quantize(CENT):
        raise ValidationError(_("%(field)s: at most two decimal places.") % {"field": label},
                              code="too_precise")
    return number.quantize(CENT)


def clean_date(value: Any, *, label: str, today: datetime.date | None = None) -> datetime.date:
    """A date of the past five years, today included."""
    today = today or timezone.localdate()
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValidationError(_("%(field)s: enter a date.") % {"field": label}, code="bad_date")
    if value > today:
        raise ValidationError(_("%(field)s: the date cannot be in the future.") % {"field": label},
                              code="future_date")
    if value < earliest_date(today):
        raise ValidationError(_("%(field)s: the date cannot be more than %(years)s years ago.")
                              % {"field": label, "years": YEARS_BACK}, code="too_old")
    return value


def _check_team(actor: Any, cycle: ImprovementCycle) -> None:
    from wegweiser.ideas.access import can_work_on_cycle

    if not can_work_on_cycle(actor, cycle):
        raise PermissionDenied


def _locked(cycle: ImprovementCycle) -> ImprovementCycle:
    return (ImprovementCycle.objects.select_for_update(of=("self",)).select_related("federation", "team")
            .get(pk=cycle.pk))


def _check_open(cycle: ImprovementCycle) -> None:
    if cycle.closed_at is not None:
        raise ValidationError(_("This improvement cycle is closed. Reopen it to change it."), code="closed")


def _clean_cycle(errors: _Errors, *, title: str, aim: str, measure: str, measure_unit: str,
                 baseline: Any, change_idea: str) -> dict[str, Any]:
    return {
        "title": errors.check("title", clean_text, title, label=_("Title"), maximum=TITLE_MAX),
        "aim": errors.check("aim", clean_text, aim, label=_("Aim"), maximum=SHORT_TEXT_MAX),
        "measure": errors.check("measure", clean_text, measure, label=_("Measure"), maximum=MEASURE_MAX),
        "measure_unit": errors.check("measure_unit", clean_text, measure_unit, label=_("Unit"),
                                     maximum=UNIT_MAX, required=False),
        "baseline": errors.check("baseline", clean_number, baseline, label=_("Baseline")),
        "change_idea": errors.check("change_idea", clean_text, change_idea, label=_("Change idea"),
                                    maximum=SHORT_TEXT_MAX),
    }


def cycle_create(*, actor: Any, federation: Node, team: Node, title: str, aim: str, measure: str,
                 measure_unit: str, higher_is_better: bool, baseline: Any, change_idea: str,
                 item: Item | None = None) -> ImprovementCycle:
    """A team starts an improvement cycle, optionally for an idea of the federation's pipeline."""
    from wegweiser.ideas.access import units_with

    errors = _Errors()
    fields = _clean_cycle(errors, title=title, aim=aim, measure=measure, measure_unit=measure_unit,
                          baseline=baseline, change_idea=change_idea)
    if team.pk not in {unit.pk for unit in units_with(actor, federation)}:
        errors.add("team", _("Choose one of your own units as the team."), "bad_team")
    if item is not None and (item.federation_id != federation.pk or item.is_hidden):
        errors.add("item", _("This need or idea cannot be linked."), "bad_item")
    errors.raise_any()
    with transaction.atomic():
        cycle = ImprovementCycle.objects.create(federation=federation, team=team, item=item,
                                                created_by=actor, higher_is_better=bool(higher_is_better),
                                                **fields)
        audit_record(actor=actor, action="ideas.cycle_created", node=team, obj=cycle,
                     data={"item": str(item.public_id) if item else None})
    return cycle


def cycle_update(*, actor: Any, cycle: ImprovementCycle, title: str, aim: str, measure: str,
                 measure_unit: str, higher_is_better: bool, baseline: Any,
                 change_idea: str) -> ImprovementCycle:
    """The team sharpens its aim, measure or change idea; the audit names the changed fields."""
    _check_team(actor, cycle)
    errors = _Errors()
    fields = _clean_cycle(errors, title=title, aim=aim, measure=measure, measure_unit=measure_unit,
                          baseline=baseline, change_idea=change_idea)
    errors.raise_any()
    fields["higher_is_better"] = bool(higher_is_better)
    with transaction.atomic():
        cycle = _locked(cycle)
        _check_open(cycle)
        changed = sorted(name for name, value in fields.items() if getattr(cycle, name) != value)
        if not changed:
            return cycle
        for name in changed:
            setattr(cycle, name, fields[name])
        cycle.save(update_fields=changed)
        audit_record(actor=actor, action="ideas.cycle_updated", node=cycle.team, obj=cycle,
                     data={"fields": changed})
    return cycle


def cycle_close(*, actor: Any, cycle: ImprovementCycle) -> ImprovementCycle:
    _check_team(actor, cycle)
    with transaction.atomic():
        cycle = _locked(cycle)
        if cycle.closed_at is not None:
            raise ValidationError(_("This improvement cycle is closed already."), code="closed")
        cycle.closed_at = timezone.now()
        cycle.save(update_fields=["closed_at"])
        audit_record(actor=actor, action="ideas.cycle_closed", node=cycle.team, obj=cycle)
    return cycle


def cycle_reopen(*, actor: Any, cycle: ImprovementCycle) -> ImprovementCycle:
    _check_team(actor, cycle)
    with transaction.atomic():
        cycle = _locked(cycle)
        if cycle.closed_at is None:
            raise ValidationError(_("This improvement cycle is open already."), code="open")
        cycle.closed_at = None
        cycle.save(update_fields=["closed_at"])
        audit_record(actor=actor, action="ideas.cycle_reopened", node=cycle.team, obj=cycle)
    return cycle


def measurement_add(*, actor: Any, cycle: ImprovementCycle, date: Any, value: Any,
                    note: str = "") -> Measurement:
    """One value of the measure for one date (see the module docstring for the limits)."""
    _check_team(actor, cycle)
    errors = _Errors()
    date = errors.check("date", clean_date, date, label=_("Date"))
    value = errors.check("value", clean_number, value, label=_("Value"))
    note = errors.check("note", clean_text, note, label=_("Note"), maximum=NOTE_MAX, required=False)
    errors.raise_any()
    with transaction.atomic():
        cycle = _locked(cycle)
        _check_open(cycle)
        if Measurement.objects.filter(cycle=cycle, date=date).exists():
            raise _refuse("date", _("There is a value for this date already. Delete it first to "
                                    "correct it."), "date_taken")
        if Measurement.objects.filter(cycle=cycle).count() >= MAX_MEASUREMENTS:
            raise ValidationError(_("At most %(count)s values per improvement cycle.")
                                  % {"count": MAX_MEASUREMENTS}, code="too_many")
        measurement = Measurement.objects.create(cycle=cycle, date=date, value=value, note=note)
        audit_record(actor=actor, action="ideas.measurement_added", node=cycle.team, obj=cycle,
                     data={"date": date.isoformat()})
    return measurement


def measurement_delete(*, actor: Any, cycle: ImprovementCycle, date: datetime.date) -> None:
    _check_team(actor, cycle)
    with transaction.atomic():
        cycle = _locked(cycle)
        _check_open(cycle)
        deleted, _rows = Measurement.objects.filter(cycle=cycle, date=date).delete()
        if not deleted:
            raise ValidationError(_("There is no value for this date."), code="not_found")
        audit_record(actor=actor, action="ideas.measurement_deleted", node=cycle.team, obj=cycle,
                     data={"date": date.isoformat()})


def _clean_plan(errors: _Errors, plan: str, prediction: str) -> tuple[str, str]:
    return (errors.check("plan", clean_text, plan, label=_("Plan"), maximum=SHORT_TEXT_MAX),
            errors.check("prediction", clean_text, prediction, label=_("Prediction"), maximum=SHORT_TEXT_MAX))


def pdsa_start(*, actor: Any, cycle: ImprovementCycle, plan: str, prediction: str,
               started_on: Any = None) -> Pdsa:
    """Plan the next test of change: the next number, once the previous one is decided."""
    _check_team(actor, cycle)
    errors = _Errors()
    plan, prediction = _clean_plan(errors, plan, prediction)
    started_on = errors.check("started_on", clean_date, started_on or timezone.localdate(),
                              label=_("Start"))
    errors.raise_any()
    with transaction.atomic():
        cycle = _locked(cycle)
        _check_open(cycle)
        previous = Pdsa.objects.filter(cycle=cycle).order_by("-number").first()
        if previous is not None and not previous.decision:
            raise ValidationError(_("PDSA cycle %(number)s has no Act decision yet. Decide it (adopt, "
                                    "adapt or abandon) before you start the next one.")
                                  % {"number": previous.number}, code="previous_open")
        if previous is not None and started_on < previous.started_on:
            raise _refuse("started_on", _("The start cannot be before the start of PDSA cycle "
                                          "%(number)s.") % {"number": previous.number}, "before_previous")
        number = (Pdsa.objects.filter(cycle=cycle).aggregate(n=Max("number"))["n"] or 0) + 1
        if number > MAX_PDSA:
            raise ValidationError(_("At most %(count)s PDSA cycles per improvement cycle.")
                                  % {"count": MAX_PDSA}, code="too_many")
        pdsa = Pdsa.objects.create(cycle=cycle, number=number, plan=plan, prediction=prediction,
                                   started_on=started_on)
        audit_record(actor=actor, action="ideas.pdsa_started", node=cycle.team, obj=pdsa,
                     data={"cycle": str(cycle.public_id), "number": number})
    return pdsa


def pdsa_update(*, actor: Any, pdsa: Pdsa, do_notes: str, study: str, decision: str = "",
                act_notes: str = "", ended_on: Any = None, plan: str | None = None,
                prediction: str | None = None) -> Pdsa:
    """Write down Do, Study and Act of a running PDSA cycle (and, before Do, correct its plan).

    Do, Study and the Act notes are replaced by what is given (the form shows all of them);
    ``plan``/``prediction`` of None leave them as they are. A decision ends the cycle on
    ``ended_on`` (default: today) and makes it final."""
    cycle = pdsa.cycle
    _check_team(actor, cycle)
    errors = _Errors()
    do_notes = errors.check("do_notes", clean_text, do_notes, label=_("Do"), maximum=SHORT_TEXT_MAX,
                            required=False)
    study = errors.check("study", clean_text, study, label=_("Study"), maximum=SHORT_TEXT_MAX,
                         required=False)
    act_notes = errors.check("act_notes", clean_text, act_notes, label=_("Act"), maximum=SHORT_TEXT_MAX,
                             required=False)
    decision = decision or ""
    if decision and decision not in Pdsa.Decision.values:
        errors.add("decision", _("Choose adopt, adapt or abandon."), "bad_decision")
    new_plan = new_prediction = None
    if plan is not None or prediction is not None:
        new_plan, new_prediction = _clean_plan(errors, pdsa.plan if plan is None else plan,
                                               pdsa.prediction if prediction is None else prediction)
    if study and not do_notes:
        errors.add("study", _("Describe what happened (Do) before you write down the study results."),
                   "study_before_do")
    if decision and not study:
        errors.add("decision", _("Write down the study results before you decide (Act)."),
                   "act_before_study")
    if decision:
        ended_on = errors.check("ended_on", clean_date, ended_on or timezone.localdate(), label=_("End"))
    else:
        ended_on = None
    errors.raise_any()
    with transaction.atomic():
        cycle = _locked(cycle)
        _check_open(cycle)
        pdsa = Pdsa.objects.select_for_update().get(pk=pdsa.pk)
        if pdsa.decision:
            raise ValidationError(_("PDSA cycle %(number)s is decided and can no longer be changed. "
                                    "Start a new one.") % {"number": pdsa.number}, code="decided")
        if ended_on is not None and ended_on < pdsa.started_on:
            raise _refuse("ended_on", _("The end cannot be before the start."), "end_before_start")
        plan_changed = new_plan is not None and (new_plan, new_prediction) != (pdsa.plan, pdsa.prediction)
        if plan_changed and (pdsa.do_notes or pdsa.study):
            raise _refuse("prediction", _("Plan and prediction are fixed once the test has been carried "
                                          "out. Start a new PDSA cycle for a new plan."), "plan_fixed")
        steps = []
        if plan_changed:
            pdsa.plan, pdsa.prediction = new_plan or "", new_prediction or ""
            steps.append("plan")
        for step, field, value in (("do", "do_notes", do_notes), ("study", "study", study),
                                   ("act", "act_notes", act_notes)):
            if getattr(pdsa, field) != value:
                setattr(pdsa, field, value)
                steps.append(step)
        if decision:
            pdsa.decision, pdsa.ended_on = decision, ended_on
            if "act" not in steps:
                steps.append("act")
        if not steps:
            return pdsa
        pdsa.save()
        audit_record(actor=actor, action="ideas.pdsa_updated", node=cycle.team, obj=pdsa,
                     data={"cycle": str(cycle.public_id), "number": pdsa.number, "steps": steps,
                           "decision": decision or None})
    return pdsa
