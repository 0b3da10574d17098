from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from fangkong.core.models import User


class ScopedModelBackend(ModelBackend):
    """Loads the user with region and institution, so scoping costs no extra query."""

    def get_user(self, user_id: Any) -> User | None:  # type: ignore[override]
        user = User.objects.select_related("region", "institution").filter(pk=user_id).first()
        return user if user and self.user_can_authenticate(user) else None
