"""The one seam to LLMs: ``Model.complete(messages, tools, stream)``, and a registry of names.

    from agno_yaml.models import get_model, register_model
    from agno_yaml.models.offline import FunctionModel

    register_model("polite", lambda spec: FunctionModel(lambda messages, tools: "Certainly."))
    get_model(ModelSpec(id="polite")).complete([Message("user", "hi")]).message.content

Built in: ``echo`` and ``scripted`` (``offline``), so every team runs with no key. Any other name is
a litellm model string (``litellm``), imported only when such a model is built, because
``import litellm`` costs about three seconds. Importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any, Protocol

from ..config.spec import ModelSpec
from ..messages import Completion, Message

OnText = Callable[[str], None]


class Model(Protocol):
    """What the run loop needs of a model. Implementations are stateless between calls, except
    the offline ones that replay a script, whose position is their state."""

    name: str

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]] | None = None,
        stream: bool = False,
        on_text: OnText | None = None,
        *,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        """Answer ``messages``. With ``stream``, text deltas go to ``on_text`` as they arrive.

        ``response_format`` (OpenAI's ``{"type": "json_schema", ...}``) is given only to an agent
        with an ``output_schema``; a model may ignore it (the run loop checks the answer anyway)."""
        ...


ModelFactory = Callable[[ModelSpec], Model]

_registry: dict[str, ModelFactory] = {}
# Built-in names, resolved on first use so importing this package imports none of them.
_BUILTIN = {"echo": "offline:EchoModel.from_spec", "scripted": "offline:ScriptedModel.from_spec"}


def register_model(name: str, factory: ModelFactory) -> None:
    """Make ``name`` usable as a model id (in a team file or ``--model``) for this process.

    ``factory`` gets the whole ModelSpec (so options such as ``replies`` or ``temperature`` reach it).
    A registered name wins over a built-in one and over litellm.
    """
    if not name or "/" in name:
        raise ValueError(f"a registered model name must be non-empty and have no '/': {name!r}")
    _registry[name] = factory


def _builtin(name: str) -> ModelFactory | None:
    target = _BUILTIN.get(name)
    if target is None:
        return None
    module, _, attr = target.partition(":")
    found: Any = import_module(f".{module}", __name__)
    for part in attr.split("."):
        found = getattr(found, part)
    factory: ModelFactory = found
    return factory


def offline_names() -> list[str]:
    """Model names that need no provider: the built-in offline ones and every registered one."""
    return sorted({*_BUILTIN, *_registry})


def is_offline(model_id: str) -> bool:
    return model_id in _BUILTIN or model_id in _registry


def get_model(spec: ModelSpec) -> Model:
    """Build the model a spec names: a registered name, a built-in offline model, else litellm."""
    factory = _registry.get(spec.id) or _builtin(spec.id)
    if factory is not None:
        return factory(spec)
    from .litellm import LiteLLMModel  # deferred: importing litellm costs ~3 s

    return LiteLLMModel(spec)


__all__ = ["Model", "ModelFactory", "OnText", "get_model", "is_offline", "offline_names", "register_model"]
