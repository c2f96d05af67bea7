// autocoder review: keyboard-first coding of fragments. Plain JS, no framework, no network
// beyond this app. Text from the project is only ever set with textContent (never as HTML).
"use strict";

(() => {
  const stateNode = document.getElementById("page-state");
  if (!stateNode) return;
  const page = JSON.parse(stateNode.textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const codes = page.codes;
  const codeName = new Map(codes.map((c) => [c.id, c.name]));
  const spans = Array.from(document.querySelectorAll(".frag[data-id]"));
  const order = spans.map((s) => s.dataset.id);
  const spanOf = new Map(spans.map((s) => [s.dataset.id, s]));
  const $ = (id) => document.getElementById(id);
  const UNDO_KEY = "autocoder-undo";
  let frags = new Map();
  const drafts = new Map();
  let index = 0;
  let busy = false;

  // --- state ------------------------------------------------------------------------------

  function apply(state) {
    frags = new Map(state.fragments.map((f) => [f.id, f]));
    spans.forEach(paint);
    if (page.view.report) renderMemos($("report-memos"), state.report_memos);
    renderProgress();
    renderPanel();
  }

  const current = () => frags.get(order[index]);

  function saved(f) {
    if (f.mine) return { ...f.mine, done: true };
    const s = f.suggestion;
    if (s) return { factor: s.factor, presence: s.presence, priority: null, done: false };
    return { factor: null, presence: null, priority: null, done: false, empty: true };
  }

  const look = (f) => drafts.get(f.id) || saved(f);

  function paint(span) {
    const f = frags.get(span.dataset.id);
    if (!f) return;
    const shown = look(f);
    const draft = drafts.has(f.id);
    const solid = draft || shown.done;
    const cls = ["frag"];
    if (shown.factor) cls.push("c-" + shown.factor);
    if (solid) cls.push("is-done");
    else if (f.suggestion) cls.push(shown.factor ? "is-suggested" : "is-suggested-none");
    if (solid && !shown.factor) cls.push("is-none");
    if (!draft && f.mine && f.mine.status === "rejected") cls.push("is-rejected");
    if (shown.factor && shown.presence === "absent") cls.push("is-absent");
    if (shown.priority) cls.push("is-priority");
    if (draft) cls.push("is-draft");
    if (f.others.some((o) => differs(o, f))) cls.push("has-others");
    if (order[index] === f.id) cls.push("is-selected");
    span.className = cls.join(" ");
    span.dataset.status = f.status;
    span.dataset.factor = saved(f).factor || "";
    span.dataset.presence = saved(f).presence || "";
    span.title = tooltip(f);
  }

  function differs(other, f) {
    const mine = saved(f);
    return other.factor !== mine.factor || other.presence !== mine.presence;
  }

  const questionLabel = (f) => "question " + f.question + (f.question_text ? ": " + f.question_text : "");
  const label = (factor) => (factor ? codeName.get(factor) || factor : "no factor");
  const pct = (x) => Math.round(100 * x) + "%";

  function tooltip(f) {
    const lines = [];
    if (f.question) lines.push(questionLabel(f));
    const s = f.suggestion;
    if (s) {
      lines.push(`Suggested: ${label(s.factor)}${s.presence ? " (" + s.presence + ")" : ""}, ${pct(s.confidence)}`);
      s.reasons.slice(0, 3).forEach((r) => lines.push("· " + r));
    }
    if (f.mine) lines.push(`You: ${label(f.mine.factor)} ${f.mine.presence || ""} (${f.mine.status})`);
    return lines.join("\n");
  }

  // --- panel ------------------------------------------------------------------------------

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function codeLine(choice) {
    const line = el("div");
    const sw = el("span", null, "swatch " + (choice.factor ? "c-" + choice.factor : "none"));
    line.append(sw, el("span", label(choice.factor), "code"));
    if (choice.factor && choice.presence) line.append(" · " + choice.presence);
    if (choice.priority) line.append(" · ★ priority");
    return line;
  }

  function renderPanel() {
    const f = current();
    if (!f) return;
    $("p-pos").textContent = `${index + 1} of ${order.length}`;
    const meta = [f.respondent];
    if (f.question) meta.push(questionLabel(f));
    if (f.speaker) meta.push("speaker " + f.speaker);
    $("p-meta").textContent = meta.join(" · ");
    renderSuggestion(f.suggestion);
    renderMine(f);
    renderDraft(f);
    renderOthers(f);
    renderMemos($("p-memos"), f.memos);
    const shown = look(f);
    document.querySelectorAll("#codes button").forEach((b) => {
      b.setAttribute("aria-pressed", String((b.dataset.code || null) === shown.factor));
    });
    $("b-present").setAttribute("aria-pressed", String(!!shown.factor && shown.presence === "present"));
    $("b-absent").setAttribute("aria-pressed", String(!!shown.factor && shown.presence === "absent"));
    $("b-priority").setAttribute("aria-pressed", String(!!shown.priority));
  }

  function renderSuggestion(s) {
    const box = $("p-suggestion");
    box.replaceChildren();
    if (!s) {
      box.append(el("p", "No suggestion for this fragment.", "muted"));
      return;
    }
    box.append(codeLine(s));
    const bar = el("div", null, "bar");
    const fill = el("span");
    fill.style.width = pct(s.confidence);
    bar.append(fill);
    box.append(bar, el("div", "confidence " + pct(s.confidence), "muted small"));
    if (s.reasons.length) {
      const list = el("ul", null, "reasons");
      s.reasons.forEach((r) => list.append(el("li", r)));
      box.append(list);
    }
    const alts = s.top.filter(([id]) => id !== (s.factor || "none"));
    if (alts.length) {
      const text = alts.map(([id, p]) => `${id === "none" ? "no factor" : label(id)} ${pct(p)}`);
      box.append(el("p", "Also: " + text.join(", "), "alts"));
    }
  }

  function renderMine(f) {
    const box = $("p-mine");
    box.replaceChildren();
    if (!f.mine) {
      const hint = f.suggestion ? "Not decided yet: Enter accepts the suggestion." : "Not decided yet.";
      box.append(el("span", hint, "muted"));
      return;
    }
    const line = f.mine.status === "rejected" ? el("div", "not a fragment to code", "muted") : codeLine(f.mine);
    line.append(el("span", f.mine.status, "status " + f.mine.status));
    box.append(line);
  }

  function renderDraft(f) {
    const box = $("p-draft");
    const draft = drafts.get(f.id);
    box.hidden = !draft;
    box.replaceChildren();
    if (!draft) return;
    const s = f.suggestion;
    const same = s && s.factor === draft.factor && (!draft.factor || s.presence === draft.presence);
    box.append(el("div", `Enter saves (${same ? "confirmed" : "corrected"}):`, "muted"), codeLine(draft));
  }

  function renderOthers(f) {
    $("p-others-box").hidden = !f.others.length;
    const list = $("p-others");
    list.replaceChildren();
    f.others.forEach((o) => {
      const item = el("li");
      item.append(el("span", o.coder, "who"), " " + label(o.factor));
      if (o.factor && o.presence) item.append(" · " + o.presence);
      item.append(el("time", o.timestamp.slice(0, 16).replace("T", " ")));
      list.append(item);
    });
  }

  function renderMemos(list, memos) {
    if (!list) return;
    list.replaceChildren();
    memos.forEach((m) => {
      const item = el("li");
      item.append(el("span", m.coder, "who"), el("time", m.timestamp.slice(0, 16).replace("T", " ")));
      item.append(el("div", m.text));
      list.append(item);
    });
  }

  function renderProgress() {
    const node = $("doc-progress");
    if (!node) return;
    const done = Array.from(frags.values()).filter((f) => f.mine).length;
    node.textContent = `you decided ${done} of ${frags.size} fragments`;
  }

  function notice(text, error) {
    const box = $("notice");
    box.textContent = text || "";
    box.classList.toggle("error", !!error);
  }

  // --- moving and choosing --------------------------------------------------------------------

  function select(next, scroll = true) {
    if (!order.length) return;
    const before = spanOf.get(order[index]);
    index = Math.max(0, Math.min(order.length - 1, next));
    if (before) paint(before);
    const span = spanOf.get(order[index]);
    paint(span);
    if (scroll) span.scrollIntoView({ block: "center" });
    renderPanel();
  }

  function edit(change) {
    const f = current();
    if (!f) return;
    const base = { ...look(f) };
    delete base.done;
    delete base.empty;
    const draft = change({ ...base });
    if (!draft) return;
    drafts.set(f.id, draft);
    paint(spanOf.get(f.id));
    renderPanel();
    notice("");
  }

  function chooseCode(factor) {
    edit((d) => {
      const s = current().suggestion;
      let presence = d.factor ? d.presence : null;
      if (factor && !presence) presence = (s && s.factor === factor && s.presence) || "present";
      return { ...d, factor, presence: factor ? presence : null };
    });
  }

  function choosePresence(presence) {
    edit((d) => {
      if (!d.factor) {
        notice("Choose a code first: presence applies to a code, not to no factor.", true);
        return null;
      }
      return { ...d, presence };
    });
  }

  const togglePriority = () => edit((d) => ({ ...d, priority: d.priority ? null : "high" }));

  // --- talking to the app ----------------------------------------------------------------------

  async function post(url, body) {
    busy = true;
    document.body.dataset.busy = "1";
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ ...body, view: page.view }),
      });
      const data = await response.json().catch(() => ({ error: "unexpected answer" }));
      if (!response.ok) {
        notice(data.error || "could not save", true);
        await refresh();
        return null;
      }
      apply(data.state);
      return data;
    } catch (err) {
      notice("The review app does not answer: is `autocoder review` still running?", true);
      return null;
    } finally {
      busy = false;
      document.body.dataset.busy = "0";
    }
  }

  async function refresh() {
    const query = page.view.report
      ? "report=" + encodeURIComponent(page.view.report)
      : "ids=" + page.view.ids.map(encodeURIComponent).join(",");
    try {
      const response = await fetch("/api/state?" + query, { credentials: "same-origin" });
      if (response.ok) apply(await response.json());
    } catch (err) {
      notice("The review app does not answer: is `autocoder review` still running?", true);
    }
  }

  const undoStack = () => JSON.parse(sessionStorage.getItem(UNDO_KEY) || "[]");
  const saveUndo = (stack) => sessionStorage.setItem(UNDO_KEY, JSON.stringify(stack.slice(-200)));

  async function accept() {
    const f = current();
    if (!f || busy) return;
    const choice = look(f);
    if (choice.empty && !drafts.has(f.id)) {
      notice("No suggestion here: choose a code (1-9) or no factor (0) first.", true);
      return;
    }
    const data = await post("/api/decide", {
      fragment_id: f.id,
      factor: choice.factor,
      presence: choice.factor ? choice.presence : null,
      priority: choice.priority,
      expected_seq: f.seq,
    });
    afterChange(f, data, "", "Unchanged: already saved like this.");
  }

  async function reject() {
    const f = current();
    if (!f || busy) return;
    const data = await post("/api/reject", { fragment_id: f.id, expected_seq: f.seq });
    const done = "Rejected: left out of the matrix and of retraining (u undoes).";
    afterChange(f, data, done, "Unchanged: already rejected.");
  }

  // After a change to fragment f was sent: remember it for undo (when something was
  // appended to the log), say so and move on.
  function afterChange(f, data, done, unchanged) {
    if (!data) return;
    drafts.delete(f.id);
    if (data.seq !== null) {
      saveUndo([...undoStack(), { fragment_id: f.id, seq: data.seq }]);
      notice(done);
    } else {
      notice(unchanged);
    }
    select(index + 1);
  }

  // Undo steps back through the fragments this tab changed, latest first; with none left,
  // through the selected fragment's own changes (the server reads the steps from the log).
  async function undo() {
    if (busy) return;
    const stack = undoStack();
    const entry = stack.pop() || (current() && { fragment_id: current().id, seq: current().seq });
    if (!entry) return;
    saveUndo(stack);
    const shown = frags.get(entry.fragment_id);
    const data = await post("/api/undo", {
      fragment_id: entry.fragment_id,
      expected_seq: shown ? shown.seq : entry.seq,
    });
    if (!data) return;
    drafts.delete(entry.fragment_id);
    const at = order.indexOf(entry.fragment_id);
    if (at >= 0) select(at);
    notice(at >= 0 ? "Undone." : "Undone (on another page).");
  }

  async function saveMemo(kind, box) {
    const text = box.value.trim();
    if (!text) return;
    const target = kind === "report" ? page.view.report : order[index];
    if (await post("/api/memo", { kind, target_id: target, text })) box.value = "";
  }

  // --- events ----------------------------------------------------------------------------------

  const KEYS = {
    j: () => select(index + 1),
    ArrowDown: () => select(index + 1),
    ArrowRight: () => select(index + 1),
    k: () => select(index - 1),
    ArrowUp: () => select(index - 1),
    ArrowLeft: () => select(index - 1),
    p: () => choosePresence("present"),
    a: () => choosePresence("absent"),
    h: togglePriority,
    Enter: accept,
    u: undo,
    x: reject,
    0: () => chooseCode(null),
    Escape: () => {
      drafts.delete(order[index]);
      select(index, false);
    },
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select")) return;
    let action = KEYS[event.key];
    if (/^[1-9]$/.test(event.key)) {
      const code = codes[Number(event.key) - 1];
      action = code ? () => chooseCode(code.id) : null;
    }
    if (!action) return;
    event.preventDefault();
    action();
  });

  spans.forEach((span, i) => span.addEventListener("click", () => select(i, false)));
  document.querySelectorAll("#codes button").forEach((button) =>
    button.addEventListener("click", () => {
      button.blur();
      chooseCode(button.dataset.code || null);
    }),
  );
  const click = (id, fn) => $(id) && $(id).addEventListener("click", (e) => (e.currentTarget.blur(), fn()));
  click("b-present", () => choosePresence("present"));
  click("b-absent", () => choosePresence("absent"));
  click("b-priority", togglePriority);
  click("b-accept", accept);
  click("b-reject", reject);
  click("b-undo", undo);
  click("b-memo-fragment", () => saveMemo("fragment", $("memo-fragment")));
  click("b-memo-report", () => saveMemo("report", $("memo-report")));
  window.addEventListener("focus", () => busy || refresh());

  apply(page);
  const wanted = new URLSearchParams(location.search).get("f");
  const firstOpen = order.findIndex((id) => !frags.get(id).mine);
  const start = wanted && order.includes(wanted) ? order.indexOf(wanted) : Math.max(firstOpen, 0);
  select(start, start > 0);
  document.body.dataset.busy = "0";
  document.body.dataset.ready = "1";
})();
