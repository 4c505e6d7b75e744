"""The process-wide side of litellm: importing it quietly, and providers' conventions.

Kept apart from ``litellm_model.py`` (the call, retries, errors) because these facts are about the
environment, not about one call: which variables hold a provider's key or base URL, whether an
endpoint is on this machine, and the switches that must be set before ``import litellm``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
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
    """Import litellm once, quietly. Thread-safe: members may call models from several threads.

    What litellm and the openai SDK would otherwise do at the first request is done here too
    (``_warm_up``), all of it with the cyclic garbage collector off: the import leaves several
    hundred thousand long-lived objects, and each full collection during the import scanned them
    all again (about 0.8 s of a 2.3 s import). They are then moved out of the collector's sight for good
    (``gc.freeze``), so that later collections look only at what the turns allocate.
    """
    global _litellm
    if _litellm is None:
        with _import_lock:
            if _litellm is None:
                for key, value in _PREAMBLE.items():
                    os.environ.setdefault(key, value)
                collecting = gc.isenabled()
                gc.disable()
                try:
                    import litellm

                    litellm.suppress_debug_info = True  # else "Give Feedback / Get Help" goes to stdout
                    _warm_up(litellm)
                    # No gc.collect() first: it would cost 0.3 s to free about 1,500 objects.
                    gc.freeze()
                finally:
                    if collecting:
                        gc.enable()
                _litellm = litellm
    return _litellm


# What litellm (1.106.2) and the openai SDK import only at the first request (found with a
# profiler on a first ``completion`` against the loopback server; 0.5 s of it, 0.25 s once the
# collector is off): litellm's proxy types (every completion looks for proxy file ids in the
# messages), the provider lookup of OpenAI-compatible models, the service logger, httpx's
# transport, and the SDK's resources (its client imports all of them at the first
# ``client.chat``: 0.15 s). A module that a later litellm moves is skipped; the first request then
# imports what it needs, as it always did. Left lazy on purpose: tiktoken's encoding (0.15 s),
# which litellm loads at the first streamed reply to price the prompt; a plain reply never needs it.
_FIRST_REQUEST_MODULES = (
    "litellm.proxy.openai_files_endpoints.common_utils",
    "litellm.llms.openai_like.dynamic_config",
    "litellm._service_logger",
    "httpcore",
    "openai.resources.chat",
)
# Models whose schema pydantic builds at first use (litellm and openai set ``defer_build``), and
# that every request uses: litellm's call parameters, the SDK's completion and stream chunk.
_FIRST_REQUEST_MODELS = (
    ("litellm.types.router", ("GenericLiteLLMParams", "LiteLLM_Params")),
    ("openai.types.chat", ("ChatCompletion", "ChatCompletionChunk")),
)


def _warm_up(litellm: Any) -> None:
    """Import and build now what the first request would, with warnings off. Nothing here touches
    the network or prints.

    pydantic completes these models lazily, at the first response, and warns (a UserWarning about a
    ``ReadOnly`` TypedDict item in litellm's types) while doing so: users would see it on stderr, and
    under ``-W error`` (our test suite) it becomes an exception inside litellm's stream handler.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from litellm.types.utils import Delta, Message, ModelResponse, ModelResponseStream

        for cls in (Message, Delta, ModelResponse, ModelResponseStream):
            cls()
        for name in _FIRST_REQUEST_MODULES:
            _import(name)
        for name, classes in _FIRST_REQUEST_MODELS:
            module = _import(name)
            for model in (getattr(module, c, None) for c in classes):
                if model is not None:
                    model.model_rebuild(raise_errors=False)  # else built at first use, as before
        # A lazy attribute: its first access imports a provider's config, and every request to an
        # OpenAI-compatible server asks that config whether the model is one of its own.
        with contextlib.suppress(AttributeError, ImportError):
            litellm.VertexAIAnthropicConfig  # noqa: B018 - the access is the point


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


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
