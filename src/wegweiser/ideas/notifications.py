"""The content-free e-mail "there is news about needs and ideas you follow" to staff who opted in
to e-mail notifications and have a verified address: one e-mail per person and run for all their
new notices, never twice for the same notice. Sent by the site's ``notify`` job."""

from __future__ import annotations

from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wegweiser.core.mail import send_quietly, user_language, verified_emails
from wegweiser.ideas.models import Notice

BATCH = 500


def notify_idea_notices(*, base_url: str = "") -> int:
    link = base_url.rstrip("/") + reverse("ideas:start") if base_url else ""
    due = Notice.objects.filter(
        emailed_at__isnull=True, read_at__isnull=True, user__is_active=True, user__email_notifications=True
    )
    users = list(due.values_list("user_id", flat=True).distinct().order_by("user_id")[:BATCH])
    if not users:
        return 0
    connection = mail.get_connection()
    addresses = verified_emails(users, primary_only=True)
    from wegweiser.accounts.models import User

    sent = 0
    for user in User.objects.filter(pk__in=list(addresses)):
        with translation.override(user_language(user)):
            subject = _("News about needs and ideas you follow in %(site)s") % {"site": settings.SITE_NAME}
            body = _("There is news about needs and ideas you follow in %(site)s.") % {
                "site": settings.SITE_NAME
            }
            body += "\n\n" + _("Log in to read it.") + ("\n" + link if link else "") + "\n"
        if send_quietly(connection, to=addresses[user.pk], subject=subject, body=body):
            due.filter(user=user).update(emailed_at=timezone.now())
            sent += 1
    return sent
