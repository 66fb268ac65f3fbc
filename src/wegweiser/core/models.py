"""The append-only, hash-chained audit log."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    """Bulk changes are refused: the audit log only grows."""

    def update(self, **kwargs: object) -> int:
        raise RuntimeError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RuntimeError("The audit log is append-only.")


class AuditEntry(models.Model):
    """One link of the audit chain. Written only by ``core.audit.audit_record``.

    The actor and object are stored as public ids, not foreign keys, so erasing a user (GDPR
    Art. 17) never has to rewrite the chain. ``node`` is protected: organization nodes are
    deactivated, not deleted, while audit entries point at them.
    """

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.UUIDField(null=True, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    node = models.ForeignKey(
        "organizations.Node", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise RuntimeError("The audit log is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("The audit log is append-only.")
