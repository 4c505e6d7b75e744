// The session viewer of agno-yaml's HTTP server: plain JS, no framework, no build step.
// Data from the server is only ever put into the page as text (textContent / text nodes).
"use strict";

(() => {
  const USER_KEY = "agno-yaml.user";
  const TEAM_KEY = "agno-yaml.team";
  const API_KEY = "agno-yaml.api-key"; // sessionStorage: this tab only
  const DELEGATION_TOOLS = new Set(["delegate_task_to_member", "delegate_task_to_members"]);

  const $ = (id) => document.getElementById(id);
  const ui = {
    userForm: $("user-form"), user: $("user"), team: $("team"), newSession: $("new-session"),
    forgetKey: $("forget-key"), error: $("error"), onlyTeam: $("only-team"),
    sessions: $("sessions"), sessionsEmpty: $("sessions-empty"), sessionsCount: $("sessions-count"),
    title: $("session-title"), meta: $("session-meta"), transcript: $("transcript"),
    composer: $("composer"), message: $("message"), send: $("send"), status: $("status"),
    summary: $("summary"), state: $("state"), actions: $("session-actions"), info: $("session-info"),
    deleteSession: $("delete-session"),
    authDialog: $("auth-dialog"), authForm: $("auth-form"), authMessage: $("auth-message"), apiKey: $("api-key"),
  };

  const view = {
    teams: [],          // GET /teams
    sessions: [],       // GET /sessions for the user
    session: null,      // the open session's id (null: a new one)
    streaming: null,    // {user, sessionId} while a turn streams
  };
  let authWaiters = [];

  // -- small helpers -------------------------------------------------------------------------------
  /** An element with attributes and children; strings become text nodes (never parsed as HTML). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const pad = (n) => String(n).padStart(2, "0");
  /** Unix seconds or an ISO 8601 string as "YYYY-MM-DD HH:MM" local time (as the CLI prints it). */
  function when(value) {
    if (!value) return "-";
    const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  function oneLine(text, width = 80) {
    const flat = String(text || "").split(/\s+/).filter(Boolean).join(" ");
    return flat.length <= width ? flat : flat.slice(0, width - 1) + "…";
  }
  function prettyJson(text) {
    if (typeof text !== "string") return JSON.stringify(text, null, 2);
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { return text; }
  }
  function statusWord(status) {
    if (status === "error") return "failed";
    if (status === "cancelled") return "cancelled";
    return status && status !== "completed" ? String(status) : "";
  }
  function badge(status) {
    const word = statusWord(status);
    return word ? el("span", { class: `badge ${word}`, "data-testid": "status-badge" }, word) : null;
  }
  function memberName(id) { // the picked team's member first: ids repeat across teams
    const picked = view.teams.filter((t) => t.id === ui.team.value);
    for (const team of picked.concat(view.teams)) {
      for (const m of team.members || []) if (m.id === id) return m.name || id;
    }
    return id || "member";
  }
  function teamName(id) {
    const team = view.teams.find((t) => t.id === id);
    return team && team.name ? team.name : id;
  }
  function errorText(body, fallback) {
    if (body && typeof body.error === "string") return body.error;
    if (body && body.error && body.error.message) return body.error.message;
    return fallback;
  }
  function showError(text) {
    ui.error.textContent = text || "";
    ui.error.hidden = !text;
  }
  function setStatus(text) { ui.status.textContent = text || ""; }
  function currentUser() { return ui.user.value.trim() || "default"; }

  // -- the API, with the bearer key when the server asks for one -----------------------------------
  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    const key = sessionStorage.getItem(API_KEY);
    if (key) h.Authorization = `Bearer ${key}`;
    return h;
  }

  /** Ask for the key (once per refusal); resolves when one was given. */
  function askForKey(message) {
    ui.authMessage.textContent = message;
    ui.apiKey.value = "";
    if (!ui.authDialog.open) ui.authDialog.showModal();
    ui.apiKey.focus();
    return new Promise((resolve) => authWaiters.push(resolve));
  }

  function refusedMessage(body) {
    const had = sessionStorage.getItem(API_KEY);
    sessionStorage.removeItem(API_KEY);
    ui.forgetKey.hidden = true;
    const said = errorText(body, "");
    return had
      ? `The server refused the API key (401${said ? `: ${said}` : ""}). Enter the right key.`
      : `This server needs an API key (401${said ? `: ${said}` : ""}). Enter it to continue.`;
  }

  /** fetch() with the key; on 401 asks for the key and tries again. */
  async function call(path, options) {
    for (;;) {
      const opts = Object.assign({}, options || {});
      opts.headers = headers(opts.headers);
      const response = await fetch(path, opts);
      if (response.status !== 401) return response;
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON */ }
      const message = refusedMessage(body);
      showError(message);
      await askForKey(message);
      showError("");
    }
  }

  async function getJson(path) {
    const response = await call(path);
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) throw new Error(errorText(body, `${path}: HTTP ${response.status}`));
    return body;
  }

  // -- teams and sessions ----------------------------------------------------------------------------
  async function loadTeams() {
    const body = await getJson("/teams");
    view.teams = body.teams || [];
    ui.team.replaceChildren();
    for (const team of view.teams) {
      const label = team.error ? `${team.id} (unavailable)` : `${team.name || team.id} · ${team.mode}`;
      ui.team.append(el("option", { value: team.id, disabled: Boolean(team.error), title: team.error || team.file }, label));
    }
    const remembered = localStorage.getItem(TEAM_KEY);
    const usable = view.teams.filter((t) => !t.error);
    if (remembered && usable.some((t) => t.id === remembered)) ui.team.value = remembered;
    else if (usable.length) ui.team.value = usable[0].id;
    if (!view.teams.length) showError("This server serves no team.");
  }

  async function loadSessions() {
    const user = currentUser();
    const params = new URLSearchParams({ user_id: user, limit: "200" });
    if (ui.onlyTeam.checked && ui.team.value) params.set("team_id", ui.team.value);
    const body = await getJson(`/sessions?${params}`);
    if (user !== currentUser()) return; // the user changed while this was loading
    view.sessions = body.sessions || [];
    renderSessions();
  }

  function renderSessions() {
    ui.sessions.replaceChildren();
    for (const s of view.sessions) {
      const current = s.session_id === view.session;
      const button = el("button", {
        type: "button", class: "session-button", "data-session-id": s.session_id,
        "aria-current": current ? "true" : null,
        onclick: () => openSession(s.session_id, true),
      },
        el("span", { class: "session-id", "data-testid": "session-id" }, s.session_id),
        el("span", { class: "session-team" }, teamName(s.team_id)),
        el("span", { class: "session-when" }, `${when(s.updated_at)} · ${s.turns} turn${s.turns === 1 ? "" : "s"}`),
        el("span", { class: "session-first", "data-testid": "session-first" }, oneLine(s.first_message, 70) || "(no message)"),
      );
      ui.sessions.append(el("li", { "data-testid": "session-item", "data-session-id": s.session_id }, button));
    }
    ui.sessionsEmpty.hidden = view.sessions.length > 0;
    ui.sessionsCount.textContent = `(${view.sessions.length})`;
  }

  function setHash() {
    const want = view.session ? `#session=${encodeURIComponent(view.session)}` : "";
    if (location.hash !== want) history.replaceState(null, "", want || location.pathname + location.search);
  }

  function clearSide() {
    ui.summary.replaceChildren(el("p", { class: "muted" }, "No summary."));
    ui.state.textContent = "{}";
    ui.info.replaceChildren();
    ui.actions.hidden = true;
  }

  function newSession() {
    view.session = null;
    setHash();
    ui.title.textContent = "New session";
    ui.meta.textContent = `with ${teamName(ui.team.value) || "no team"}: send a message to start it`;
    ui.transcript.replaceChildren();
    clearSide();
    renderSessions();
  }

  async function openSession(sessionId, focus) {
    view.session = sessionId;
    setHash();
    renderSessions();
    await loadSession(sessionId);
    if (focus) ui.message.focus();
  }

  async function loadSession(sessionId) {
    const user = currentUser();
    const response = await call(`/sessions/${encodeURIComponent(sessionId)}?${new URLSearchParams({ user_id: user })}`);
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (view.session !== sessionId) return; // another session was opened meanwhile
    if (!response.ok) { // gone, or never this user's: start a new session instead
      newSession();
      showError(errorText(body, `session ${sessionId}: HTTP ${response.status}`));
      return;
    }
    const session = body.session || {};
    if (session.team_id && [...ui.team.options].some((o) => o.value === session.team_id)) {
      ui.team.value = session.team_id;
    }
    renderSession(session, body.runs || []);
  }

  function renderSession(session, runs) {
    ui.title.textContent = `Session ${session.session_id}`;
    const turnCount = session.turn_count ?? runs.filter((r) => !r.parent_run_id).length;
    ui.meta.textContent = `user ${session.user_id} · team ${teamName(session.team_id)} · ${turnCount} turn${turnCount === 1 ? "" : "s"} · updated ${when(session.updated_at)}`;
    ui.transcript.replaceChildren(...transcript(runs));
    renderSummary(session.summary);
    ui.state.textContent = JSON.stringify(session.session_state || {}, null, 2);
    ui.info.replaceChildren(
      el("dt", {}, "id"), el("dd", { "data-testid": "info-session-id" }, session.session_id),
      el("dt", {}, "user"), el("dd", {}, session.user_id),
      el("dt", {}, "team"), el("dd", {}, session.team_id),
      el("dt", {}, "created"), el("dd", {}, when(session.created_at)),
      el("dt", {}, "updated"), el("dd", {}, when(session.updated_at)),
      el("dt", {}, "runs"), el("dd", {}, String(session.run_count ?? runs.length)),
    );
    ui.actions.hidden = false;
  }

  function renderSummary(summary) {
    if (!summary || !summary.summary) {
      ui.summary.replaceChildren(el("p", { class: "muted" }, "No summary."));
      return;
    }
    const parts = [el("p", { "data-testid": "summary-text" }, summary.summary)];
    if (Array.isArray(summary.topics) && summary.topics.length) {
      parts.push(el("ul", { class: "topics", "aria-label": "Topics" }, summary.topics.map((t) => el("li", {}, t))));
    }
    if (summary.updated_at) parts.push(el("p", { class: "muted" }, `updated ${when(summary.updated_at)}`));
    ui.summary.replaceChildren(...parts);
  }

  // -- the transcript, as `agno-run sessions show` prints it --------------------------------------
  function usageLine(run) {
    const m = run.metrics || run.usage || {};
    const duration = run.duration ?? m.duration ?? 0;
    const tokens = `${m.total_tokens || 0} tokens${m.estimated ? " (estimated)" : ""}`;
    const cost = m.cost ? `, $${Number(m.cost).toFixed(6)}` : "";
    return `${tokens}${cost}, ${Number(duration).toFixed(2)} s`;
  }

  function transcript(runs) {
    const members = new Map(runs.filter((r) => r.parent_run_id).map((r) => [r.run_id, r]));
    const turns = runs.filter((r) => !r.parent_run_id);
    if (!turns.length) return [el("p", { class: "muted" }, "No turns yet.")];
    return turns.map((run, i) => turnView(run, i + 1, members));
  }

  function turnView(run, number, members) {
    const word = statusWord(run.status);
    const article = el("article", {
      class: `turn${word ? ` ${word}` : ""}`, "data-testid": "turn", "data-run-id": run.run_id,
      "data-status": run.status, "aria-label": `turn ${number}${word ? ` (${word})` : ""}`,
    });
    article.append(
      el("header", { class: "turn-head" },
        el("h3", {}, `turn ${number}`), " ",
        el("span", { class: "muted", "data-testid": "turn-usage" }, `${when(run.created_at)} · ${usageLine(run)}`), " ",
        badge(run.status)),
      el("div", { class: "msg user", "data-testid": "user-message" }, el("span", { class: "who" }, "user"), el("span", { class: "text" }, run.input)),
    );
    for (const c of run.tool_calls || []) article.append(...toolCallView(c, members));
    if (run.content) {
      article.append(el("div", { class: "msg answer", "data-testid": "answer" },
        el("span", { class: "who" }, run.answered_by ? `answer (by ${memberName(run.answered_by)})` : "answer"),
        el("span", { class: "text" }, run.content)));
    }
    if (run.truncated) article.append(el("p", { class: "note" }, "the answer was cut at the model's max_tokens"));
    if (run.error) article.append(el("p", { class: "run-error", "data-testid": "run-error" }, `error: ${run.error}`));
    if (run.summary_error) article.append(el("p", { class: "note" }, `summary not updated: ${run.summary_error}`));
    return article;
  }

  function toolCallView(c, members) {
    const children = (c.child_run_ids || []).map((id) => members.get(id)).filter(Boolean);
    if (children.length) return children.map((child) => memberView(child, members));
    return [toolDetails(c.name, c.arguments, c.result, c.error, c.duration)];
  }

  function memberView(child, members) {
    const word = statusWord(child.status);
    const name = memberName(child.member);
    const box = el("section", {
      class: `member${word ? ` ${word}` : ""}`, "data-testid": "member-run", "data-member": child.member,
      "data-status": child.status, "aria-label": `${name} ${word || "answered"}`,
    },
      el("div", { class: "asked" }, el("span", { class: "who" }, `→ ${name} was asked`), el("span", { class: "text" }, child.input), " ", badge(child.status)),
    );
    for (const inner of child.tool_calls || []) box.append(...toolCallView(inner, members));
    box.append(el("div", { class: "msg member-answer", "data-testid": "member-answer" },
      el("span", { class: "who" }, child.content || !child.error ? `${name} answered` : `${name} ${word || "failed"}`),
      el("span", { class: child.content ? "text" : "text run-error" }, child.content || child.error || ""),
      el("span", { class: "muted small" }, usageLine(child))));
    return box;
  }

  function toolDetails(name, args, result, error, duration) {
    const details = el("details", { class: `tool${error ? " failed" : ""}`, "data-testid": "tool-call" });
    details.append(
      el("summary", {}, `⚙ ${name}`, el("span", { class: "muted" }, ` ${oneLine(args, 60)}`), error ? el("span", { class: "badge failed" }, "error") : null),
      el("div", { class: "label" }, "arguments"), el("pre", {}, prettyJson(args || "{}")),
    );
    if (error) details.append(el("div", { class: "label" }, "error"), el("pre", { class: "run-error" }, error));
    else if (result !== undefined && result !== null) details.append(el("div", { class: "label" }, "result"), el("pre", { "data-testid": "tool-result" }, result));
    else details.append(el("p", { class: "muted", "data-testid": "tool-pending" }, "waiting for the result…"));
    if (duration) details.append(el("p", { class: "muted small" }, `${Number(duration).toFixed(3)} s`));
    return details;
  }

  // -- a streamed turn ------------------------------------------------------------------------------
  /** Read Server-Sent Events from a fetch() response; onEvent(kind, data) for each. */
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let kind = "";
    let data = [];
    const dispatch = () => {
      if (data.length) {
        let parsed = data.join("\n");
        try { parsed = JSON.parse(parsed); } catch (_) { /* plain text */ }
        onEvent(kind || "message", parsed);
      }
      kind = "";
      data = [];
    };
    const line = (text) => {
      if (text === "") return dispatch();
      if (text.startsWith(":")) return undefined;
      const colon = text.indexOf(":");
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? "" : text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") kind = value;
      else if (field === "data") data.push(value);
      return undefined;
    };
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = buffer.split("\n");
      buffer = done ? "" : lines.pop();
      for (const l of lines) line(l.endsWith("\r") ? l.slice(0, -1) : l);
      if (done) break;
    }
    dispatch();
  }

  function liveTurn(message) {
    const article = el("article", { class: "turn live", id: "live-turn", "data-testid": "live-turn", "aria-busy": "true" },
      el("header", { class: "turn-head" }, el("h3", {}, "this turn"), " ", el("span", { class: "muted", id: "live-state" }, "sending…")),
      el("div", { class: "msg user" }, el("span", { class: "who" }, "user"), el("span", { class: "text" }, message)),
    );
    const events = el("div", { class: "live-events", "data-testid": "live-events" });
    const answer = el("div", { class: "msg answer" }, el("span", { class: "who" }, "answer"),
      el("span", { class: "text", id: "live-answer", "data-testid": "live-answer" }));
    article.append(events, answer);
    const empty = ui.transcript.querySelector(":scope > p.muted");
    if (empty) empty.remove();
    ui.transcript.append(article);
    return { article, events, answer: answer.querySelector(".text"), state: article.querySelector("#live-state"), calls: new Map() };
  }

  function liveToolName(data) {
    return data.agent && data.agent !== "leader" ? `${data.name} (by ${memberName(data.agent)})` : data.name;
  }

  function liveEvent(live, kind, data) {
    switch (kind) {
      case "start":
        live.state.textContent = data.new_session ? `new session ${data.session_id}` : `session ${data.session_id}`;
        return;
      case "text":
        live.answer.append(document.createTextNode(data.text || ""));
        return;
      case "delegation":
        live.events.append(el("div", { class: "member live-member", "data-testid": "live-delegation", "data-member": data.member_id },
          el("span", { class: "who" }, `→ ${memberName(data.member_id)} was asked`), el("span", { class: "text" }, data.task || "")));
        return;
      case "member_done": {
        const word = statusWord(data.status);
        live.events.append(el("div", { class: `member live-member${word ? ` ${word}` : ""}`, "data-testid": "live-member-done", "data-member": data.member_id },
          el("span", { class: "who" }, `${memberName(data.member_id)} answered`),
          el("span", { class: "text" }, data.answer || data.error || ""), " ", badge(data.status)));
        return;
      }
      case "tool_call": {
        if (DELEGATION_TOOLS.has(data.name)) return; // shown by delegation / member_done
        const details = toolDetails(liveToolName(data), data.arguments, null, null, 0);
        details.dataset.testid = "live-tool-call";
        live.calls.set(data.call_id, { details, args: data.arguments });
        live.events.append(details);
        return;
      }
      case "tool_result": {
        if (DELEGATION_TOOLS.has(data.name)) return;
        const old = live.calls.get(data.call_id);
        const done = toolDetails(liveToolName(data), old ? old.args : "", data.result, data.error, data.duration_s);
        done.dataset.testid = "live-tool-call";
        if (old) { done.open = old.details.open; old.details.replaceWith(done); } else live.events.append(done);
        return;
      }
      default:
        return;
    }
  }

  async function send() {
    const message = ui.message.value;
    if (!message.trim() || view.streaming) return;
    const teamId = ui.team.value;
    if (!teamId) { showError("Pick a team first."); return; }
    const user = currentUser();
    view.streaming = { user, sessionId: view.session };
    showError("");
    ui.send.disabled = true;
    ui.composer.setAttribute("aria-busy", "true");
    setStatus("streaming…");
    const live = liveTurn(message);
    ui.message.value = "";
    let outcome = null;
    try {
      const body = { message, user_id: user, stream: true };
      if (view.session) body.session_id = view.session;
      const response = await call(`/teams/${encodeURIComponent(teamId)}/runs`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
      });
      const type = response.headers.get("content-type") || "";
      if (!response.ok || !type.startsWith("text/event-stream")) {
        let answer = null;
        try { answer = await response.json(); } catch (_) { /* not JSON */ }
        outcome = { kind: "error", text: errorText(answer, `HTTP ${response.status}`) };
      } else {
        await readEvents(response, (kind, data) => {
          if (kind === "start") {
            view.streaming.sessionId = data.session_id;
            if ((view.session === null || view.session === data.session_id) && currentUser() === user) {
              view.session = data.session_id;
              setHash();
              ui.title.textContent = `Session ${data.session_id}`;
            }
          }
          if (kind === "done") outcome = { kind: "done", data };
          else if (kind === "error") outcome = { kind: "error", text: errorText(data, "the turn failed") };
          else liveEvent(live, kind, data);
        });
      }
    } catch (exc) {
      outcome = { kind: "error", text: `the connection failed: ${exc && exc.message ? exc.message : exc}` };
    }
    if (!outcome) outcome = { kind: "error", text: "the connection closed before the turn ended" };
    const sessionId = view.streaming.sessionId;
    view.streaming = null;
    ui.send.disabled = false;
    ui.composer.removeAttribute("aria-busy");
    live.article.removeAttribute("aria-busy");
    if (outcome.kind === "error") {
      live.article.classList.add("failed");
      live.state.textContent = "failed";
      live.article.append(el("p", { class: "run-error", "data-testid": "live-error" }, `error: ${outcome.text}`));
      showError(`error: ${outcome.text}`);
      setStatus("");
      if (!ui.message.value) ui.message.value = message; // give the text back to try again
    } else {
      const d = outcome.data;
      const word = statusWord(d.status);
      setStatus(`${word || "answered"}${d.member ? ` by ${memberName(d.member)}` : ""} · ${(d.usage && d.usage.total_tokens) || 0} tokens · ${Number(d.duration_s || 0).toFixed(2)} s`);
      if (d.status !== "completed" && d.error) showError(`${word}: ${d.error}`);
      const warnings = (d.warnings || []).concat(d.save_error ? [`not saved: ${d.save_error}`] : []);
      if (d.summary_error) warnings.push(`summary not updated: ${d.summary_error}`);
      if (warnings.length && d.status === "completed") showError(warnings.join(" · "));
    }
    for (const node of [live.article, live.answer, live.state]) node.removeAttribute("id"); // the next turn's
    // Reload what the server stored: the transcript, summary and state, and the list. A turn refused
    // before it ran stored nothing: its live view stays, with the error, until the session is reloaded.
    const tasks = [loadSessions()];
    const reload = outcome.kind === "done" && sessionId && view.session === sessionId && currentUser() === user;
    if (reload) tasks.push(loadSession(sessionId));
    try { await Promise.all(tasks); } catch (exc) { showError(String(exc.message || exc)); }
    if (document.activeElement === document.body) ui.message.focus();
  }

  // -- wiring -------------------------------------------------------------------------------------------
  async function changeUser() {
    const user = currentUser();
    ui.user.value = user;
    localStorage.setItem(USER_KEY, user);
    newSession();
    try { await loadSessions(); } catch (exc) { showError(String(exc.message || exc)); }
  }

  ui.userForm.addEventListener("submit", (event) => { event.preventDefault(); changeUser(); });
  ui.user.addEventListener("change", () => { if (currentUser() !== localStorage.getItem(USER_KEY)) changeUser(); });
  ui.team.addEventListener("change", () => {
    localStorage.setItem(TEAM_KEY, ui.team.value);
    const open = view.sessions.find((s) => s.session_id === view.session);
    if (view.session && (!open || open.team_id !== ui.team.value)) newSession();
    else if (!view.session) newSession();
    if (ui.onlyTeam.checked) loadSessions().catch((exc) => showError(String(exc.message || exc)));
  });
  ui.onlyTeam.addEventListener("change", () => loadSessions().catch((exc) => showError(String(exc.message || exc))));
  ui.newSession.addEventListener("click", () => { newSession(); ui.message.focus(); });
  ui.composer.addEventListener("submit", (event) => { event.preventDefault(); send(); });
  ui.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  ui.deleteSession.addEventListener("click", async () => {
    const id = view.session;
    if (!id || !window.confirm(`Delete session ${id} and all its runs?`)) return;
    const response = await call(`/sessions/${encodeURIComponent(id)}?${new URLSearchParams({ user_id: currentUser() })}`, { method: "DELETE" });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON */ }
      showError(errorText(body, `delete: HTTP ${response.status}`));
      return;
    }
    setStatus(`deleted session ${id}`);
    newSession();
    await loadSessions();
  });
  ui.forgetKey.addEventListener("click", () => {
    sessionStorage.removeItem(API_KEY);
    ui.forgetKey.hidden = true;
    setStatus("API key forgotten");
  });

  ui.authForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = ui.apiKey.value.trim();
    if (!key) return;
    sessionStorage.setItem(API_KEY, key);
    ui.forgetKey.hidden = false;
    ui.authDialog.close();
    const waiters = authWaiters;
    authWaiters = [];
    for (const resolve of waiters) resolve();
  });
  ui.authDialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it

  async function start() {
    ui.user.value = localStorage.getItem(USER_KEY) || "default";
    ui.forgetKey.hidden = !sessionStorage.getItem(API_KEY);
    try {
      await loadTeams();
      const match = /^#session=(.+)$/.exec(location.hash);
      await loadSessions();
      if (match) await openSession(decodeURIComponent(match[1]), false);
      else newSession();
      document.body.dataset.ready = "true";
    } catch (exc) {
      showError(`could not load: ${exc.message || exc}`);
      document.body.dataset.ready = "error";
    }
  }

  start();
})();
