"""Every write of the needs & ideas pipeline (see the modules for the rules of each part)."""

from wegweiser.ideas.actions.cycles import (
    cycle_close,
    cycle_create,
    cycle_reopen,
    cycle_update,
    measurement_add,
    measurement_delete,
    pdsa_start,
    pdsa_update,
)
from wegweiser.ideas.actions.items import (
    attachment_add,
    attachment_read,
    comment_create,
    item_create,
    item_edit,
    item_follow,
    item_report,
    item_support,
    item_unsupport,
    notices_read,
    stages_ensure,
)
from wegweiser.ideas.actions.triage import (
    evaluator_assign,
    evaluator_remove,
    item_move,
    item_score,
    moderation_decide,
    next_position,
    note_add,
    stage_save,
)
from wegweiser.ideas.actions.workshops import (
    workshop_cancel,
    workshop_outcome,
    workshop_register,
    workshop_save,
    workshop_unregister,
)

__all__ = [
    "attachment_add", "attachment_read", "comment_create", "cycle_close", "cycle_create",
    "cycle_reopen", "cycle_update", "evaluator_assign", "evaluator_remove", "item_create",
    "item_edit",
    "item_follow", "item_move", "item_report", "item_score", "item_support", "item_unsupport",
    "measurement_add", "measurement_delete", "moderation_decide", "next_position", "note_add",
    "notices_read", "pdsa_start", "pdsa_update", "stage_save", "stages_ensure", "workshop_cancel",
    "workshop_outcome", "workshop_register", "workshop_save", "workshop_unregister",
]
