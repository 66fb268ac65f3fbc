"""Named people, the same everywhere (ARCHITECTURE.md): mia (client), jonas (counselor, agency
A), ayse (agency lead, agency A), kai (organization admin of the branch above agency A), frieda
(federation admin), lars (counselor and organization admin in another federation), otto
(staff account, no role)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.test import Client
from django.utils.crypto import get_random_string

from wegweiser.accounts.models import User
from wegweiser.organizations import actions
from wegweiser.organizations.models import NodeKind, Role

pytest_plugins = ["tests.counseling_fixtures", "tests.e2e_fixtures", "tests.ideas_fixtures"]

PASSWORD = "lange-test-passphrase-fuer-alle"
TOTP_SECRET = "JBSWY3DPEHPK3PXPTESTTESTTESTTEST"


def totp_code(secret: str = TOTP_SECRET, offset: int = 0, *, margin: float = 0) -> str:
    """The current authenticator code. With `margin`, wait for the next period first when fewer
    than `margin` seconds remain, so a slow browser round trip cannot carry the code past the end
    of its period (the server accepts no neighbouring periods: MFA_TOTP_TOLERANCE is 0)."""
    import time

    from allauth.mfa import app_settings

    period = app_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < margin:
        time.sleep(left + 0.05)
    counter = int(time.time()) // period + offset
    return format_hotp_value(hotp_value(secret, counter))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Tests create many accounts; scrypt makes each take about 0.1 s. Production keeps scrypt
    (settings.PASSWORD_HASHERS); no test depends on the hash function."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Rate-limit counters live in the cache; each test starts without earlier failures."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _close_chat_writers() -> Any:
    """The chat socket's writer thread keeps a database connection per event loop; each test has
    its own loop, so close it afterwards (PostgreSQL refuses to drop a database in use)."""
    yield
    from wegweiser.counseling.consumers.writer import close_writers

    close_writers()


@pytest.fixture
def tree(db: Any) -> SimpleNamespace:
    fed = actions.federation_create(actor=None, name="Verband A")
    region = actions.node_create(actor=None, parent=fed, name="Region Nord", kind=NodeKind.REGION)
    branch = actions.node_create(actor=None, parent=region, name="Kreisverband Kiel",
                                 kind=NodeKind.BRANCH)
    agency_a = actions.node_create(actor=None, parent=branch, name="Beratungsstelle A",
                                   kind=NodeKind.AGENCY)
    agency_b = actions.node_create(actor=None, parent=branch, name="Beratungsstelle B",
                                   kind=NodeKind.AGENCY)
    region_south = actions.node_create(actor=None, parent=fed, name="Region Süd",
                                       kind=NodeKind.REGION)
    other_fed = actions.federation_create(actor=None, name="Förbund B")
    other_agency = actions.node_create(actor=None, parent=other_fed, name="Mottagning B",
                                       kind=NodeKind.AGENCY)
    return SimpleNamespace(fed=fed, region=region, branch=branch, agency_a=agency_a,
                           agency_b=agency_b, region_south=region_south, other_fed=other_fed,
                           other_agency=other_agency)


def make_user(username: str, kind: str = User.Kind.STAFF, *, mfa: bool = True) -> User:
    user = User(username=username, kind=kind)
    user.set_password(PASSWORD)
    user.save()
    if mfa and kind == User.Kind.STAFF:
        TOTP.activate(user, TOTP_SECRET)
    return user


def make_staff(username: str, memberships: list[tuple[Any, str]], *, mfa: bool = True) -> User:
    user = make_user(username, mfa=mfa)
    for node, role in memberships:
        actions.membership_create(actor=None, node=node, user=user, role=role)
    return user


@pytest.fixture
def mia(db: Any) -> User:
    return make_user("mia", User.Kind.CLIENT)


@pytest.fixture
def jonas(tree: SimpleNamespace) -> User:
    return make_staff("jonas", [(tree.agency_a, Role.COUNSELOR)])


@pytest.fixture
def ayse(tree: SimpleNamespace) -> User:
    return make_staff("ayse", [(tree.agency_a, Role.AGENCY_LEAD)])


@pytest.fixture
def kai(tree: SimpleNamespace) -> User:
    return make_staff("kai", [(tree.branch, Role.ORG_ADMIN)])


@pytest.fixture
def frieda(tree: SimpleNamespace) -> User:
    return make_staff("frieda", [(tree.fed, Role.FEDERATION_ADMIN)])


@pytest.fixture
def lars(tree: SimpleNamespace) -> User:
    return make_staff("lars", [(tree.other_agency, Role.COUNSELOR),
                               (tree.other_fed, Role.ORG_ADMIN)])


@pytest.fixture
def otto(db: Any) -> User:
    return make_user("otto")


class CsrfClient(Client):
    """Django's test client with CSRF checks on; ``post`` sends a valid token like a browser."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(enforce_csrf_checks=True, **kwargs)
        self.csrf = get_random_string(32)
        self.cookies["csrftoken"] = self.csrf

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        data = dict(data or {})
        # Logging in rotates the token, as in a browser: always send the current cookie.
        data.setdefault("csrfmiddlewaretoken", self.cookies["csrftoken"].value)
        return super().post(path, data, **kwargs)


@pytest.fixture
def client_for(db: Any) -> Any:
    def make(user: User | None) -> CsrfClient:
        client = CsrfClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def anon(db: Any) -> CsrfClient:
    return CsrfClient()


def login_session(user: User) -> str:
    """A real logged-in session, as a browser holds it: its key for the ``sessionid`` cookie."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def socket_headers(session_key: str | None,
                   origin: bytes = b"http://testserver") -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", origin)]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return headers
