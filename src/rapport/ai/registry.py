"""Build the AI router from settings: one provider instance per configured remote, shared by
the capabilities routed to it. Choosing a provider is configuration, never a code edit."""

from __future__ import annotations

from rapport.ai.providers.base import Provider
from rapport.ai.providers.coze import CozeProvider
from rapport.ai.providers.dify import DifyProvider
from rapport.ai.providers.openai_compat import OpenAICompatProvider
from rapport.ai.router import CAPABILITIES, AIRouter
from rapport.config import Settings


def build_router(settings: Settings) -> AIRouter:
    built: dict[str, Provider] = {}
    routes: dict[str, Provider] = {}
    for capability in CAPABILITIES:
        name = getattr(settings, f"ai_route_{capability}")
        if name == "local":
            continue
        if name not in built:
            built[name] = remote_provider(name, settings)
        routes[capability] = built[name]
    return AIRouter(routes, timeout_s=settings.ai_timeout_s)


def remote_provider(name: str, s: Settings) -> Provider:
    """A configured remote provider; its own timeout stays inside the router's."""
    total = s.ai_timeout_s
    if name == "dify":
        keys = {
            capability: key.get_secret_value()
            for capability, key in (
                ("enhance_message", s.ai_dify_enhancer_key),
                ("icebreaker", s.ai_dify_icebreaker_key),
            )
            if key.get_secret_value()
        }
        return DifyProvider(
            s.ai_dify_base_url,
            keys,
            s.ai_dify_chat_key.get_secret_value() or None,
            user_prefix=s.ai_user_prefix,
            mode=s.ai_dify_mode,
            total_timeout=total,
        )
    if name == "coze":
        return CozeProvider(
            s.ai_coze_base_url,
            s.ai_coze_token.get_secret_value(),
            s.ai_coze_bot_id,
            mode=s.ai_coze_mode,
            user_prefix=s.ai_user_prefix,
            total_timeout=total,
        )
    if name == "openai":
        return OpenAICompatProvider(
            s.ai_openai_base_url,
            s.ai_openai_api_key.get_secret_value(),
            s.ai_openai_model,
            total_timeout=total,
        )
    raise ValueError(f"unknown AI provider {name!r}")
