from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django import forms
from django.utils.translation import gettext_lazy as _

from wegweiser.accounts.models import User
from wegweiser.organizations.models import NodeKind, Role

_CHILD_KINDS = [(value, label) for value, label in NodeKind.choices if value != NodeKind.FEDERATION]


class NodeCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=_CHILD_KINDS)


class NodeUpdateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=NodeKind.choices)
    is_active = forms.BooleanField(label=_("Active"), required=False)


class _RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(self, *args: Any, roles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Role.choices)
        self.fields["role"].choices = [(r, labels[r]) for r in roles]  # type: ignore[attr-defined]


class MembershipAddForm(_RoleForm):
    username = forms.CharField(label=_("Username of an existing staff account"), max_length=150)

    field_order = ["username", "role"]

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(
            username__iexact=username, kind=User.Kind.STAFF, is_active=True
        ).first()
        if user is None:
            raise forms.ValidationError(_("There is no staff account with this username."))
        return user


class StaffInviteForm(_RoleForm):
    username = forms.CharField(label=_("Username"), max_length=150, min_length=3)
    email = forms.EmailField(label=_("E-mail address (work)"), max_length=254)

    field_order = ["username", "email", "role"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        try:
            User.username_validator(username)
        except forms.ValidationError:
            raise forms.ValidationError(
                _("Use only letters, digits and the characters @ . + - _.")
            ) from None
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is already taken."))
        return username

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if EmailAddress.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail address already exists."))
        return email


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), max_length=64, required=False)
