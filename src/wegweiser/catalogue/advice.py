"""Needs-based advice: a few answers in, a ranked and explained shortlist out.

Pure: plain dataclasses in and out, no database, so the rules can be read and unit-tested on
their own (tests/test_catalogue_advice.py). The selectors turn Tool rows into ``Candidate``s.

How a tool is judged (every step leaves a ``Reason`` the page shows in words):

1. **Hard rules exclude.** A tool that cannot meet a stated need is ruled out, with the reason:
   self-hosting required but impossible; no self-hosting wanted but only self-hostable; paid only
   with no budget; and when vulnerable clients are involved: a red rating, "not suitable for
   vulnerable clients", or no processing agreement when the organization does not run the tool
   itself (DSK: a self-operated service needs no agreement, every other form does).
2. **Soft criteria score.** The traffic light weighs most (green +4 … red −5), then what the
   BlnBDI/DSK check first (processing agreement, server location / third-country transfer), then
   encryption, telemetry, open source, accessibility, cost against the budget, the fit for
   vulnerable clients (only when they are involved) and the wish to self-host. Unknown facts cost
   a point where they matter, because they have to be checked before use.
3. **The number of users** changes two things: a small team (1–10) that only *prefers* to
   self-host is reminded that running a server is work; a paid tool costs more the more people
   use it, which weighs against a small budget from 51 users on.
4. **Order**: score, then the light (green, yellow, not rated, red), then the name. The shortlist
   is the best ``shortlist_size``; the others that passed stay visible below it, and the ruled-out
   ones are listed with their reasons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

USERS = ("1_10", "11_50", "51_250", "251_plus")
SELF_HOSTING = ("required", "preferred", "no")
BUDGET = ("none", "small", "any")
LIGHT_ORDER = {"green": 0, "yellow": 1, "unknown": 2, "red": 3}

# Every reason the advice can give. Placeholders: source, date, licence.
REASONS: dict[str, Promise] = {
    # hard rules
    "cannot_self_host_required": _("Cannot be run on your own server, and you need self-hosting."),
    "no_hosted_offer": _("Only available to run on your own server, and you do not want to self-host."),
    "paid_no_budget": _("Paid only, and you have no budget."),
    "red_for_clients": _("Rated red by %(source)s (%(date)s): ruled out for vulnerable clients."),
    "unfit_for_clients": _("Not suitable for vulnerable clients."),
    "no_dpa_for_clients": _("No processing agreement: ruled out for client data."),
    # traffic light
    "rated_green": _("Rated green by %(source)s (%(date)s)."),
    "rated_yellow": _("Rated yellow by %(source)s (%(date)s): defects that can be fixed."),
    "rated_red": _("Rated red by %(source)s (%(date)s): defects that rule out lawful use."),
    "not_rated": _("Not rated by a data-protection authority: check it yourself."),
    # processing agreement
    "dpa_yes": _("Processing agreement available."),
    "dpa_not_needed": _("Run on your own server: no processing agreement needed."),
    "dpa_with_hoster": _("Agree a processing agreement with the hosting provider you choose."),
    "dpa_no": _("No processing agreement: not for personal data."),
    "dpa_unknown": _("Not known whether there is a processing agreement."),
    # server location
    "servers_de": _("Servers in Germany."),
    "servers_eu": _("EU servers."),
    "servers_adequate": _("Servers outside the EU, in a country with an adequacy decision."),
    "servers_own": _("Runs on your own server: you decide where."),
    "servers_hoster": _("Server location depends on the hosting provider you choose."),
    "servers_third_country": _("Servers in a third country: data transfer outside the EU."),
    "servers_unknown": _("Server location not known."),
    # encryption
    "e2e": _("End-to-end encrypted."),
    "e2e_partial": _("Partly end-to-end encrypted."),
    "transport_only": _("Transport encryption only: the operator can read the content."),
    "no_encryption": _("Not encrypted."),
    "e2e_unknown": _("Encryption not known."),
    # telemetry
    "telemetry_none": _("No telemetry."),
    "telemetry_low": _("Little telemetry."),
    "telemetry_high": _("Collects a lot of usage data and metadata."),
    "telemetry_unknown": _("Telemetry not known."),
    # openness and self-hosting
    "open_source": _("Open source (%(licence)s)."),
    "can_self_host": _("Can be self-hosted."),
    "cannot_self_host": _("Cannot be self-hosted."),
    "small_team_hosting": _(
        "Running your own server is real work for a small team: consider a hosting provider."),
    # cost
    "free": _("Free of charge."),
    "freemium_limited": _("Free basic version, which may be too limited."),
    "freemium": _("Free basic version, paid plans."),
    "discount_not_free": _("Discount for non-profits, but not free."),
    "nonprofit_discount": _("Discount for non-profits."),
    "paid": _("Paid licence."),
    "paid_small_budget": _("Paid licence: costs grow with the number of users."),
    "paid_many_users": _("Paid licence: expensive for this many users on a small budget."),
    "cost_unknown": _("Cost not known."),
    # accessibility
    "accessibility_tested": _("Accessibility tested."),
    "accessibility_statement": _("Accessibility statement by the vendor."),
    "accessibility_unknown": _("Accessibility not known."),
    # vulnerable clients
    "fit_yes": _("Suitable for vulnerable clients."),
    "fit_with_measures": _("Suitable for vulnerable clients with additional measures."),
    "fit_unknown": _("Not known whether it suits vulnerable clients."),
}


@dataclass(frozen=True)
class Needs:
    """The answers. ``purpose`` is a category key; the form checks every value."""

    purpose: str
    users: str
    self_hosting: str
    budget: str
    vulnerable_clients: bool

    def __post_init__(self) -> None:
        for name, allowed in (("users", USERS), ("self_hosting", SELF_HOSTING), ("budget", BUDGET)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class Candidate:
    """The facts of one tool, as the selectors read them (codes of the model's choices)."""

    slug: str
    name: str
    light: str = "unknown"
    rating_source: str = ""
    rating_date: dt.date | None = None
    dpa: str = "unknown"
    server_location: str = "unknown"
    e2e: str = "unknown"
    telemetry: str = "unknown"
    open_source: bool = False
    licence: str = ""
    self_hostable: bool = False
    hosted_offer: bool = True
    cost_model: str = "unknown"
    accessibility: str = "unknown"
    vulnerable_fit: str = "unknown"


@dataclass(frozen=True)
class Reason:
    code: str
    points: int = 0
    excludes: bool = False
    params: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        return str(REASONS[self.code]) % dict(self.params) if self.params else str(REASONS[self.code])


@dataclass(frozen=True)
class Recommendation:
    candidate: Candidate
    score: int
    reasons: tuple[Reason, ...]

    @property
    def excluded(self) -> bool:
        return any(r.excludes for r in self.reasons)

    @property
    def exclusions(self) -> list[Reason]:
        return [r for r in self.reasons if r.excludes]

    @property
    def pros(self) -> list[Reason]:
        return [r for r in self.reasons if not r.excludes and r.points > 0]

    @property
    def cons(self) -> list[Reason]:
        """Against the tool, the heaviest first."""
        return sorted((r for r in self.reasons if not r.excludes and r.points < 0), key=lambda r: r.points)

    @property
    def notes(self) -> list[Reason]:
        """Neither for nor against: facts to check or to know (no points)."""
        return [r for r in self.reasons if not r.excludes and r.points == 0]


@dataclass(frozen=True)
class Advice:
    needs: Needs
    shortlist: list[Recommendation] = field(default_factory=list)
    others: list[Recommendation] = field(default_factory=list)
    excluded: list[Recommendation] = field(default_factory=list)


def _rating_params(candidate: Candidate) -> tuple[tuple[str, str], ...]:
    date = formats.date_format(candidate.rating_date, "SHORT_DATE_FORMAT") if candidate.rating_date else "—"
    return (("source", candidate.rating_source or "—"), ("date", date))


def _runs_it_itself(needs: Needs, candidate: Candidate) -> bool:
    return candidate.self_hostable and needs.self_hosting in ("required", "preferred")


def _hard_rules(needs: Needs, c: Candidate, own: bool) -> list[Reason]:
    out = []
    if needs.self_hosting == "required" and not c.self_hostable:
        out.append(Reason("cannot_self_host_required", excludes=True))
    if needs.self_hosting == "no" and not c.hosted_offer:
        out.append(Reason("no_hosted_offer", excludes=True))
    if needs.budget == "none" and c.cost_model == "paid":
        out.append(Reason("paid_no_budget", excludes=True))
    if needs.vulnerable_clients:
        if c.light == "red":
            out.append(Reason("red_for_clients", excludes=True, params=_rating_params(c)))
        if c.vulnerable_fit == "no":
            out.append(Reason("unfit_for_clients", excludes=True))
        if c.dpa == "no" and not own:
            out.append(Reason("no_dpa_for_clients", excludes=True))
    return out


def _light(needs: Needs, c: Candidate) -> list[Reason]:
    if c.light == "green":
        return [Reason("rated_green", 4, params=_rating_params(c))]
    if c.light == "yellow":
        return [Reason("rated_yellow", 1, params=_rating_params(c))]
    if c.light == "red":
        return [] if needs.vulnerable_clients else [Reason("rated_red", -5, params=_rating_params(c))]
    return [Reason("not_rated", 0)]


def _dpa(c: Candidate, own: bool) -> Reason | None:
    if own and c.dpa in ("own_operation", "no"):
        return Reason("dpa_not_needed", 2)
    return {
        "yes": Reason("dpa_yes", 2),
        "own_operation": Reason("dpa_with_hoster", 0),
        "no": Reason("dpa_no", -3),
        "unknown": Reason("dpa_unknown", -1),
    }.get(c.dpa)


def _servers(needs: Needs, c: Candidate, own: bool) -> Reason | None:
    if c.server_location == "self_hosted":
        return Reason("servers_own", 2) if own else Reason("servers_hoster", 0)
    if c.server_location == "third_country":
        return Reason("servers_third_country", -4 if needs.vulnerable_clients else -3)
    return {
        "de": Reason("servers_de", 2),
        "eu": Reason("servers_eu", 2),
        "adequate": Reason("servers_adequate", 1),
        "unknown": Reason("servers_unknown", -1),
    }.get(c.server_location)


def _encryption(needs: Needs, c: Candidate) -> Reason | None:
    return {
        "yes": Reason("e2e", 2),
        "partial": Reason("e2e_partial", 1),
        "transport_only": Reason("transport_only", -1 if needs.vulnerable_clients else 0),
        "no": Reason("no_encryption", -2),
        "unknown": Reason("e2e_unknown", -1),
    }.get(c.e2e)


def _telemetry(c: Candidate) -> Reason | None:
    return {
        "none": Reason("telemetry_none", 2),
        "low": Reason("telemetry_low", 1),
        "high": Reason("telemetry_high", -2),
        "unknown": Reason("telemetry_unknown", 0),
    }.get(c.telemetry)


def _self_hosting(needs: Needs, c: Candidate) -> list[Reason]:
    out = []
    if needs.self_hosting == "required" and c.self_hostable:
        out.append(Reason("can_self_host", 1))
    elif needs.self_hosting == "preferred":
        out.append(Reason("can_self_host", 2) if c.self_hostable else Reason("cannot_self_host", -1))
        if c.self_hostable and needs.users == "1_10":
            out.append(Reason("small_team_hosting", -1))
    return out


def _cost(needs: Needs, c: Candidate) -> Reason | None:
    budget, many = needs.budget, needs.users in ("51_250", "251_plus")
    if c.cost_model == "free":
        return Reason("free", 1 if budget == "any" else 2)
    if c.cost_model == "freemium":
        return {"none": Reason("freemium_limited", 0), "small": Reason("freemium", 1)}.get(
            budget, Reason("freemium", 0))
    if c.cost_model == "nonprofit_discount":
        return {"none": Reason("discount_not_free", -1), "small": Reason("nonprofit_discount", 1)}.get(
            budget, Reason("nonprofit_discount", 0))
    if c.cost_model == "paid":
        if budget == "small":
            return Reason("paid_many_users", -3) if many else Reason("paid_small_budget", -2)
        return Reason("paid", 0)  # with no budget the hard rule has ruled it out already
    return Reason("cost_unknown", 0)


def _accessibility(needs: Needs, c: Candidate) -> Reason | None:
    return {
        "tested": Reason("accessibility_tested", 2),
        "statement": Reason("accessibility_statement", 1),
        "unknown": Reason("accessibility_unknown", -1 if needs.vulnerable_clients else 0),
    }.get(c.accessibility)


def _fit(needs: Needs, c: Candidate) -> Reason | None:
    if not needs.vulnerable_clients:
        return None
    return {
        "yes": Reason("fit_yes", 2),
        "with_measures": Reason("fit_with_measures", 0),
        "unknown": Reason("fit_unknown", -1),
    }.get(c.vulnerable_fit)


def assess(needs: Needs, candidate: Candidate) -> Recommendation:
    """One tool against the needs: its score and every reason, hard ones first."""
    own = _runs_it_itself(needs, candidate)
    reasons: list[Reason | None] = [*_hard_rules(needs, candidate, own), *_light(needs, candidate),
                                    _dpa(candidate, own), _servers(needs, candidate, own),
                                    _encryption(needs, candidate), _telemetry(candidate)]
    if candidate.open_source:
        reasons.append(Reason("open_source", 1, params=(("licence", candidate.licence or "—"),)))
    reasons += [*_self_hosting(needs, candidate), _cost(needs, candidate),
                _accessibility(needs, candidate), _fit(needs, candidate)]
    kept = tuple(r for r in reasons if r is not None)
    return Recommendation(candidate=candidate, score=sum(r.points for r in kept), reasons=kept)


def _order(rec: Recommendation) -> tuple[Any, ...]:
    return (-rec.score, LIGHT_ORDER.get(rec.candidate.light, 2), rec.candidate.name.casefold(),
            rec.candidate.slug)


def advise(needs: Needs, candidates: list[Candidate], *, shortlist_size: int = 5) -> Advice:
    """Rank the candidates for the needs. The caller passes the tools of the purpose's category."""
    assessed = [assess(needs, c) for c in candidates]
    passed = sorted((r for r in assessed if not r.excluded), key=_order)
    excluded = sorted((r for r in assessed if r.excluded), key=_order)
    return Advice(needs=needs, shortlist=passed[:shortlist_size], others=passed[shortlist_size:],
                  excluded=excluded)


# The "neutral" needs behind "best-rated first" (selectors.tools_for_categories): no wish about
# self-hosting or budget, a mid-sized team, clients involved — the strictest reading of the data.
NEUTRAL = Needs(purpose="", users="11_50", self_hosting="no", budget="any", vulnerable_clients=True)


def best_first_key(candidate: Candidate) -> tuple[Any, ...]:
    """Sort key for "best-rated first": the light, then the criteria, then the name."""
    rec = assess(NEUTRAL, candidate)
    criteria = sum(r.points for r in rec.reasons if not r.excludes)
    return (LIGHT_ORDER.get(candidate.light, 2), -criteria, candidate.name.casefold(), candidate.slug)
