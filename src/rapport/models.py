"""Imports every domain's tables so Base.metadata is complete (Alembic, tests)."""

from rapport.accounts import models as accounts_models
from rapport.ai import models as ai_models
from rapport.chat import models as chat_models
from rapport.events import models as events_models
from rapport.kit.db import Base
from rapport.matching import models as matching_models
from rapport.moderation import models as moderation_models
from rapport.notifications import models as notifications_models
from rapport.profiles import models as profiles_models
from rapport.workflows import models as workflows_models

__all__ = [
    "Base",
    "accounts_models",
    "ai_models",
    "chat_models",
    "events_models",
    "matching_models",
    "moderation_models",
    "notifications_models",
    "profiles_models",
    "workflows_models",
]
