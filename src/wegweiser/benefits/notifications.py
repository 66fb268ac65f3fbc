"""The content-free e-mail "a decision on your application is ready" to applicants who opted in
to e-mail notifications and have a verified address; once per decision. Sent by the site's
``notify`` job (run every few minutes from cron)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wegweiser.benefits.models import Decision
from wegweiser.core.mail import send_quietly, user_language, verified_emails

BATCH = 500


def notify_decisions(*, base_url: str = "") -> int:
    link = base_url.rstrip("/") + reverse("benefits:my_applications") if base_url else ""
    connection = mail.get_connection()
    sent = 0
    due = (Decision.objects.filter(
        status=Decision.Status.FINAL, applicant_emailed_at__isnull=True,
        application__applicant__email_notifications=True, application__applicant__is_active=True)
        .filter(Exists(EmailAddress.objects.filter(user_id=OuterRef("application__applicant_id"),
                                                   verified=True, primary=True)))
        .select_related("application__applicant").order_by("pk"))
    last = 0
    while True:
        batch = list(due.filter(pk__gt=last)[:BATCH])
        if not batch:
            return sent
        last = batch[-1].pk
        addresses = verified_emails({d.application.applicant_id for d in batch}, primary_only=True)
        for decision in batch:
            applicant = decision.application.applicant
            address = addresses.get(applicant.pk)
            if not address:
                continue
            with translation.override(user_language(applicant)):
                subject = _("A decision is ready in %(site)s") % {"site": settings.SITE_NAME}
                body = (_("A decision on your application is ready in %(site)s.")
                        % {"site": settings.SITE_NAME})
                body += "\n\n" + _("Log in to read it.") + ("\n" + link if link else "") + "\n"
            if send_quietly(connection, to=address, subject=subject, body=body):
                Decision.objects.filter(pk=decision.pk).update(applicant_emailed_at=timezone.now())
                sent += 1
