"""Imports every domain's tables so Base.metadata is complete (Alembic, tests)."""

from rapport.accounts import models as accounts_models
from rapport.ai import models as ai_models
from rapport.chat import models as chat_models
from rapport.kit.db import Base
from rapport.matching import models as matching_models
from rapport.moderation import models as moderation_models
from rapport.profiles import models as profiles_models

__all__ = [
    "Base",
    "accounts_models",
    "ai_models",
    "chat_models",
    "matching_models",
    "moderation_models",
    "profiles_models",
]
