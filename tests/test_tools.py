"""Tools: schemas from hints and docstrings, import by reference, calls with model-written arguments."""

from __future__ import annotations  # the schema builder must resolve string annotations

import enum
import functools
import inspect
import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import pytest

from agno_yaml.errors import EXIT_BAD_INPUT, ToolImportError
from agno_yaml.tools import ToolArgumentError, ToolDef, call_tool, import_tool, tool_from_callable

TEAMS = Path(__file__).resolve().parent.parent / "teams"


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


def forecast(
    city: str,
    days: int,
    scale: float = 1.5,
    detailed: bool = False,
    tags: list[str] | None = None,
    window: tuple[int, ...] = (1, 2),
    extra: dict[str, int] | None = None,
    mode: Literal["brief", "full"] = "brief",
    unit: Unit = Unit.CELSIUS,
    anything=None,
    note: Optional[str] = None,  # noqa: UP045 - the old spelling must work too
    count: Annotated[int, "How many results"] = 3,
    when: object = object(),
) -> str:
    """Forecast the weather for a city.

    Uses fixed sample data,
    not a live service.

    Args:
        city (str): Name of the city,
            for example "Paris".
        days: How many days ahead.

    Returns:
        A short forecast.
    """
    return f"{city}/{days}/{scale}/{unit.name}/{window}/{mode}/{tags}"


def sphinx_style(a: int, b: str = "x") -> None:
    """Sphinx documented.

    :param int a: The first
        parameter.
    :param b: The second.
    :returns: nothing
    """


def numpy_style(alpha: float, beta: list[int]) -> dict[str, Any]:
    """NumPy documented.

    Parameters
    ----------
    alpha : float
        Weight of the thing.
    beta : list of int
        Values to add.

    Returns
    -------
    dict
    """
    return {"alpha": alpha, "total": sum(beta)}


def undocumented(x, y: int = 2):
    return None


def test_schema_for_a_rich_signature() -> None:
    tool = tool_from_callable(forecast)
    assert tool.name == "forecast"
    assert (
        tool.description == "Forecast the weather for a city.\n\nUses fixed sample data, not a live service."
    )
    params = tool.parameters
    assert params["type"] == "object" and params["additionalProperties"] is False
    assert params["required"] == ["city", "days"]
    props = params["properties"]
    assert list(props) == list(inspect.signature(forecast).parameters)  # every parameter, in order
    assert props["city"] == {"type": "string", "description": 'Name of the city, for example "Paris".'}
    assert props["days"] == {"type": "integer", "description": "How many days ahead."}
    assert props["scale"] == {"type": "number", "default": 1.5}
    assert props["detailed"] == {"type": "boolean", "default": False}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "default": None}
    assert props["window"] == {"type": "array", "items": {"type": "integer"}, "default": [1, 2]}
    assert props["extra"] == {"type": "object", "additionalProperties": {"type": "integer"}, "default": None}
    assert props["mode"] == {"enum": ["brief", "full"], "type": "string", "default": "brief"}
    assert props["unit"] == {"enum": ["c", "f"], "type": "string", "default": "c"}
    assert props["anything"] == {"default": None}
    assert props["note"] == {"type": "string", "default": None}
    assert props["count"] == {"type": "integer", "description": "How many results", "default": 3}
    assert props["when"] == {}  # no JSON form, default not serialisable: still offered
    assert tool.to_openai() == {
        "type": "function",
        "function": {"name": "forecast", "description": tool.description, "parameters": params},
    }
    json.dumps(tool.to_openai())  # what a provider receives must be plain JSON


def test_sphinx_numpy_and_undocumented_docstrings() -> None:
    sphinx = tool_from_callable(sphinx_style)
    assert sphinx.description == "Sphinx documented."
    assert sphinx.parameters["properties"]["a"]["description"] == "The first parameter."
    assert sphinx.parameters["properties"]["b"]["description"] == "The second."
    numpy = tool_from_callable(numpy_style)
    assert numpy.description == "NumPy documented."
    assert numpy.parameters["properties"] == {
        "alpha": {"type": "number", "description": "Weight of the thing."},
        "beta": {"type": "array", "items": {"type": "integer"}, "description": "Values to add."},
    }
    bare = tool_from_callable(undocumented)
    assert bare.description == ""
    assert bare.parameters["properties"] == {"x": {}, "y": {"type": "integer", "default": 2}}
    assert bare.parameters["required"] == ["x"]


def test_union_and_fixed_tuple_schemas() -> None:
    def pick(value: int | str, point: tuple[float, float], names: set[str]) -> str:
        return "ok"

    props = tool_from_callable(pick).parameters["properties"]
    assert props["value"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["point"] == {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}}
    assert props["names"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}


def test_lambdas_need_a_name_and_star_parameters_are_refused() -> None:
    with pytest.raises(ToolImportError, match="define it with def or pass name="):
        tool_from_callable(lambda x: x)
    assert tool_from_callable(lambda x: x, name="identity").name == "identity"

    def spread(*values: int) -> int:
        return 0

    def options(**kw: str) -> str:
        return ""

    with pytest.raises(ToolImportError, match=r"parameter \*values is not supported.*list each parameter"):
        tool_from_callable(spread)
    with pytest.raises(ToolImportError, match=r"parameter \*\*kw is not supported"):
        tool_from_callable(options)


# ---- import by reference ------------------------------------------------------------------------


@pytest.fixture
def module_dir(tmp_path: Path):
    """Writes modules with unique names into a temp dir and forgets them afterwards."""
    names: list[str] = []

    def write(source: str) -> str:
        name = f"tools_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
        names.append(name)
        return name

    yield tmp_path, write
    for name in names:
        sys.modules.pop(name, None)


GOOD_MODULE = '''
from __future__ import annotations

RATES = {"a": 1}

def lookup_price(item: str, quantity: int = 1) -> float:
    """Look up a price.

    Args:
        item: What to price.
    """
    return 2.5 * quantity

def list_items() -> list[str]:
    return ["x"]
'''


def test_import_by_reference_from_the_search_path(module_dir) -> None:
    directory, write = module_dir
    name = write(GOOD_MODULE)
    before = list(sys.path)
    tool = import_tool(f"{name}:lookup_price", search_path=directory)
    assert sys.path == before  # the team directory was only needed while importing
    assert tool.name == "lookup_price" and tool.description == "Look up a price."
    assert tool.parameters["properties"]["item"] == {"type": "string", "description": "What to price."}
    assert call_tool(tool, '{"item": "tea", "quantity": 2}') == "5.0"


def test_missing_module_names_it_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ToolImportError) as info:
        import_tool("no_such_tools_mod:run", search_path=tmp_path)
    text = str(info.value)
    assert "no module named 'no_such_tools_mod'" in text
    assert f"the team file's directory {tmp_path}" in text
    assert "install the package that provides it or fix the module name" in text
    assert "\n" not in text and info.value.exit_code == EXIT_BAD_INPUT


def test_missing_attribute_suggests_close_matches(module_dir) -> None:
    directory, write = module_dir
    name = write(GOOD_MODULE)
    with pytest.raises(
        ToolImportError, match=f"module '{name}' has no attribute 'lookup_prize'; did you mean lookup_price"
    ):
        import_tool(f"{name}:lookup_prize", search_path=directory)
    with pytest.raises(ToolImportError, match="it has: list_items, lookup_price"):
        import_tool(f"{name}:zzz", search_path=directory)


def test_not_callable_and_bad_references(module_dir) -> None:
    directory, write = module_dir
    name = write(GOOD_MODULE)
    with pytest.raises(ToolImportError, match="'RATES' is a dict, not a function"):
        import_tool(f"{name}:RATES", search_path=directory)
    with pytest.raises(
        ToolImportError, match=r"must look like 'package.module:function' \(did you mean 'pkg.mod:fn'\?\)"
    ):
        import_tool("pkg.mod.fn")


def test_module_raising_at_import_is_one_line(module_dir) -> None:
    directory, write = module_dir
    name = write('raise RuntimeError("no API key\\nconfigured")\n')
    with pytest.raises(ToolImportError) as info:
        import_tool(f"{name}:anything", search_path=directory)
    assert str(info.value) == (
        f"tool '{name}:anything': importing module '{name}' raised RuntimeError: no API key configured; "
        "fix the module so it imports cleanly"
    )
    broken = write("def f(:\n")
    with pytest.raises(ToolImportError, match="raised SyntaxError"):
        import_tool(f"{broken}:f", search_path=directory)
    needs = write("import not_installed_dependency_xyz\n")
    with pytest.raises(ToolImportError, match="needs 'not_installed_dependency_xyz', which is not installed"):
        import_tool(f"{needs}:f", search_path=directory)


def test_star_parameters_are_refused_on_import(module_dir) -> None:
    directory, write = module_dir
    name = write("def run(*args):\n    return args\n")
    with pytest.raises(ToolImportError, match=rf"tool '{name}:run': parameter \*args is not supported"):
        import_tool(f"{name}:run", search_path=directory)


# ---- calling ------------------------------------------------------------------------------------


def describe(city: str, detail: int | None = None) -> dict[str, Any]:
    """Describe a city.

    Args:
        city: The city.
        detail: How much detail.
    """
    return {"city": city, "détail": detail}


def test_call_returns_text() -> None:
    assert (
        call_tool(tool_from_callable(describe), '{"city": "Zürich"}') == '{"city": "Zürich", "détail": null}'
    )
    assert call_tool(tool_from_callable(sphinx_style), '{"a": 1}') == ""
    assert call_tool(tool_from_callable(lambda: "plain", name="plain"), "{}") == "plain"
    assert call_tool(tool_from_callable(lambda: {1, 2}, name="odd"), "{}") in ("{1, 2}", "{2, 1}")


def test_call_converts_to_what_the_hints_say() -> None:
    tool = tool_from_callable(forecast)
    args = '{"city": "Oslo", "days": 2.0, "unit": "f", "window": [3, 4], "tags": ["x"], "note": null}'
    assert call_tool(tool, args) == "Oslo/2/1.5/FAHRENHEIT/(3, 4)/brief/['x']"


def test_invalid_json_and_not_an_object() -> None:
    tool = tool_from_callable(describe)
    with pytest.raises(ToolArgumentError) as info:
        call_tool(tool, '{"city": ')
    assert str(info.value).startswith(
        "Invalid arguments for tool 'describe': the arguments are not valid JSON ("
    )
    assert str(info.value).endswith(
        "Expected a JSON object with: city (string, required): The city; "
        "detail (integer, optional, default null): How much detail."
    )
    with pytest.raises(ToolArgumentError, match=r"must be a JSON object, got a list \[\"Oslo\"\]"):
        call_tool(tool, '["Oslo"]')


def test_missing_unknown_and_wrong_type_arguments() -> None:
    tool = tool_from_callable(describe)
    with pytest.raises(ToolArgumentError, match="missing required argument 'city'. Expected a JSON object"):
        call_tool(tool, "{}")
    with pytest.raises(ToolArgumentError) as info:
        call_tool(tool, '{"cty": "Oslo"}')
    assert "unknown argument 'cty' (did you mean 'city'?); missing required argument 'city'" in str(
        info.value
    )
    with pytest.raises(ToolArgumentError) as info:
        call_tool(tool, '{"city": 7, "detail": "high"}')
    assert (
        "argument 'city' must be string, got an integer 7; argument 'detail' must be integer, got a string \"high\""
        in str(info.value)
    )
    with pytest.raises(ToolArgumentError, match=r"argument 'beta'\[1\] must be integer, got a string \"2\""):
        call_tool(tool_from_callable(numpy_style), '{"alpha": 1, "beta": [1, "2"]}')
    with pytest.raises(
        ToolArgumentError, match=r"argument 'unit' must be one of \"c\", \"f\", got a string \"k\""
    ):
        call_tool(tool_from_callable(forecast), '{"city": "x", "days": 1, "unit": "k"}')
    with pytest.raises(ToolArgumentError, match="argument 'detailed' must be boolean, got an integer 1"):
        call_tool(tool_from_callable(forecast), '{"city": "x", "days": 1, "detailed": 1}')


def test_tool_errors_propagate_and_run_loop_tools_are_not_called_here() -> None:
    def explode() -> None:
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        call_tool(tool_from_callable(explode), "{}")
    with pytest.raises(TypeError, match="no function to call"):
        call_tool(ToolDef("delegate_task_to_member", "Delegate.", {"type": "object", "properties": {}}), "{}")


def test_positional_only_and_async_tools() -> None:
    def area(width: float, height: float = 2.0, /) -> float:
        return width * height

    async def later(x: int) -> int:
        return x + 1

    assert call_tool(tool_from_callable(area), '{"width": 3}') == "6.0"
    assert call_tool(tool_from_callable(later), '{"x": 1}') == "2"


# ---- the example tools --------------------------------------------------------------------------


def test_example_tools() -> None:
    rate = import_tool("example_tools:get_exchange_rate", search_path=TEAMS)
    assert rate.parameters["required"] == ["base", "quote"]
    assert "fixed sample rates" in rate.description
    assert rate.parameters["properties"]["base"]["description"].startswith("ISO 4217 code")
    assert call_tool(rate, '{"base": "USD", "quote": "EUR"}') == "0.92"
    assert call_tool(rate, '{"base": "eur", "quote": "eur"}') == "1.0"
    with pytest.raises(ValueError, match="unknown currency 'XYZ'; known currencies: CHF, EUR"):
        call_tool(rate, '{"base": "XYZ", "quote": "EUR"}')
    convert = import_tool("example_tools:convert_amount", search_path=TEAMS)
    result = json.loads(call_tool(convert, '{"amount": 10, "base": "USD", "quote": "JPY"}'))
    assert result == {"base": "USD", "quote": "JPY", "rate": 151.0, "converted": 1510.0}


def test_callable_objects_partials_and_decorated_functions() -> None:
    class Adder:
        """Add two numbers.

        Args:
            a: The first number.
        """

        def __call__(self, a: int, b: int = 1) -> int:
            return a + b

    adder = tool_from_callable(Adder(), name="adder")
    assert adder.description == "Add two numbers."
    assert adder.parameters["properties"]["a"] == {"type": "integer", "description": "The first number."}
    assert call_tool(adder, '{"a": 2}') == "3"
    partial = tool_from_callable(functools.partial(numpy_style, beta=[1, 2]), name="weighted")
    assert partial.description == "NumPy documented."
    assert partial.parameters["required"] == ["alpha"]
    assert call_tool(partial, '{"alpha": 0.5}') == '{"alpha": 0.5, "total": 3}'

    def logged(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)

        return wrapper

    wrapped = tool_from_callable(logged(describe))
    assert wrapped.name == "describe" and wrapped.parameters["required"] == ["city"]
    with pytest.raises(ToolArgumentError, match=r"argument 'detail' must be integer, got a string"):
        call_tool(wrapped, '{"city": "x", "detail": "lots"}')


def test_optional_list_reports_the_bad_item() -> None:
    with pytest.raises(ToolArgumentError, match=r"argument 'tags'\[1\] must be string, got an integer 2"):
        call_tool(tool_from_callable(forecast), '{"city": "x", "days": 1, "tags": ["a", 2]}')


def test_arguments_are_checked_against_the_offered_schema() -> None:
    """One check for every tool: the JSON Schema the model was offered, through jsonschema."""
    from agno_yaml.tools.delegation import delegation_tools

    (delegate,) = delegation_tools([("agent-1", "Agent 1")], broadcast=False)
    with pytest.raises(ToolArgumentError) as info:
        call_tool(delegate, '{"member_id": "agent-1", "task": "", "extra": 1}', context=None)
    text = str(info.value)
    assert "unknown argument 'extra'; argument 'task' must not be empty." in text
    assert text.endswith("what a good answer looks like.")


def test_null_for_an_optional_argument_means_its_default() -> None:
    def greet(name: str, greeting: str = "Hello") -> str:
        """Greet.

        Args:
            name: Who.
            greeting: How.
        """
        return f"{greeting}, {name}"

    tool = tool_from_callable(greet)
    assert call_tool(tool, '{"name": "Ada", "greeting": null}') == "Hello, Ada"
    with pytest.raises(ToolArgumentError, match="argument 'name' must be string, got null"):
        call_tool(tool, '{"name": null}')


def test_a_tool_with_context_gets_it_first_and_the_model_never_sees_it() -> None:
    def whoami(ctx: dict[str, str], loud: bool = False) -> str:
        return ctx["user"].upper() if loud else ctx["user"]

    tool = ToolDef(
        "whoami",
        "Who is asking.",
        {
            "type": "object",
            "properties": {"loud": {"type": "boolean"}},
            "required": [],
            "additionalProperties": False,
        },
        whoami,
        context="session",
    )
    assert call_tool(tool, '{"loud": true}', context={"user": "ada"}) == "ADA"
    with pytest.raises(ToolArgumentError, match="unknown argument 'ctx'"):
        call_tool(tool, '{"ctx": {"user": "eve"}}', context={"user": "ada"})
