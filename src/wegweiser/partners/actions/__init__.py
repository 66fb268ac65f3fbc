"""Every write of the partner directory (see the modules for the rules of each part)."""

from wegweiser.partners.actions.demo import partners_demo
from wegweiser.partners.actions.directory import (
    partner_create,
    partner_login_invite,
    partner_member_add,
    partner_member_remove,
    partner_update,
)
from wegweiser.partners.actions.requests import (
    partner_reply,
    partner_request_address,
    partner_request_close,
    partner_request_create,
)

__all__ = [
    "partner_create", "partner_login_invite", "partner_member_add",
    "partner_member_remove", "partner_reply", "partner_request_address", "partner_request_close",
    "partner_request_create", "partner_update", "partners_demo",
]
