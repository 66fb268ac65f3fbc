"""Load demo data idempotently: a federation with two regions, three branches and four agencies,
a second federation (for isolation), demo staff with TOTP, a demo client, counseling and benefits
demo data, and needs and ideas with a planned workshop and an improvement cycle.

Refuses to run unless DEBUG or WEGWEISER_DEMO=1: demo passwords must never reach production.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from wegweiser.accounts.models import User
from wegweiser.organizations import actions
from wegweiser.organizations.models import Membership, Node, NodeKind, Role

DEMO_PASSWORD = "wegweiser-demo-passwort"  # noqa: S105 - printed for the demo on purpose
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPWEGWEISERDEMO234"  # noqa: S105 - base32, shown to demo users

TREE: dict[str, Any] = {
    "name": "Wohlfahrtsverband Demo e. V.",
    "children": [
        {"name": "Landesverband Nord", "kind": NodeKind.REGION, "children": [
            {"name": "Kreisverband Kiel", "kind": NodeKind.BRANCH, "children": [
                {"name": "Schuldnerberatung Kiel", "kind": NodeKind.AGENCY},
                {"name": "Suchtberatung Kiel", "kind": NodeKind.AGENCY},
            ]},
            {"name": "Kreisverband Lübeck", "kind": NodeKind.BRANCH, "children": [
                {"name": "Erziehungsberatung Lübeck", "kind": NodeKind.AGENCY},
            ]},
        ]},
        {"name": "Landesverband Süd", "kind": NodeKind.REGION, "children": [
            {"name": "Kreisverband Augsburg", "kind": NodeKind.BRANCH, "children": [
                {"name": "Schwangerschaftsberatung Augsburg", "kind": NodeKind.AGENCY},
            ]},
        ]},
    ],
}
OTHER_TREE: dict[str, Any] = {
    "name": "Välfärd Demo Sverige",
    "children": [
        {"name": "Region Skåne", "kind": NodeKind.REGION, "children": [
            {"name": "Trelleborg", "kind": NodeKind.BRANCH, "children": [
                {"name": "Socialtjänsten Trelleborg", "kind": NodeKind.AGENCY},
            ]},
        ]},
    ],
}
# federation → [(topic, welcome message, [(agency, postcode ranges, languages)])]
COUNSELING: dict[str, list[tuple[str, str, list[tuple[str, list[tuple[str, str]], list[str]]]]]] = {
    "Wohlfahrtsverband Demo e. V.": [
        ("Schuldenberatung", "Willkommen! Eine Beraterin oder ein Berater antwortet Ihnen bald.",
         [("Schuldnerberatung Kiel", [("24000", "24999")], ["de", "en", "tr"])]),
        ("Suchtberatung", "Willkommen bei der Suchtberatung. Sie bleiben anonym.",
         [("Suchtberatung Kiel", [("24000", "25999")], ["de", "ar"])]),
        ("Erziehungsberatung", "",
         [("Erziehungsberatung Lübeck", [("23500", "23999")], ["de"])]),
        ("Schwangerschaftsberatung", "",
         [("Schwangerschaftsberatung Augsburg", [("86000", "86999")], ["de", "uk"])]),
    ],
    "Välfärd Demo Sverige": [
        ("Ekonomiskt bistånd", "Välkommen! En socialsekreterare svarar dig snart.",
         [("Socialtjänsten Trelleborg", [("23100", "23199")], ["sv", "en", "ar"])]),
    ],
}
# username, description, node name, role (None: no role)
STAFF = [
    ("frieda", "federation admin", "Wohlfahrtsverband Demo e. V.", Role.FEDERATION_ADMIN),
    ("kai", "organization admin, Kreisverband Kiel", "Kreisverband Kiel", Role.ORG_ADMIN),
    ("greta", "competence centre (needs and ideas) of the federation", "Wohlfahrtsverband Demo e. V.",
     Role.INNOVATION),
    ("sven", "staff member, Kreisverband Augsburg", "Kreisverband Augsburg", Role.STAFF),
    ("ayse", "agency lead, Schuldnerberatung Kiel", "Schuldnerberatung Kiel", Role.AGENCY_LEAD),
    ("jonas", "counselor, Schuldnerberatung Kiel", "Schuldnerberatung Kiel", Role.COUNSELOR),
    ("lars", "counselor, Socialtjänsten Trelleborg (other federation)",
     "Socialtjänsten Trelleborg", Role.COUNSELOR),
    ("karin", "case worker (benefits), Socialtjänsten Trelleborg (other federation)",
     "Socialtjänsten Trelleborg", Role.CASE_WORKER),
    ("otto", "staff account without any role", None, None),
]


class Command(BaseCommand):
    help = "Load demo data (idempotent). Only with DEBUG=1 or WEGWEISER_DEMO=1."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_ALLOWED:
            raise CommandError("Demo data is only loaded with DEBUG=1 or WEGWEISER_DEMO=1.")
        with transaction.atomic():
            nodes: dict[str, Node] = {}
            for tree in (TREE, OTHER_TREE):
                root = Node.objects.get_root_nodes().filter(name=tree["name"]).first()
                if root is None:
                    root = actions.federation_create(actor=None, name=tree["name"])
                nodes[root.name] = root
                self._children(root, tree.get("children", []), nodes)
            for username, _desc, node_name, role in STAFF:
                user = self._user(username, User.Kind.STAFF)
                if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                    TOTP.activate(user, DEMO_TOTP_SECRET)
                if node_name and role:
                    node = nodes[node_name]
                    if not Membership.objects.filter(user=user, node=node, role=role).exists():
                        actions.membership_create(actor=None, node=node, user=user, role=role)
            mia = self._user("mia", User.Kind.CLIENT)
            self._counseling(nodes, mia)
            self._benefits(nodes, mia)
            self._ideas(nodes)
            self._maturity()
        self._print()

    def _benefits(self, nodes: dict[str, Node], mia: User) -> None:
        """Two benefit offices (Bürgergeld in Kiel, försörjningsstöd in Trelleborg) that decide
        unchanged repeat applications automatically, and a decided November for mia in Kiel, so
        her December application starts pre-filled."""
        from wegweiser.benefits import actions as benefits
        from wegweiser.benefits.models import Application, BenefitOffice

        policy = {"auto_enabled": True, "auto_repeat_only": True, "auto_max_change_percent": 5,
                  "auto_require_receipts": False, "four_eyes_above": 300000}
        offices = {}
        for node_name, ruleset in (("Schuldnerberatung Kiel", "de.buergergeld"),
                                   ("Socialtjänsten Trelleborg", "se.ekonomiskt_bistand")):
            node = nodes[node_name]
            offices[node_name] = (BenefitOffice.objects.filter(node=node).first()
                                  or benefits.office_create(actor=None, node=node, ruleset=ruleset, **policy))
        if not Application.objects.filter(applicant=mia).exists():
            application = benefits.application_start(applicant=mia, office=offices["Schuldnerberatung Kiel"],
                                                     month="2026-11", language="de")
            benefits.application_save(applicant=mia, application=application, household={
                "persons": [{"id": "p1", "role": "adult", "age": 31,
                             "income": {"earnings_gross": 60000, "earnings_net": 48000}},
                            {"id": "p2", "role": "child", "age": 4, "income": {"child_benefit": 25500}}],
                "costs": {"rent": 52000, "utilities": 9000, "heating": 7000}})
            application = benefits.application_submit(applicant=mia, application=application)
            benefits.application_decide(actor=User.objects.get(username="ayse"), application=application)

    def _counseling(self, nodes: dict[str, Node], mia: User) -> None:
        """Topics, agency settings with postcode ranges, and a conversation of mia with jonas."""
        from wegweiser.counseling import actions as counseling
        from wegweiser.counseling.models import Agency, Conversation, PostcodeRange, Topic

        for fed_name, topic_specs in COUNSELING.items():
            fed = nodes[fed_name]
            for topic_name, welcome, agencies in topic_specs:
                topic, _ = Topic.objects.get_or_create(
                    organization=fed, name=topic_name,
                    defaults={"welcome_message": welcome, "postcode_required": True})
                for agency_name, ranges, languages in agencies:
                    agency, created = Agency.objects.get_or_create(
                        node=nodes[agency_name],
                        defaults={"languages": languages, "opening_hours": "Mo-Fr 9-16"})
                    agency.topics.add(topic)
                    if created:
                        country = "SE" if fed_name == "Välfärd Demo Sverige" else "DE"
                        for start, end in ranges:
                            PostcodeRange.objects.create(agency=agency, country=country, start=start, end=end)
        debt = Topic.objects.get(name="Schuldenberatung")
        kiel = Agency.objects.get(node=nodes["Schuldnerberatung Kiel"])
        if not Conversation.objects.filter(client=mia).exists():
            conversation = counseling.enquiry_create(
                client=mia, agency=kiel, topic=debt, postcode="24103",
                body="Hallo, ich habe Mietschulden und weiß nicht, wie es weitergeht.")
            jonas = User.objects.get(username="jonas")
            counseling.enquiry_accept(actor=jonas, conversation=conversation)
            conversation.refresh_from_db()
            counseling.message_post(user=jonas, conversation=conversation,
                                    body="Guten Tag, danke für Ihre Nachricht. Wie hoch sind die "
                                         "Schulden ungefähr?")

    def _ideas(self, nodes: dict[str, Node]) -> None:
        """Needs and ideas of the German federation: a few items from three branches, supports,
        one idea moved to the workshop stage with its answer, and a planned workshop for it."""
        from wegweiser.ideas import actions as ideas
        from wegweiser.ideas.models import Item, Stage

        fed = nodes["Wohlfahrtsverband Demo e. V."]
        if Item.objects.filter(federation=fed).exists():
            return
        names = ["jonas", "ayse", "sven", "greta"]
        users = {u.username: u for u in User.objects.filter(username__in=names)}
        specs = [
            ("jonas", "Schuldnerberatung Kiel", "idea", "elderly_care",
             "Telefonkette gegen Einsamkeit im Alter",
             "Viele ältere Ratsuchende leben allein und melden sich erst, wenn es zu spät ist. Ehrenamtliche "
             "könnten sie jede Woche anrufen."),
            ("ayse", "Schuldnerberatung Kiel", "need", "counseling", "Termine online buchen",
             "Ratsuchende rufen oft vergeblich an. Wir brauchen eine Terminbuchung im Netz, die den "
             "Datenschutz einhält."),
            ("sven", "Kreisverband Augsburg", "need", "volunteering", "Einsatzplanung für Ehrenamtliche",
             "Die Dienstpläne der Ehrenamtlichen laufen über Zettel und WhatsApp-Gruppen."),
            ("sven", "Kreisverband Augsburg", "idea", "youth", "Digitaler Jugendtreff am Abend",
             "Jugendliche auf dem Land erreichen den Treff abends nicht mehr."),
        ]
        items = [ideas.item_create(author=users[author], federation=fed, branch=nodes[unit], kind=kind,
                                   field=field, title=title, problem=problem, affected="")
                 for author, unit, kind, field, title, problem in specs]
        ideas.item_support(user=users["sven"], item=items[0], branch=nodes["Kreisverband Augsburg"])
        ideas.item_support(user=users["ayse"], item=items[0], branch=nodes["Schuldnerberatung Kiel"])
        ideas.item_support(user=users["jonas"], item=items[1], branch=nodes["Schuldnerberatung Kiel"])
        workshop = Stage.objects.get(federation=fed, key="workshop")
        ideas.item_move(actor=users["greta"], item=items[0], stage=workshop,
                        answer="Gute Idee! Wir laden im Januar zu einem Workshop mit den Kreisverbänden ein.")
        start = timezone.localtime() + dt.timedelta(days=21)
        start = start.replace(hour=10, minute=0, second=0, microsecond=0)
        planned = ideas.workshop_save(
            actor=users["greta"], federation=fed, organizer=fed, title="Workshop: Einsamkeit im Alter",
            description="Wir entwickeln die Telefonkette gemeinsam weiter.", starts_at=start,
            ends_at=start + dt.timedelta(hours=3), place="Kreisverband Kiel, Raum 2", online_url="",
            capacity=12, items=[items[0]])
        ideas.workshop_register(user=users["sven"], workshop=planned, branch=nodes["Kreisverband Augsburg"])
        today = timezone.localdate()
        cycle = ideas.cycle_create(
            actor=users["ayse"], federation=fed, team=nodes["Schuldnerberatung Kiel"],
            title="Rückruf am selben Tag", aim="Jede Anfrage am Telefon bekommt am selben Tag einen Rückruf.",
            measure="Anteil der Rückrufe am selben Tag", measure_unit="%", higher_is_better=True,
            baseline="55", change_idea="Ein festes Rückruf-Fenster von 14 bis 15 Uhr.", item=items[1])
        for weeks, value in ((8, "52"), (7, "58"), (6, "55"), (5, "61"), (4, "68"), (3, "72"), (2, "75"),
                             (1, "79")):
            ideas.measurement_add(actor=users["ayse"], cycle=cycle, date=today - dt.timedelta(weeks=weeks),
                                  value=value)
        ideas.pdsa_start(actor=users["ayse"], cycle=cycle, started_on=today - dt.timedelta(weeks=5),
                         plan="Zwei Wochen lang ruft Jonas alle Anfragen von 14 bis 15 Uhr zurück.",
                         prediction="Mindestens 65 % Rückrufe am selben Tag.")

    def _maturity(self) -> None:
        """The tool catalogue's sourced demo set, and the partner directory's fictional demo entries
        with the login "partner" for one of them (a partner account: no TOTP, no organization role)."""
        from wegweiser.catalogue.actions import catalogue_load
        from wegweiser.partners.actions import partners_demo

        catalogue_load(actor=None)
        partners_demo(login=self._user("partner", User.Kind.STAFF))

    def _children(self, parent: Node, children: list[dict[str, Any]], nodes: dict[str, Node]) -> None:
        for spec in children:
            node = Node.objects.get_children(parent).filter(name=spec["name"]).first()
            if node is None:
                node = actions.node_create(actor=None, parent=parent, name=spec["name"],
                                           kind=spec["kind"])
            nodes[node.name] = node
            self._children(node, spec.get("children", []), nodes)

    def _user(self, username: str, kind: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, kind=kind)
            user.set_password(DEMO_PASSWORD)
            user.save()
            if kind == User.Kind.STAFF:
                EmailAddress.objects.create(user=user, email=f"{username}@demo.invalid",
                                            primary=True, verified=True)
        return user

    def _print(self) -> None:
        out = self.stdout.write
        out(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        out("  mia     client (no e-mail, no phone); a decided benefit application for 2026-11")
        for username, desc, _node, _role in STAFF:
            out(f"  {username:<7} {desc}")
        out("  partner login of 'Nordlicht IT-Service (Demo)' in the partner directory (no TOTP)")
        out(f"Staff log in with a TOTP code: add the secret {DEMO_TOTP_SECRET} to an")
        out("authenticator app (or run: python -m wegweiser demo_totp).\n")
