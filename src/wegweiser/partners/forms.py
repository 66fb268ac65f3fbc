"""Forms of the partner pages. Lengths are checked here for a friendly message and again in the
actions, which are the rule: choices of partners to address are deliberately NOT checked here, so
a tampered or stale choice gets the action's own explanation ("not among the partners offered")."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from wegweiser.organizations.models import Node
from wegweiser.partners.models import (
    BUDGET_MAX,
    DESCRIPTION_MAX,
    NAME_MAX,
    REGION_GROUPS,
    REPLY_MAX,
    TITLE_MAX,
    Partner,
    RequestRecipient,
    Specialty,
)

ALL = [("", _("All"))]


class UnitChoiceField(forms.ModelChoiceField):
    """A unit by its public id (integer keys never leave the server)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, to_field_name="public_id", **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    specialty = forms.ChoiceField(label=_("Specialty"), choices=[*ALL, *Specialty.choices], required=False)
    region = forms.ChoiceField(label=_("Region"), choices=[*ALL, *REGION_GROUPS], required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[*ALL, *Partner.Kind.choices], required=False)

    def values(self) -> dict[str, str]:
        """The valid filters; an invalid value (a tampered link) filters nothing."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: value for name, value in getattr(self, "cleaned_data", {}).items() if value}


class PartnerRequestForm(forms.Form):
    organization = UnitChoiceField(label=_("For which unit?"), queryset=Node.objects.none(), empty_label=None)
    title = forms.CharField(
        label=_("Title"), max_length=TITLE_MAX,
        help_text=_("One line, e.g. “New laptops and a backup for two agencies”."),
    )
    description = forms.CharField(
        label=_("What do you need?"),
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("The partners you choose will read this. Never write anything about clients."),
    )
    specialties = forms.MultipleChoiceField(
        label=_("Specialties wanted"), choices=Specialty.choices, widget=forms.CheckboxSelectMultiple
    )
    region = forms.ChoiceField(
        label=_("Where?"), choices=[("", "—"), *REGION_GROUPS],
        help_text=_("Your state or county; partners working nationwide or remotely are offered too."),
    )
    budget_note = forms.CharField(label=_("Budget (optional)"), max_length=BUDGET_MAX, required=False)

    def __init__(self, *args: Any, units: list[Node], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["organization"]).queryset = Node.objects.filter(
            pk__in=[unit.pk for unit in units]
        ).order_by("path")


class AnyChoicesField(forms.MultipleChoiceField):
    """Any list of strings; the action decides which are allowed."""

    def valid_value(self, value: Any) -> bool:
        return True


class AddressForm(forms.Form):
    partners = AnyChoicesField(label=_("Partners"), required=False)


class ReplyForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Your answer"),
        choices=[
            (RequestRecipient.Status.INTERESTED, _("We are interested")),
            (RequestRecipient.Status.DECLINED, _("We decline")),
        ],
        widget=forms.RadioSelect,
    )
    message = forms.CharField(
        label=_("Message to the organization"),
        max_length=REPLY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Needed when you are interested: how and when can they reach you?"),
    )


class PartnerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    kind = forms.ChoiceField(label=_("Kind"), choices=Partner.Kind.choices, widget=forms.RadioSelect)
    specialties = forms.MultipleChoiceField(
        label=_("Specialties"), choices=Specialty.choices, widget=forms.CheckboxSelectMultiple
    )
    regions = forms.MultipleChoiceField(
        label=_("Regions"), choices=REGION_GROUPS, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        label=_("Description"), max_length=DESCRIPTION_MAX, required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    website = forms.CharField(label=_("Website"), max_length=200, required=False,
                              help_text=_("A full address starting with https://"))
    email = forms.EmailField(label=_("Contact e-mail"), max_length=254, required=False)


class PartnerEditForm(PartnerForm):
    is_active = forms.BooleanField(
        label=_("Listed in the directory"), required=False,
        help_text=_("Unticked: hidden from the directory and from matches, and its logins are shut out."),
    )


class MemberAddForm(forms.Form):
    username = forms.CharField(label=_("Username of an existing account"), max_length=150)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "add_%s")  # unique ids beside the invitation form
        super().__init__(*args, **kwargs)


class MemberInviteForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "invite_%s")
        super().__init__(*args, **kwargs)
