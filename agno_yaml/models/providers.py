"""The process-wide side of litellm: importing it quietly, and providers' conventions.

Kept apart from ``litellm_model.py`` (the call, retries, errors) because these facts are about the
environment, not about one call: which variables hold a provider's key or base URL, whether an
endpoint is on this machine, and the switches that must be set before ``import litellm``.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import warnings
from typing import Any
from urllib.parse import urlparse

ONLY_LOCAL_ENV = "AGNO_YAML_ONLY_LOCAL_MODELS"

# Set before the first import of litellm; setdefault so a user can still opt back in.
_PREAMBLE = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no price-list download at import
    "LITELLM_MODE": "PRODUCTION",  # no .env loading at import
    "LITELLM_LOG": "ERROR",  # no WARNING lines on stderr
    "HF_HUB_OFFLINE": "1",  # no 23 s tokenizer download attempts for huggingface/ models
}

_litellm: Any = None
_import_lock = threading.Lock()

# Environment variables that name a provider's key when it is not simply PROVIDER_API_KEY.
_KEY_VARS = {
    "gemini": "GEMINI_API_KEY",
    "vertex_ai": "GOOGLE_APPLICATION_CREDENTIALS",
    "bedrock": "AWS_ACCESS_KEY_ID",
    "together_ai": "TOGETHERAI_API_KEY",
    "huggingface": "HF_TOKEN",
    "azure": "AZURE_API_KEY",
    "perplexity": "PERPLEXITYAI_API_KEY",
}
# Hosted providers whose API never answers without a key, with the variables litellm reads it
# from (any one of them; checked with litellm.validate_environment in 1.106.2). Providers with more
# elaborate credentials (azure, bedrock, vertex_ai) or that run locally (ollama) are left to the
# call itself.
_NEEDS_KEY = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "cohere": ("COHERE_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "perplexity": ("PERPLEXITYAI_API_KEY",),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",),
}


def litellm_loaded() -> bool:
    """``load_litellm`` would return at once."""
    return _litellm is not None


def load_litellm() -> Any:
    """Import litellm once, quietly. Thread-safe: members may call models from several threads."""
    global _litellm
    if _litellm is None:
        with _import_lock:
            if _litellm is None:
                for key, value in _PREAMBLE.items():
                    os.environ.setdefault(key, value)
                import litellm

                litellm.suppress_debug_info = True  # else "Give Feedback / Get Help" goes to stdout
                _warm_up(litellm)
                _litellm = litellm
    return _litellm


def _warm_up(litellm: Any) -> None:
    """Build litellm's response classes once, with warnings off.

    pydantic completes these models lazily, at the first response, and warns (a UserWarning about a
    ``ReadOnly`` TypedDict item in litellm's types) while doing so: users would see it on stderr, and
    under ``-W error`` (our test suite) it becomes an exception inside litellm's stream handler.
    """
    from litellm.types.utils import Delta, Message, ModelResponse, ModelResponseStream

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cls in (Message, Delta, ModelResponse, ModelResponseStream):
            cls()


def provider_of(model_id: str) -> str:
    """The provider prefix of a litellm model string; bare names are OpenAI's, as litellm assumes."""
    return model_id.split("/", 1)[0].lower() if "/" in model_id else "openai"


def key_var(model_id: str) -> str:
    """The environment variable that conventionally holds the provider's key."""
    provider = provider_of(model_id)
    return _KEY_VARS.get(provider, f"{provider.upper()}_API_KEY")


def missing_key(model_id: str, api_key: str | None, api_base: str | None) -> str | None:
    """The variable(s) to set when ``model_id`` is a provider known to need a key and none can be
    found; None when a key is there or the call may work without one (a local ``api_base``).

    Cheap (environment lookups only), so a run can refuse before importing litellm or storing anything.
    """
    names = _NEEDS_KEY.get(provider_of(model_id))
    if names is None or api_key or api_base or env_api_base(model_id):
        return None
    if any(os.environ.get(name) for name in names):
        return None
    return " or ".join(names)


def key_values(model_id: str) -> list[str]:
    """The API key values in the environment for ``model_id``'s provider (to mask them in output)."""
    names = {key_var(model_id), *_NEEDS_KEY.get(provider_of(model_id), ())}
    return [os.environ[n] for n in names if os.environ.get(n)]


def env_api_base(model_id: str) -> str | None:
    """The base URL litellm would take from the environment, in litellm's order of preference."""
    provider = provider_of(model_id).upper()
    names = (
        ["OPENAI_BASE_URL", "OPENAI_API_BASE"]
        if provider == "OPENAI"
        else [f"{provider}_API_BASE", f"{provider}_BASE_URL"]
    )
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def is_loopback_url(url: str | None) -> bool:
    if not url:
        return False
    host = urlparse(url if "//" in url else f"//{url}").hostname
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_url(url: str | None) -> str | None:
    """A URL fit for a message: any user:password@ part and any query string (tokens live there)
    removed."""
    if not url or ("@" not in url and "?" not in url and "#" not in url):
        return url
    parts = urlparse(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=netloc, query="", fragment="").geturl()
