from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from wegweiser.counseling.retention import default_base_url, notify_new_messages, remind_open_enquiries


class Command(BaseCommand):
    help = (
        "Send the content-free e-mails: 'you have a new message' to users who opted in and have a "
        "verified primary address (once per user and run, never twice for the same messages, only "
        "after NOTIFY_DELAY_MINUTES without reading), and reminders to counselors about open "
        "enquiries waiting longer than ENQUIRY_REMINDER_HOURS (at most once per enquiry in that "
        "period), 'a decision is ready' to benefit applicants (once per decision), and 'there is news "
        "about needs and ideas you follow' to staff (once per person and run for all new notices). "
        "Idempotent; run it every few minutes from cron, e.g. "
        "'*/5 * * * * wegweiser python -m wegweiser notify'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", default=default_base_url(),
            help="public base URL for the link in the e-mails (default: https://<first ALLOWED_HOSTS>; "
                 "no link when empty)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from wegweiser.benefits.notifications import notify_decisions
        from wegweiser.ideas.notifications import notify_idea_notices

        notices = notify_new_messages(base_url=options["url"])
        reminders = remind_open_enquiries()
        decisions = notify_decisions(base_url=options["url"])
        ideas = notify_idea_notices(base_url=options["url"])
        self.stdout.write(
            f"Sent {notices} new-message e-mail{'' if notices == 1 else 's'}, "
            f"{reminders} enquiry reminder{'' if reminders == 1 else 's'}, "
            f"{decisions} decision e-mail{'' if decisions == 1 else 's'} and "
            f"{ideas} ideas e-mail{'' if ideas == 1 else 's'}."
        )
