"""The session viewer (agno_yaml/server/static, served at /ui/) in a real headless Chromium.

A real uvicorn server runs in a thread on 127.0.0.1 (port 0) with offline models; Playwright drives
Debian's ``chromium`` (never a downloaded browser). Every wait is Playwright's own (``expect`` and
``wait_for`` with a timeout), never a fixed sleep. Without a chromium the module is skipped, unless
``CI_REQUIRE_BROWSER=1`` says the browser must be there: then that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agno_yaml.server import TeamRegistry, create_app

ROOT = Path(__file__).resolve().parent.parent
MULTI = str(ROOT / "teams" / "multilingual.yaml")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 10_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CI_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


CHROMIUM = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
if CHROMIUM is None:
    _unavailable("no chromium browser (/usr/bin/chromium; Debian: apt-get install chromium)")
try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - the dev extras install it
    _unavailable("playwright for Python is not installed (it needs no browser download)")

expect.set_options(timeout=WAIT_MS)


# -- a real server in a thread ---------------------------------------------------------------------------
class LiveServer:
    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="viewer-uvicorn", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn server did not start")
            time.sleep(0.01)  # polling the start flag, not waiting for an outcome
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """serve(*team files, model=..., api_key=...) starts a server over a store in tmp_path; its URL."""
    running: list[LiveServer] = []

    def start(*files: str, model: str | None = "echo", **options: Any) -> str:
        registry = TeamRegistry(list(files) or [MULTI], db=str(tmp_path / "store"), model=model)
        live = LiveServer(create_app(registry, **options))
        running.append(live)
        return live.__enter__()

    yield start
    for live in running:
        live.__exit__()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        try:
            launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        except PlaywrightError as exc:
            if os.environ.get("CI_REQUIRE_BROWSER") == "1":
                raise
            pytest.skip(f"{CHROMIUM} does not start: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # its own storage
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def open_viewer(page: Page, base: str, user: str | None = None) -> None:
    page.goto(f"{base}/ui/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    if user is not None:
        page.get_by_test_id("user").fill(user)
        page.get_by_test_id("user").press("Enter")
        expect(page.get_by_test_id("session-title")).to_have_text("New session")


def send(page: Page, message: str) -> None:
    page.get_by_test_id("message").fill(message)
    page.get_by_test_id("message").press("Enter")


def api(base: str, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
    request = urllib.request.Request(f"{base}{path}", method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# Records what the live turn showed while the turn streamed (it is replaced by the stored turn after).
WATCH_LIVE = """() => {
  window.__live = {answers: [], delegations: [], memberDone: [], toolCalls: []};
  new MutationObserver(() => {
    const answer = document.querySelector('#live-answer');
    if (answer && answer.textContent) window.__live.answers.push(answer.textContent);
    for (const d of document.querySelectorAll('[data-testid=live-delegation]')) window.__live.delegations.push(d.textContent);
    for (const d of document.querySelectorAll('[data-testid=live-member-done]')) window.__live.memberDone.push(d.textContent);
    for (const d of document.querySelectorAll('[data-testid=live-tool-call]')) window.__live.toolCalls.push(d.textContent);
  }).observe(document.getElementById('transcript'), {subtree: true, childList: true, characterData: true});
}"""


# -- scenarios -------------------------------------------------------------------------------------------
def test_a_new_session_streams_in_and_its_transcript_shows_the_members(
    serve: Callable[..., str], page: Page, tmp_path: Path
) -> None:
    base = serve()
    open_viewer(page, base, "alice")
    expect(page.get_by_test_id("team")).to_have_value("multilingual-team")
    expect(page.get_by_test_id("sessions-empty")).to_be_visible()
    page.evaluate(WATCH_LIVE)

    first = "hello there <b>bold</b> & <script>x</script>"
    send(page, first)
    turns = page.get_by_test_id("turn")
    expect(turns).to_have_count(1)
    turn = turns.first
    expect(turn.get_by_test_id("user-message")).to_contain_text(first)  # as text: never parsed as HTML
    assert page.locator("#transcript b, #transcript script").count() == 0
    member = turn.get_by_test_id("member-run")
    expect(member).to_have_count(1)
    expect(member).to_contain_text("→ Agent 1 was asked")
    expect(member.get_by_test_id("member-answer")).to_contain_text(f"Agent 1 answered{first}")
    expect(turn.get_by_test_id("answer")).to_contain_text(f"answer (by Agent 1){first}")
    expect(turn.get_by_test_id("turn-usage")).to_contain_text(" tokens")
    expect(turn.get_by_test_id("status-badge")).to_have_count(0)
    user_box, member_box = turn.get_by_test_id("user-message").bounding_box(), member.bounding_box()
    assert user_box and member_box and member_box["x"] >= user_box["x"] + 16  # indented under the turn

    live = page.evaluate("window.__live")
    assert first in live["answers"], live  # the answer was shown while it streamed
    assert any("Agent 1 was asked" in d for d in live["delegations"]), live
    assert any("Agent 1 answered" in d for d in live["memberDone"]), live
    expect(page.get_by_test_id("status")).to_contain_text("answered by Agent 1")
    expect(page.get_by_test_id("error")).to_be_hidden()

    items = page.get_by_test_id("session-item")
    expect(items).to_have_count(1)
    session_id = page.get_by_test_id("info-session-id").text_content()
    assert session_id and items.first.get_attribute("data-session-id") == session_id
    expect(items.first).to_contain_text("Multilingual Team")
    expect(items.first.get_by_test_id("session-first")).to_have_text(first)
    expect(items.first.locator("button")).to_have_attribute("aria-current", "true")
    assert page.url.endswith(f"#session={session_id}")

    send(page, "second question")
    expect(turns).to_have_count(2)
    expect(turns.nth(1).get_by_test_id("member-answer")).to_contain_text(
        f'second question (earlier in this session: "{first}")'
    )
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("2 turns")
    expect(page.get_by_test_id("session-meta")).to_contain_text("user alice")
    page.screenshot(path=tmp_path / "viewer.png", full_page=True)

    page.reload()  # the user (localStorage) and the open session (the address) are remembered
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("user")).to_have_value("alice")
    expect(turns).to_have_count(2)
    page.get_by_test_id("new-session").click()
    expect(turns).to_have_count(0)
    box = page.get_by_test_id("message")
    box.fill("a fresh")
    box.press("Shift+Enter")  # a new line, not a send
    box.press_sequentially("start")
    expect(box).to_have_value("a fresh\nstart")
    box.press("Enter")
    expect(box).to_have_value("")
    expect(turns).to_have_count(1)
    expect(turns.first.get_by_test_id("user-message")).to_contain_text("a fresh\nstart")
    expect(items).to_have_count(2)
    expect(items.first.get_by_test_id("session-first")).to_have_text("a fresh start")  # newest first


FAILING = """\
name: Failing Team
model: {id: scripted, replies: []}
members:
  - name: Helper
    role: Helps
"""

TOOLS = """\
name: Tool Team
respond_directly: true
model:
  id: scripted
  replies:
    - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: clerk, task: rates please}}]
members:
  - name: Clerk
    role: Looks up rates
    tools: [example_tools:get_exchange_rate]
    model:
      id: scripted
      replies:
        - tool_calls:
            - {name: get_exchange_rate, arguments: {base: USD, quote: EUR}}
            - {name: get_exchange_rate, arguments: {base: USD, quote: XYZ}}
        - One dollar buys 0.92 euros.
  - name: Idle
    role: Fails when asked
    model: {id: scripted, replies: []}
"""

MEMBER_FAILS = """\
name: Member Fails Team
model:
  id: scripted
  replies:
    - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: idle, task: do it}}]
    - The member could not do it.
members:
  - name: Idle
    role: Fails when asked
    model: {id: scripted, replies: []}
"""


def test_failed_runs_and_tool_calls_are_shown(serve: Callable[..., str], page: Page, tmp_path: Path) -> None:
    for name, text in (("failing.yaml", FAILING), ("tools.yaml", TOOLS), ("member.yaml", MEMBER_FAILS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "teams" / "example_tools.py", tmp_path / "example_tools.py")
    files = [str(tmp_path / n) for n in ("failing.yaml", "tools.yaml", "member.yaml")]
    base = serve(*files, model=None)
    open_viewer(page, base, "bob")
    turns = page.get_by_test_id("turn")

    page.get_by_test_id("team").select_option("failing-team")
    send(page, "this will fail")
    expect(turns).to_have_count(1)
    failed = turns.first
    expect(failed).to_have_class("turn failed")
    expect(failed).to_have_attribute("data-status", "error")
    expect(failed.get_by_test_id("status-badge")).to_have_text("failed")
    expect(failed.get_by_test_id("run-error")).to_contain_text("the scripted model has no reply left")
    expect(page.get_by_test_id("error")).to_contain_text("failed: the scripted model has no reply left")
    expect(page.get_by_test_id("session-item")).to_have_count(1)

    page.get_by_test_id("team").select_option("member-fails-team")  # another team: a new session
    expect(turns).to_have_count(0)
    send(page, "ask the idle one")
    expect(turns).to_have_count(1)
    expect(turns.first).to_have_attribute("data-status", "completed")
    member = turns.first.get_by_test_id("member-run")
    expect(member).to_have_class("member failed")
    expect(member.get_by_test_id("status-badge")).to_have_text("failed")
    expect(member.get_by_test_id("member-answer")).to_contain_text(
        "Idle failedthe scripted model has no reply left"
    )
    expect(turns.first.get_by_test_id("answer")).to_contain_text("The member could not do it.")

    page.get_by_test_id("team").select_option("tool-team")
    page.evaluate(WATCH_LIVE)
    send(page, "what is the rate?")
    expect(turns).to_have_count(1)
    calls = turns.first.get_by_test_id("member-run").get_by_test_id("tool-call")
    expect(calls).to_have_count(2)
    ok, bad = calls.nth(0), calls.nth(1)
    expect(ok).not_to_have_attribute("open", "")  # folded
    expect(ok.locator("summary")).to_contain_text("⚙ get_exchange_rate")
    expect(ok.get_by_test_id("tool-result")).to_be_hidden()
    ok.locator("summary").focus()
    page.keyboard.press("Enter")  # unfolds from the keyboard
    expect(ok.get_by_test_id("tool-result")).to_have_text("0.92")
    expect(ok).to_contain_text('"quote": "EUR"')
    expect(bad).to_have_class("tool failed")
    bad.locator("summary").click()
    expect(bad).to_contain_text("unknown currency 'XYZ'")
    expect(turns.first.get_by_test_id("answer")).to_contain_text("One dollar buys 0.92 euros.")
    expect(page.get_by_test_id("session-item")).to_have_count(3)
    seen = page.evaluate("window.__live.toolCalls")  # shown as they happened, before the transcript
    assert any(c.startswith("⚙ get_exchange_rate (by Clerk)") and "0.92" in c for c in seen), seen
    assert any("unknown currency 'XYZ'" in c for c in seen), seen


def test_a_cancelled_run_and_the_summary_and_state_are_shown(serve: Callable[..., str], page: Page) -> None:
    base = serve()
    hostile = '<img src=x onerror="window.__pwned=1">'
    export = {
        "format": "agno-yaml-session",
        "version": 1,
        "session": {
            "session_id": "fake", "user_id": "carol", "team_id": "multilingual-team",
            "created_at": 1_700_000_000, "updated_at": 1_700_000_100, "run_count": 2, "turn_count": 2,
            "summary": {"summary": f"They talked. {hostile}", "topics": ["greetings", hostile]},
            "session_state": {"basket": ["apples", hostile]},
        },
        "runs": [
            {"run_id": "r1", "parent_run_id": None, "input": "hi", "content": "hello", "status": "completed",
             "metrics": {"total_tokens": 12, "cost": 0.0012, "duration": 0.5}, "tool_calls": [],
             "created_at": 1_700_000_000},
            {"run_id": "r2", "parent_run_id": None, "input": hostile, "content": "half an ans",
             "status": "cancelled", "error": "stopped by Ctrl-C", "tool_calls": [],
             "metrics": {"total_tokens": 3, "duration": 0.1}, "created_at": 1_700_000_050},
        ],
    }  # fmt: skip
    page.route("**/sessions/fake?*", lambda route: route.fulfill(json=export))
    page.goto(f"{base}/ui/#session=fake")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    turns = page.get_by_test_id("turn")
    expect(turns).to_have_count(2)
    expect(turns.nth(0).get_by_test_id("turn-usage")).to_contain_text("12 tokens, $0.001200, 0.50 s")
    cancelled = turns.nth(1)
    expect(cancelled).to_have_class("turn cancelled")
    expect(cancelled.get_by_test_id("status-badge")).to_have_text("cancelled")
    expect(cancelled.get_by_test_id("user-message")).to_contain_text(hostile)
    expect(cancelled.get_by_test_id("run-error")).to_have_text("error: stopped by Ctrl-C")
    expect(page.get_by_test_id("summary-text")).to_have_text(f"They talked. {hostile}")
    expect(page.get_by_test_id("summary")).to_contain_text("greetings")
    assert json.loads(page.get_by_test_id("state").text_content() or "") == {"basket": ["apples", hostile]}
    assert page.locator("img").count() == 0 and page.evaluate("window.__pwned") is None

    # A turn the server refuses once the stream has begun: the `error` event is shown, nothing lost.
    events = [
        ("start", {"team_id": "multilingual-team", "user_id": "default", "session_id": "fake", "new_session": False}),
        ("text", {"text": "partial "}),
        ("error", {"status": "error", "error": f"the store is locked {hostile}", "exit_code": 1, "http_status": 500}),
    ]  # fmt: skip
    stream = "".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n" for kind, data in events)
    page.route(
        "**/teams/multilingual-team/runs",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=stream),
    )
    send(page, "one more")
    live = page.get_by_test_id("live-turn")
    expect(live.get_by_test_id("live-error")).to_have_text(f"error: the store is locked {hostile}")
    expect(live).to_have_class("turn live failed")
    expect(live.get_by_test_id("live-answer")).to_have_text("partial ")
    expect(page.get_by_test_id("error")).to_have_text(f"error: the store is locked {hostile}")
    expect(page.get_by_test_id("message")).to_have_value("one more")  # given back, to try again
    expect(page.get_by_test_id("send")).to_be_enabled()
    expect(turns).to_have_count(2)
    assert page.locator("img").count() == 0


def test_with_an_api_key_the_page_asks_for_it_once(serve: Callable[..., str], page: Page) -> None:
    base = serve(str(ROOT / "teams" / "session-summary.yaml"), api_key="k")
    page.goto(f"{base}/ui/")
    dialog = page.get_by_test_id("auth-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("auth-message")).to_contain_text("needs an API key (401")
    page.get_by_test_id("api-key").fill("wrong")
    page.get_by_test_id("api-key").press("Enter")
    expect(page.get_by_test_id("auth-message")).to_contain_text("refused the API key (401")
    expect(dialog).to_be_visible()
    page.get_by_test_id("api-key").fill("k")
    page.get_by_test_id("api-key-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert page.evaluate("sessionStorage.getItem('agno-yaml.api-key')") == "k"

    expect(page.get_by_test_id("summary")).to_have_text("No summary.")
    send(page, "about cats")
    expect(page.get_by_test_id("turn")).to_have_count(1)
    expect(page.get_by_test_id("member-answer")).to_contain_text("about cats")
    expect(page.get_by_test_id("session-item")).to_have_count(1)
    # the summary was reloaded when the turn was done
    expect(page.get_by_test_id("summary-text")).to_have_text('The user said: "about cats".')
    page.reload()  # asked once: the tab keeps the key
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("turn")).to_have_count(1)


def test_a_user_sees_only_their_own_sessions(serve: Callable[..., str], page: Page) -> None:
    base = serve()
    made = api(base, "POST", "/teams/multilingual-team/runs", {"message": "u1 secret", "user_id": "u1"})
    session_id = made["session_id"]
    open_viewer(page, base, "u1")
    items = page.get_by_test_id("session-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("u1 secret")

    page.get_by_test_id("user").fill("u2")
    page.get_by_test_id("user").press("Enter")
    expect(items).to_have_count(0)
    expect(page.get_by_test_id("sessions-empty")).to_be_visible()
    expect(page.get_by_test_id("sessions-count")).to_have_text("(0)")
    page.goto(f"{base}/ui/#session={session_id}")  # u1's session, asked for as u2
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("error")).to_contain_text(f"no session '{session_id}' for user 'u2'")
    expect(page.get_by_test_id("turn")).to_have_count(0)
    assert "u1 secret" not in (page.locator("body").text_content() or "")

    send(page, "u2 here")  # u2's own session, in a new session (u1's id is not reused)
    expect(page.get_by_test_id("turn")).to_have_count(1)
    expect(items).to_have_count(1)
    assert items.first.get_attribute("data-session-id") != session_id
    assert [s["session_id"] for s in api(base, "GET", "/sessions?user_id=u1")["sessions"]] == [session_id]
