"""Writes of end-to-end encryption keys (docs/e2e-protocol.md): a user's identity bundle, an
agency's team keys and their grants. The server checks who may store what and the shapes; it
cannot open anything it stores. Every write is audited without key material."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.counseling import e2e
from wegweiser.counseling.models import Agency, IdentityKey, TeamKey, TeamKeyGrant
from wegweiser.counseling.selectors import identity_public, team_members
from wegweiser.organizations.access import Perm, has_perm


def _wrong_password() -> ValidationError:
    return ValidationError(_("The password is not correct."), code="password")


def identity_set(*, user: Any, password: str, bundle: object, recovery_proof: object,
                 replace: bool = False) -> IdentityKey:
    """Store the user's identity bundle (protocol §1). The password must be the account's, so
    that the key opens on the next login. An existing key is replaced only when asked: a client
    then loses what was sealed to the old key, a counselor gets the team keys again from a
    colleague's browser."""
    if not user.check_password(password):
        raise _wrong_password()
    with transaction.atomic():
        existing = IdentityKey.objects.select_for_update().filter(user=user).first()
        if existing is not None and not replace:
            raise ValidationError(_("Your encryption key is set up already."), code="exists")
        if existing is not None:
            # The user's team key grants turn stale (sealed to the old key): colleagues' browsers
            # share the keys again, and rotate the current one (the old key may be in bad hands).
            existing.delete()
        return _identity_store(user, bundle, recovery_proof, replaced=existing is not None)


def identity_create_for_new_account(*, user: Any, bundle: object, recovery_proof: object) -> IdentityKey:
    """The identity of an account created in the same request (the enquiry form registers a
    client and sets the password itself)."""
    return _identity_store(user, bundle, recovery_proof, replaced=False)


def _identity_store(user: Any, bundle: object, recovery_proof: object, *, replaced: bool) -> IdentityKey:
    clean = e2e.identity_bundle(bundle, username=user.username)
    proof = e2e.recovery_proof(recovery_proof)
    key = IdentityKey.objects.create(user=user, public=clean["public"], bundle=clean,
                                     recovery_verifier=make_password(proof))
    audit_record(actor=user, action="keys.identity_replaced" if replaced else "keys.identity_created",
                 obj=user)
    return key


def identity_rewrap(*, user: Any, password: str, password_wrap: object) -> None:
    """The private key wrapped anew for the account's password (after a password reset, opened
    with the recovery key in the browser)."""
    if not user.check_password(password):
        raise _wrong_password()
    identity_password_changed(user=user, password_wrap=password_wrap)


def identity_password_changed(*, user: Any, password_wrap: object) -> None:
    """Called inside the password change: the same key, wrapped for the new password."""
    clean = e2e.password_wrap(password_wrap, username=user.username)
    with transaction.atomic():
        key = IdentityKey.objects.select_for_update().filter(user=user).first()
        if key is None:
            raise ValidationError(_("You have no encryption key yet."), code="missing")
        key.bundle = {**key.bundle, "password": clean}
        key.save(update_fields=["bundle", "updated_at"])
        audit_record(actor=user, action="keys.identity_rewrapped", obj=user)


def recovery_check(*, username: str, proof: object) -> IdentityKey | None:
    """The identity key whose recovery proof matches, or None (the same for an unknown user, to
    tell nobody which usernames exist; the hash is computed either way)."""
    try:
        clean = e2e.recovery_proof(proof)
    except ValidationError:
        return None
    key = IdentityKey.objects.select_related("user").filter(
        user__username__iexact=username, user__is_active=True, user__kind="client").first()
    verifier = key.recovery_verifier if key else make_password("dummy-recovery-proof")
    if check_password(clean, verifier) and key is not None:
        return key
    return None


def account_recover(*, username: str, proof: object, new_password: str, password_wrap: object) -> Any:
    """A client who forgot the password proves to hold the recovery key and sets a new password;
    the browser wrapped the private key for it. Returns the user, or raises ValidationError."""
    from django.contrib.auth.password_validation import validate_password

    key = recovery_check(username=username, proof=proof)
    if key is None:
        raise ValidationError(_("The username or the recovery key is not correct."), code="recovery")
    user = key.user
    validate_password(new_password, user)
    clean = e2e.password_wrap(password_wrap, username=user.username)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        key.bundle = {**key.bundle, "password": clean}
        key.save(update_fields=["bundle", "updated_at"])
        audit_record(actor=user, action="keys.account_recovered", obj=user)
    return user


# --- agency team keys --------------------------------------------------------------------------

def _check_counselor(user: Any, agency: Agency) -> str:
    if not has_perm(user, Perm.COUNSEL, agency.node):
        raise PermissionDenied
    key = identity_public(user)
    if not key:
        raise ValidationError(_("Set up your encryption key first."), code="missing")
    return key


_Grant = tuple[str | None, Any, str, dict[str, str]]


def _grants(value: object, members: dict[Any, str], *, with_kid: bool) -> list[_Grant]:
    """[(kid, user pk, recipient public key, sealed)] from [{"user": public id, "sealed", ("kid")}]."""
    if not isinstance(value, list) or len(value) > 500:
        raise e2e.malformed("grants")
    by_public_id: dict[str, Any] = {
        str(public_id): pk
        for public_id, pk in get_user_model().objects.filter(pk__in=members).values_list("public_id", "pk")}
    out = []
    seen: set[tuple[object, object]] = set()
    for grant in value:
        keys = {"user", "sealed", "kid"} if with_kid else {"user", "sealed"}
        if not isinstance(grant, dict) or set(grant) != keys:
            raise e2e.malformed("grants")
        pk = by_public_id.get(str(grant["user"]))
        if pk is None:
            raise ValidationError(_("A key can only be shared with counselors of this agency."),
                                  code="member")
        kid = e2e.kid(grant["kid"]) if with_kid else None
        if (kid, pk) in seen:  # one grant per person and key
            raise e2e.malformed("grants")
        seen.add((kid, pk))
        out.append((kid, pk, members[pk], e2e.sealed(grant["sealed"])))
    return out


def team_key_create(*, actor: Any, agency: Agency, key_id: object, public: object, grants: object,
                    expected_current: object) -> TeamKey:
    """A new current team key (the first one, or a rotation after someone left the team), sealed
    to every counselor with an identity key, the actor included. ``expected_current`` is the
    current key id the actor's browser saw (or None): when two browsers rotate at once, the
    second is refused and simply uses the first one's key."""
    own = _check_counselor(actor, agency)
    kid, public_key = e2e.kid(key_id), e2e.public_key(public)
    members = team_members(agency)
    clean = _grants(grants, members, with_kid=False)
    granted = {pk for _, pk, _, _ in clean}
    if actor.pk not in granted or members.get(actor.pk) != own:
        raise ValidationError(_("The new key must be shared with yourself."), code="self")
    if granted != set(members):
        raise ValidationError(_("The new key must be shared with every counselor of the agency."),
                              code="members")
    with transaction.atomic():
        Agency.objects.select_for_update().filter(pk=agency.pk).first()
        current = TeamKey.objects.filter(agency=agency, retired_at__isnull=True).first()
        if (current.key_id if current else None) != expected_current:
            raise ValidationError(_("The team key changed meanwhile. Please reload the page."), code="stale")
        if TeamKey.objects.filter(key_id=kid).exists():  # key ids are random: a repeat is no new key
            raise e2e.malformed("key")
        if current is not None and not _rotation_due(current, members):
            # Only when someone who held it left the team or replaced their identity key: a
            # rotation at will would only make colleagues' keys stale.
            raise ValidationError(_("The team key changed meanwhile. Please reload the page."), code="stale")
        if current is not None:
            current.retired_at = timezone.now()
            current.save(update_fields=["retired_at"])
        team_key = TeamKey.objects.create(agency=agency, key_id=kid, public=public_key, created_by=actor)
        # Whoever left the team keeps no grant (their sockets and pages are closed to them anyway).
        TeamKeyGrant.objects.filter(team_key__agency=agency).exclude(user_id__in=list(members)).delete()
        TeamKeyGrant.objects.bulk_create([
            TeamKeyGrant(team_key=team_key, user_id=pk, recipient=recipient, sealed=sealed, granted_by=actor)
            for _, pk, recipient, sealed in clean])
        audit_record(actor=actor, action="keys.team_key_created", node=agency.node,
                     object_type="counseling.teamkey", object_id=team_key.key_id,
                     data={"rotated": current is not None, "grants": len(clean)})
    return team_key


def _rotation_due(current: TeamKey, members: dict[Any, str]) -> bool:
    """Whether a grant of the current team key went to someone no longer in the team, or to an
    identity key its owner has replaced (as ``selectors.team_key_state`` reports it)."""
    return any(members.get(user_pk) != recipient for user_pk, recipient in
               TeamKeyGrant.objects.filter(team_key=current).values_list("user_id", "recipient"))


def team_key_grant(*, actor: Any, agency: Agency, grants: object) -> int:
    """Share team keys the actor holds with colleagues who lack them (a new colleague, or one
    with a new identity key). Returns the number of grants stored."""
    _check_counselor(actor, agency)
    members = team_members(agency)
    clean = _grants(grants, members, with_kid=True)
    held = set(TeamKeyGrant.objects.filter(team_key__agency=agency, user=actor,
                                           recipient=members.get(actor.pk, "")).values_list(
        "team_key__key_id", flat=True))
    with transaction.atomic():
        keys = {k.key_id: k for k in TeamKey.objects.filter(agency=agency, key_id__in=[c[0] for c in clean])}
        stored = 0
        for kid, pk, recipient, sealed in clean:
            if kid not in keys or kid not in held:
                raise ValidationError(_("You can only share team keys you hold yourself."), code="held")
            existing = TeamKeyGrant.objects.filter(team_key=keys[kid], user_id=pk).first()
            if existing is not None and existing.recipient == recipient:
                continue  # a valid grant stays: nobody can overwrite a colleague's working key
            TeamKeyGrant.objects.update_or_create(
                team_key=keys[kid], user_id=pk,
                defaults={"recipient": recipient, "sealed": sealed, "granted_by": actor})
            stored += 1
        if stored:
            audit_record(actor=actor, action="keys.team_key_shared", node=agency.node,
                         data={"grants": stored})
    return stored
