"""Forms of online counseling. Every error message is translated; nothing a user typed is lost
(forms re-render with the input)."""

from __future__ import annotations

import re
from typing import Any

from allauth.account.forms import ChangePasswordForm
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from wegweiser.counseling.actions import MAX_BODY
from wegweiser.counseling.e2e import EnquiryKeys, enquiry, malformed, password_wrap
from wegweiser.counseling.models import Agency, Topic
from wegweiser.counseling.selectors import normalize_postcode

LANGUAGE_CHOICES = [
    ("de", _("German")), ("sv", _("Swedish")), ("en", _("English")), ("ar", _("Arabic")),
    ("tr", _("Turkish")), ("uk", _("Ukrainian")), ("ru", _("Russian")), ("fa", _("Persian")),
    ("pl", _("Polish")), ("fr", _("French")), ("es", _("Spanish")), ("so", _("Somali")),
    ("ti", _("Tigrinya")), ("ku", _("Kurdish")),
]


class FinderForm(forms.Form):
    topic = forms.ModelChoiceField(queryset=Topic.objects.none(), label=_("Topic"),
                                   to_field_name="public_id", empty_label=_("Please choose"))
    postcode = forms.CharField(label=_("Postcode"), required=False, max_length=10)
    age = forms.IntegerField(label=_("Age"), required=False, min_value=0, max_value=130)

    def __init__(self, *args: Any, topics: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = topics  # type: ignore[attr-defined]

    def clean_postcode(self) -> str:
        value = self.cleaned_data.get("postcode", "")
        return normalize_postcode(value) if value else ""


class EnquiryForm(forms.Form):
    body = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 8}),
                           max_length=MAX_BODY,
                           help_text=_("Describe what is on your mind. You do not need to give your name."))
    postcode = forms.CharField(label=_("Postcode"), required=False, max_length=10)
    age = forms.IntegerField(label=_("Age"), required=False, min_value=0, max_value=130)
    privacy = forms.BooleanField(
        label=_("I have read the privacy note."),
        error_messages={"required": _("Please confirm that you have read the privacy note.")})
    # Set by the browser (static/wegweiser/js/enquiry.js): the encrypted first message and the
    # sealed conversation key; ``body`` then stays empty and never reaches the server.
    e2e = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200_000)

    def __init__(self, *args: Any, topic: Topic, register: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topic = topic
        self.register = register
        if self.data.get("e2e"):
            self.fields["body"].required = False
        if topic.postcode_required:
            self.fields["postcode"].required = True
        if topic.min_age:
            self.fields["age"].required = True
        if register:
            self.fields["username"] = forms.CharField(
                label=_("Username"), max_length=150,
                help_text=_("Choose a name that does not identify you, e.g. “Sonnenblume24”."))
            self.fields["password"] = forms.CharField(
                label=_("Password"), widget=forms.PasswordInput(render_value=True), strip=False,
                help_text=_("At least 15 characters. A few words in a row are easy to remember."))
            self.order_fields(["username", "password", "postcode", "age", "body", "privacy"])

    def clean_postcode(self) -> str:
        value = self.cleaned_data.get("postcode", "")
        return normalize_postcode(value) if value else ""

    def clean_age(self) -> int | None:
        age = self.cleaned_data.get("age")
        if self.topic.min_age and (age is None or age < self.topic.min_age):
            raise ValidationError(_("This topic is for people aged %(age)s and older."),
                                  params={"age": self.topic.min_age})
        return age

    def clean_e2e(self) -> EnquiryKeys | None:
        value = self.cleaned_data.get("e2e") or ""
        return enquiry(value) if value else None

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body", "")
        if self.data.get("e2e"):
            return ""  # encrypted: the text is in the ciphertext only (a stray copy is dropped)
        if not body.strip():
            raise ValidationError(_("Please write a message."))
        return str(body)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        user_model = get_user_model()
        user_model.username_validator(username)
        if user_model.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is taken. Please choose another one."))
        return str(username)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.register and data.get("username") and data.get("password"):
            probe = get_user_model()(username=data["username"])
            try:
                validate_password(data["password"], probe)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}),
                           max_length=MAX_BODY, strip=False)
    client_id = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body", "")
        if not body.strip():
            raise ValidationError(_("Please write a message."))
        return str(body)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File (PDF, JPEG, PNG or Word document)"))


class HandoverForm(forms.Form):
    to_counselor = forms.ModelChoiceField(queryset=get_user_model().objects.none(),
                                          label=_("Colleague"), to_field_name="public_id")

    def __init__(self, *args: Any, colleagues: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_counselor"].queryset = colleagues  # type: ignore[attr-defined]


_LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AbsenceForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("From"), widget=_LOCAL_DATETIME)
    ends_at = forms.DateTimeField(label=_("Until"), widget=_LOCAL_DATETIME)
    message = forms.CharField(label=_("Message to clients"), widget=forms.Textarea(attrs={"rows": 4}),
                              max_length=2000)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("The absence must end after it starts."))
        return data


class TopicForm(forms.ModelForm):
    class Meta:
        model = Topic
        fields = ["name", "description", "anonymous_allowed", "postcode_required", "min_age",
                  "welcome_message", "retention_days", "fallback_agency", "team_counseling",
                  "encryption_required", "is_active"]

    def __init__(self, *args: Any, agencies: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fallback_agency"].queryset = agencies  # type: ignore[attr-defined]
        self.fields["retention_days"].min_value = 1  # type: ignore[attr-defined]
        self.fields["min_age"].max_value = 130  # type: ignore[attr-defined]


_RANGE = re.compile(r"^(?:(DE|SE)\s+)?(\d{3}\s?\d{2})(?:\s*[-\u2013]\s*(\d{3}\s?\d{2}))?$")


def parse_ranges(text: str) -> list[tuple[str, str, str]]:
    """Lines like "24000-24999", "SE 231 00 - 231 99" or a single "24103" → (country, start, end)."""
    ranges = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = _RANGE.match(line.upper())
        if not match:
            raise ValidationError(_("Line %(line)s is not a postcode range such as 24000-24999."),
                                  params={"line": number})
        country = match.group(1) or ("SE" if " " in match.group(2) else "DE")
        start = match.group(2).replace(" ", "")
        end = (match.group(3) or match.group(2)).replace(" ", "")
        if start > end:
            raise ValidationError(
                _("Line %(line)s: the range must go from the lower to the higher postcode."),
                params={"line": number})
        ranges.append((country, start, end))
    if len(ranges) > 500:
        raise ValidationError(_("At most 500 postcode ranges per agency."))
    return ranges


class AgencyForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(label=_("Languages spoken"), choices=LANGUAGE_CHOICES,
                                          required=False, widget=forms.CheckboxSelectMultiple)
    postcode_ranges = forms.CharField(
        label=_("Postcode ranges"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One range per line, e.g. 24000-24999 or SE 231 00-231 99."))

    class Meta:
        model = Agency
        fields = ["description", "topics", "languages", "opening_hours", "offline", "external_url", "min_age"]
        widgets = {"topics": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, topics: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = topics  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["postcode_ranges"].initial = "\n".join(
                f"{r.country} {r.start}-{r.end}" for r in self.instance.postcode_ranges.all())

    def clean_postcode_ranges(self) -> list[tuple[str, str, str]]:
        return parse_ranges(self.cleaned_data.get("postcode_ranges", ""))


class NotificationForm(forms.Form):
    email_notifications = forms.BooleanField(
        label=_("Send me an e-mail when a new message is waiting"), required=False,
        help_text=_("The e-mail says only that there is a new message — never who wrote or what."))


class DeleteAccountForm(forms.Form):
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("The password is not correct."))
        return str(password)




class KeyedChangePasswordForm(ChangePasswordForm):
    """allauth's password change, which also stores the identity key wrapped for the new
    password (docs/e2e-protocol.md §1.1): keys.js fills ``e2e_password_wrap`` in the browser.
    Without it a user with a key is refused, since the key would stay locked to the old one."""

    e2e_password_wrap = forms.CharField(required=False, widget=forms.HiddenInput, max_length=4000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["e2e_password_wrap"].widget
        widget.attrs["data-identity-url"] = reverse("counseling:keys_identity")
        self.password_wrap: object = None

    def clean(self) -> dict[str, Any]:
        import json

        data = super().clean() or {}
        from wegweiser.counseling.models import IdentityKey

        if not IdentityKey.objects.filter(user=self.user).exists():
            return data
        raw = data.get("e2e_password_wrap") or ""
        if not raw:
            raise ValidationError(_("Your encryption key is protected with your password and must be "
                                    "protected with the new one, which happens in your browser. Please "
                                    "allow JavaScript and try again."), code="encryption")
        try:
            self.password_wrap = password_wrap(json.loads(raw), username=self.user.username)
        except (ValueError, RecursionError):
            raise malformed("password") from None
        return data

    def save(self) -> None:
        from django.db import transaction

        from wegweiser.counseling.actions.keys import identity_password_changed

        with transaction.atomic():
            super().save()
            if self.password_wrap is not None:
                identity_password_changed(user=self.user, password_wrap=self.password_wrap)
