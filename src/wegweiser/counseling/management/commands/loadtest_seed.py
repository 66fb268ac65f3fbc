"""Load-test fixtures for the conversation socket (shared/contracts/realtime.md, "Load-test fixtures").

    WEGWEISER_LOADTEST=1 python -m wegweiser loadtest-seed --pairs 200 --out seed.json
    WEGWEISER_LOADTEST=1 python -m wegweiser loadtest-seed --purge

Creates N active conversations, each between a fresh client and a fresh counselor (TOTP set up,
role counselor) of the agency "Lasttest-Beratungsstelle" below the federation "Lasttest", and a
logged-in session for every one of these users. The JSON written to ``--out`` holds the session
ids, i.e. working logins: it is created readable by its owner only.

Everything created is marked (``User.loadtest``, ``Conversation.loadtest``, a session key), and
``--purge`` deletes exactly that. The organization nodes stay (deactivated), because the
append-only audit log refers to them; the topic and the agency settings go, so nothing of the
load test is left where clients look for counseling. Refuses to run without WEGWEISER_LOADTEST=1.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import get_random_string

from wegweiser.accounts.middleware import LOGIN_AT
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.counseling import actions
from wegweiser.counseling.models import Agency, Conversation, Topic
from wegweiser.organizations.actions import federation_create, membership_create, node_create
from wegweiser.organizations.models import Membership, Node, NodeKind, Role

FEDERATION = "Lasttest"
AGENCY = "Lasttest-Beratungsstelle"
TOPIC = "Lasttest"
SESSION_MARK = "wegweiser_loadtest"  # every seeded session carries it; --purge looks for it
# allauth's record of how the session was authenticated (allauth.account.internal.flows.login).
AUTH_METHODS_KEY = "account_authentication_methods"


def _session_engine() -> Any:
    return import_module(settings.SESSION_ENGINE)


class Command(BaseCommand):
    help = ("Create N client/counselor conversation pairs with ready sessions for load tests "
            "(--pairs N --out FILE), or remove them all (--purge). Needs WEGWEISER_LOADTEST=1.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pairs", type=int, help="number of conversations to create")
        parser.add_argument("--out", help="JSON file for the load generator (session ids!)")
        default_url = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        parser.add_argument("--base-url", default=default_url,
                            help=f"server the load generator talks to (default {default_url})")
        parser.add_argument("--purge", action="store_true",
                            help="delete every load-test user, conversation and session")
        parser.add_argument("--encrypted", action="store_true",
                            help="end-to-end encrypted conversations: each pair gets its conversation key "
                                 "in the JSON (key id and secret), which the server never holds")

    def handle(self, *args: Any, **options: Any) -> None:
        if os.environ.get("WEGWEISER_LOADTEST") != "1":
            raise CommandError(
                "loadtest-seed creates accounts with ready logins and only runs with "
                "WEGWEISER_LOADTEST=1 in the environment."
            )
        if options["purge"]:
            if options["pairs"] is not None or options["out"]:
                raise CommandError("--purge takes no --pairs or --out.")
            self._purge()
            return
        pairs, out = options["pairs"], options["out"]
        if pairs is None or out is None:
            raise CommandError("Give --pairs N and --out FILE.json (or --purge).")
        if not 1 <= pairs <= 100_000:
            raise CommandError("--pairs: between 1 and 100000.")
        started = time.monotonic()
        data = self._seed(pairs, options["base_url"].rstrip("/"), encrypted=options["encrypted"])
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        self.stdout.write(
            f"Created {pairs} conversation(s) between {pairs} client(s) and {pairs} counselor(s) "
            f"in {AGENCY!r} with {2 * pairs} session(s) in {time.monotonic() - started:.1f} s; "
            f"wrote {path} (contains working session ids; remove it after the test)."
        )

    # --- seeding -------------------------------------------------------------------------------
    def _agency(self) -> tuple[Agency, Topic]:
        root = Node.objects.get_root_nodes().filter(name=FEDERATION).first()
        if root is None:
            root = federation_create(actor=None, name=FEDERATION)
        node = Node.objects.get_children(root).filter(name=AGENCY).first()
        if node is None:
            node = node_create(actor=None, parent=root, name=AGENCY, kind=NodeKind.AGENCY)
        # A purge deactivates the nodes; a new seed brings them back.
        Node.objects.filter(pk__in=[root.pk, node.pk], is_active=False).update(is_active=True)
        root.refresh_from_db()
        node.refresh_from_db()
        agency = Agency.objects.filter(node=node).first() or Agency.objects.create(node=node)
        topic = Topic.objects.filter(organization=root, name=TOPIC).first()
        if topic is None:
            topic = Topic.objects.create(organization=root, name=TOPIC, postcode_required=False,
                                         anonymous_allowed=True, is_active=True)
        # Active only inside the seeding transaction: the agency finder never lists it.
        Topic.objects.filter(pk=topic.pk).update(postcode_required=False, anonymous_allowed=True,
                                                 min_age=0, welcome_message="", is_active=True)
        topic.refresh_from_db()
        agency.topics.add(topic)
        Agency.objects.filter(pk=agency.pk).update(offline=False, external_url="", min_age=0)
        agency.refresh_from_db()
        return agency, topic

    def _seed(self, pairs: int, base_url: str, *, encrypted: bool = False) -> dict[str, Any]:
        run = secrets.token_hex(4)
        with transaction.atomic():
            agency, topic = self._agency()
            clients = User.objects.bulk_create([
                self._new_user(f"loadtest-{run}-{i:05d}-client", User.Kind.CLIENT) for i in range(pairs)
            ])
            counselors = User.objects.bulk_create([
                self._new_user(f"loadtest-{run}-{i:05d}-counselor", User.Kind.STAFF) for i in range(pairs)
            ])
            totp_ids: dict[int, int] = {}
            for counselor in counselors:
                totp_ids[counselor.pk] = TOTP.activate(counselor, generate_totp_secret()).instance.pk
                membership_create(actor=None, node=agency.node, user=counselor, role=Role.COUNSELOR)
            conversations: list[Conversation] = []
            for client, counselor in zip(clients, counselors, strict=True):
                conversation = actions.enquiry_create(client=client, agency=agency, topic=topic,
                                                      body="Lasttest")
                actions.enquiry_accept(actor=counselor, conversation=conversation)
                conversations.append(conversation)
            Conversation.objects.filter(pk__in=[c.pk for c in conversations]).update(loadtest=True)
            keys: dict[int, dict[str, str]] = {}
            if encrypted:
                # The load generator encrypts with these (docs/e2e-protocol.md §5); no grants are
                # stored, since nobody opens these conversations in a browser.
                for conversation in conversations:
                    kid = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
                    secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
                    keys[conversation.pk] = {"id": kid, "secret": secret}
                    Conversation.objects.filter(pk=conversation.pk).update(key_id=kid)
            Topic.objects.filter(pk=topic.pk).update(is_active=False)
            sessions = self._sessions([*clients, *counselors], totp_ids)
        return {
            "base_url": base_url,
            "pairs": [
                {"conversation": str(conversation.public_id),
                 "client": {"sessionid": sessions[client.pk]},
                 "counselor": {"sessionid": sessions[counselor.pk]},
                 **({"key": keys[conversation.pk]} if encrypted else {})}
                for conversation, client, counselor in zip(conversations, clients, counselors, strict=True)
            ],
        }

    @staticmethod
    def _new_user(username: str, kind: str) -> User:
        user = User(username=username, kind=kind, loadtest=True)
        user.set_unusable_password()
        return user

    def _sessions(self, users: list[User], totp_ids: dict[int, int]) -> dict[int, str]:
        """A logged-in session per user, as ``django.contrib.auth.login`` and allauth leave it
        (password, then TOTP for staff), so HTTP views and the socket's AuthMiddleware agree."""
        engine = _session_engine()
        backend = settings.AUTHENTICATION_BACKENDS[0]
        now = time.time()
        payloads: dict[int, dict[str, Any]] = {}
        for user in users:
            methods: list[dict[str, Any]] = [{"method": "password", "at": now, "username": user.username}]
            if user.pk in totp_ids:
                methods.append({"method": "mfa", "at": now, "id": totp_ids[user.pk], "type": "totp"})
            payloads[user.pk] = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: backend,
                HASH_SESSION_KEY: user.get_session_auth_hash(),
                LOGIN_AT: int(now),
                AUTH_METHODS_KEY: methods,
                SESSION_MARK: True,
            }
        keys: dict[int, str] = {}
        store_class = engine.SessionStore
        if issubclass(store_class, DbSessionStore):  # db and cached_db: one INSERT for all
            model = store_class.get_model_class()
            encoder = store_class()
            expire = timezone.now() + timedelta(seconds=encoder.get_expiry_age())
            rows = []
            for pk, payload in payloads.items():
                keys[pk] = get_random_string(32, VALID_KEY_CHARS)
                rows.append(model(session_key=keys[pk], session_data=encoder.encode(payload),
                                  expire_date=expire))
            model.objects.bulk_create(rows, batch_size=500)
        else:
            for pk, payload in payloads.items():
                store = store_class()
                store.update(payload)
                store.create()
                keys[pk] = str(store.session_key)
        return keys

    # --- purge ---------------------------------------------------------------------------------
    def _purge(self) -> None:
        with transaction.atomic():
            users = list(User.objects.filter(loadtest=True).values_list("pk", flat=True))
            sessions = self._purge_sessions({str(pk) for pk in users})
            _total, per_model = Conversation.objects.filter(
                Q(loadtest=True) | Q(client__loadtest=True)).delete()
            conversations = per_model.get(Conversation._meta.label, 0)
            messages = per_model.get("counseling.Message", 0)
            deleted_users = User.objects.filter(pk__in=users).delete()[1].get(User._meta.label, 0)
            self.stdout.write(f"Removed {deleted_users} load-test user(s), {sessions} session(s), "
                              f"{conversations} conversation(s) with {messages} message(s).")
            self._purge_tree()

    def _purge_sessions(self, user_ids: set[str]) -> int:
        store_class = _session_engine().SessionStore
        if not issubclass(store_class, DbSessionStore):
            self.stderr.write(f"Sessions in {settings.SESSION_ENGINE} cannot be listed; they expire "
                              "on their own and no longer match any user.")
            return 0
        model = store_class.get_model_class()
        decoder = store_class()
        doomed = []
        for key, data in model.objects.values_list("session_key", "session_data").iterator():
            payload = decoder.decode(data)
            if payload.get(SESSION_MARK) or payload.get(SESSION_KEY) in user_ids:
                doomed.append(key)
        for start in range(0, len(doomed), 500):
            chunk = doomed[start:start + 500]
            model.objects.filter(session_key__in=chunk).delete()
            if hasattr(store_class, "cache_key_prefix"):  # cached_db: the cached copies too
                from django.core.cache import caches

                caches[settings.SESSION_CACHE_ALIAS].delete_many(
                    [store_class.cache_key_prefix + key for key in chunk])
        return len(doomed)

    def _purge_tree(self) -> None:
        out = self.stdout.write
        root = Node.objects.get_root_nodes().filter(name=FEDERATION).first()
        if root is None:
            out(f"No federation {FEDERATION!r}: nothing else to remove.")
            return
        tree = list(Node.objects.get_tree(root))
        topics = Topic.objects.filter(organization__in=tree)
        if Conversation.objects.filter(Q(agency__node__in=tree) | Q(topic__in=topics)).exists():
            out(f"Kept {FEDERATION!r}: conversations of other users still belong to it.")
            return
        topic_count = topics.count()
        topics.delete()  # their agency links and fallback references go with them
        agency_count = Agency.objects.filter(node__in=tree).delete()[1].get(Agency._meta.label, 0)
        out(f"Removed {topic_count} topic(s) and {agency_count} agency setting row(s) of {FEDERATION!r}.")
        others = Membership.objects.filter(node__in=tree)
        if others.exists() or AuditEntry.objects.filter(node__in=tree).exists():
            Node.objects.filter(pk__in=[n.pk for n in tree]).update(is_active=False)
            reason = ("memberships of other users" if others.exists()
                      else "the append-only audit log refers to them")
            out(f"Kept the {len(tree)} organization unit(s) of {FEDERATION!r}, deactivated ({reason}).")
            return
        Node.objects.get(pk=root.pk).delete()  # treebeard: the root takes its descendants along
        out(f"Removed the {len(tree)} organization unit(s) of {FEDERATION!r}.")
