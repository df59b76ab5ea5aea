// pinhan's web input method: plain JavaScript, no build step, no dependencies.
//
// Tab 输入: Latin letters go to a pinyin buffer; its candidates come from POST v1/convert
// (debounced; an answer to an older buffer is dropped). Space takes the first candidate, 1-9 pick,
// -/= or PageUp/PageDown page, Backspace edits the buffer, Enter commits the letters, Escape
// clears. A candidate that covers only the start of the buffer leaves the rest to convert.
// The text before the caret is the context of each conversion.
// After a commit that empties the buffer, the candidates are the next words (联想, POST
// v1/predict): 1-9 or a click pick one (space the first; -/= page), and predict again; a letter
// starts a new buffer, Escape or any other key dismisses them.
// Learning: the page keeps a random user id in localStorage and sends it with each conversion;
// once a buffer is all committed, the pieces picked for it go to POST v1/learn, so that the
// server's history of this user (kept in its user directory, or in its memory) ranks them first
// next time, across reloads. The id is all the page stores: the history stays on the server,
// where every worker finds it, and no text is kept in the browser. "忘记" (DELETE v1/user/ID)
// forgets it.
// Tab 注音: POST v1/g2p with tone marks; polyphonic characters are highlighted.
// Tab 续写: POST v1/generate continues the text of the first tab.
"use strict";

(() => {
  const DEBOUNCE_MS = 60;
  const PER_PAGE = 9;
  const $ = (id) => document.getElementById(id);

  const limits = { max_k: 20, max_context_chars: 256, max_text_chars: 256, max_new_tokens: 64, max_beams: 8 };
  const ime = {
    buffer: "",        // pinyin typed and not committed
    candidates: [],    // for the buffer, or predictions (kind "prediction") while it is empty
    predicting: false, // the candidates shown are predictions
    noPredict: false,  // the model has no word model: predictions are not asked for
    page: 0,
    seq: 0,            // number of the latest request scheduled
    answered: 0,       // number of the request whose answer (or error) is shown
    timer: null,
    controller: null,
    waiting: null,     // an action that needs fresh candidates (space, a digit) before it runs
    queue: [],         // keys typed while `waiting`, replayed in order afterwards
    pieces: [],        // candidates committed since the buffer was last empty: learned when it empties
    learning: Promise.resolve(),  // the last v1/learn: conversions wait for it
  };
  const USER_KEY = "pinhan-user";

  function userId() {
    let id = null;
    try { id = localStorage.getItem(USER_KEY); } catch (_) { /* storage off: learning for this page only */ }
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      const bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      try { localStorage.setItem(USER_KEY, id); } catch (_) { /* as above */ }
    }
    return id;
  }
  const user = userId();

  // --- server -----------------------------------------------------------------------------------
  class ApiError extends Error {}

  async function post(path, body, signal) {
    const response = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal,
    });
    let data = null;
    try { data = await response.json(); } catch (_) { /* not JSON: reported below */ }
    if (!response.ok) throw new ApiError((data && data.message) || `HTTP ${response.status}`);
    return data;
  }

  function setStatus(text, isError) {
    const status = $("status");
    status.textContent = text || "";
    status.classList.toggle("error", Boolean(isError));
  }

  // --- input method -----------------------------------------------------------------------------
  const editor = $("editor");

  function contextText() {
    const before = editor.value.slice(0, editor.selectionStart);
    const chars = Array.from(before);
    return chars.slice(Math.max(0, chars.length - limits.max_context_chars)).join("");
  }

  function fresh() { return ime.answered === ime.seq; }

  function schedule() {
    clearTimeout(ime.timer);
    if (ime.controller) ime.controller.abort();
    const seq = ++ime.seq;
    ime.predicting = false;
    if (!ime.buffer) {
      ime.candidates = [];
      ime.answered = seq;
      render();
      resume();
      return;
    }
    ime.timer = setTimeout(() => fetchCandidates(seq), DEBOUNCE_MS);
  }

  async function fetchCandidates(seq) {
    const controller = new AbortController();
    ime.controller = controller;
    const body = {
      pinyin: ime.buffer, context: contextText(), k: Math.min(limits.max_k, 2 * PER_PAGE),
      mode: $("mode").value, fuzzy: $("fuzzy").checked ? ["all"] : [], user,
    };
    await ime.learning;  // what was just committed ranks these candidates
    if (seq !== ime.seq) return;
    let candidates = [];
    try {
      candidates = (await post("v1/convert", body, controller.signal)).candidates;
      if (seq !== ime.seq) return;  // a newer buffer was typed meanwhile: drop this answer
      setStatus("");
    } catch (err) {
      if (seq !== ime.seq || err.name === "AbortError") return;
      setStatus(err.message, true);
    }
    ime.candidates = candidates;
    ime.page = 0;
    ime.answered = seq;
    render();
    resume();
  }

  // The next words after the text before the caret, once the current key has been handled.
  function predictNext() {
    clearTimeout(ime.timer);
    if (ime.controller) ime.controller.abort();
    const seq = ++ime.seq;
    ime.answered = seq;
    ime.timer = setTimeout(() => fetchPredictions(seq), 0);
  }

  async function fetchPredictions(seq) {
    if (ime.buffer || ime.noPredict) return;
    const controller = new AbortController();
    ime.controller = controller;
    const body = { context: contextText(), k: Math.min(limits.max_k, 2 * PER_PAGE) };
    try {
      const data = await post("v1/predict", body, controller.signal);
      if (seq !== ime.seq || ime.buffer) return;
      ime.candidates = data.candidates.map((c) => ({ ...c, kind: "prediction", consumed: 0, pinyin: [] }));
      ime.predicting = ime.candidates.length > 0;
      ime.page = 0;
      render();
    } catch (err) {
      if (seq !== ime.seq || err.name === "AbortError") return;
      if (/word model/.test(err.message)) ime.noPredict = true;  // this model cannot predict: stop asking
      else setStatus(err.message, true);
    }
  }

  function dismissPredictions() {
    if (!ime.predicting) return;
    ime.predicting = false;
    ime.candidates = [];
    ++ime.seq;
    ime.answered = ime.seq;
    render();
  }

  function insert(text) {
    const start = editor.selectionStart, end = editor.selectionEnd;
    editor.setRangeText(text, start, end, "end");
  }

  function commitCandidate(index) {
    const candidate = ime.candidates[index];
    if (!candidate) return false;
    insert(candidate.text);
    ime.buffer = ime.buffer.slice(candidate.consumed).replace(/^['\s]+/, "");
    ime.candidates = [];
    if (candidate.consumed > 0) ime.pieces.push({ text: candidate.text, pinyin: candidate.pinyin });
    if (!ime.buffer) learn();
    schedule();
    if (!ime.buffer) predictNext();
    render();
    return true;
  }

  // The pieces committed for the buffer that just emptied go to the user's history.
  function learn() {
    const pieces = ime.pieces;
    ime.pieces = [];
    if (!pieces.length) return;
    ime.learning = post("v1/learn", { user, pieces }).catch((err) => setStatus(err.message, true));
  }

  async function forget() {
    try {
      await fetch(`v1/user/${user}`, { method: "DELETE" });
      setStatus("已忘记");
    } catch (err) { setStatus(err.message, true); }
  }

  function commitRaw() {
    ime.pieces = [];
    insert(ime.buffer);
    ime.buffer = "";
    schedule();
  }

  // Actions: {type: "letter", key} | {type: "pick", index, orRaw, then} | {type: "page", delta}
  // | {type: "backspace"} | {type: "raw"} | {type: "clear"}.
  function act(action) {
    if (ime.waiting) { ime.queue.push(action); return; }
    perform(action);
  }

  function perform(action) {
    switch (action.type) {
      case "letter":
        if (Array.from(ime.buffer).length >= 128) { setStatus("the pinyin buffer is full (128 letters)", true); return; }
        ime.buffer += action.key;
        schedule();
        break;
      case "pick":
        if (!fresh()) { ime.waiting = action; return; }  // runs when the candidates arrive
        if (!commitCandidate(action.index) && action.orRaw) commitRaw();
        if (action.then) insert(action.then);
        break;
      case "page": {
        const pages = Math.max(1, Math.ceil(ime.candidates.length / PER_PAGE));
        ime.page = Math.min(pages - 1, Math.max(0, ime.page + action.delta));
        break;
      }
      case "backspace":
        ime.buffer = ime.buffer.slice(0, -1);
        schedule();
        break;
      case "raw":
        commitRaw();
        break;
      case "clear":
        ime.buffer = "";
        ime.pieces = [];
        schedule();
        break;
    }
    render();
  }

  function resume() {
    if (!ime.waiting || !fresh()) return;
    const action = ime.waiting;
    ime.waiting = null;
    perform(action);
    while (ime.queue.length && !ime.waiting) perform(ime.queue.shift());
  }

  function render() {
    $("buffer").textContent = ime.buffer;
    $("composition").classList.toggle("active", Boolean(ime.buffer));
    const list = $("candidates");
    list.replaceChildren();
    const start = ime.page * PER_PAGE;
    ime.candidates.slice(start, start + PER_PAGE).forEach((candidate, i) => {
      const item = document.createElement("li");
      item.dataset.index = String(start + i);
      item.title = candidate.kind === "prediction" ? "next word (联想)"
        : candidate.pinyin.join(" ") + (candidate.kind === "prefix" ? " (covers the first syllables)" : "");
      const number = document.createElement("span");
      number.className = "number";
      number.textContent = String(i + 1);
      const text = document.createElement("span");
      text.className = "text";
      text.lang = "zh-Hans";
      text.textContent = candidate.text;
      item.append(number, text);
      if (candidate.kind === "prefix" || candidate.kind === "prediction") item.classList.add(candidate.kind);
      list.append(item);
    });
    const pages = Math.ceil(ime.candidates.length / PER_PAGE);
    $("pager").textContent = pages > 1 ? `${ime.page + 1}/${pages}  (- =)` : "";
    list.classList.toggle("loading", Boolean(ime.buffer) && !fresh());
    list.classList.toggle("predictions", ime.predicting);
  }

  editor.addEventListener("keydown", (event) => {
    if (event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (/^[a-zA-Z]$/.test(key) || (key === "'" && ime.buffer)) {
      event.preventDefault();
      act({ type: "letter", key });
      return;
    }
    if (!ime.buffer && !ime.waiting) {  // nothing being typed: predictions, else ordinary editing
      if (ime.predicting && (key === " " || /^[1-9]$/.test(key))) {
        event.preventDefault();
        act({ type: "pick", index: key === " " ? 0 : ime.page * PER_PAGE + Number(key) - 1 });
      } else if (ime.predicting && ["-", "=", "PageUp", "PageDown"].includes(key)) {
        event.preventDefault();
        act({ type: "page", delta: key === "-" || key === "PageUp" ? -1 : 1 });
      } else if (ime.predicting && !["Shift", "Control", "Alt", "Meta", "CapsLock"].includes(key)) {
        if (key === "Escape") event.preventDefault();
        dismissPredictions();
      }
      return;
    }
    let action = null;
    if (key === " ") action = { type: "pick", index: 0, orRaw: true };
    else if (/^[1-9]$/.test(key)) action = { type: "pick", index: ime.page * PER_PAGE + Number(key) - 1 };
    else if (key === "-" || key === "PageUp") action = { type: "page", delta: -1 };
    else if (key === "=" || key === "PageDown") action = { type: "page", delta: 1 };
    else if (key === "Backspace") action = { type: "backspace" };
    else if (key === "Enter") action = { type: "raw" };
    else if (key === "Escape") action = { type: "clear" };
    else if (key.length === 1) action = { type: "pick", index: 0, orRaw: true, then: key };  // punctuation
    if (!action) return;  // arrows, Tab, ...: the browser's own
    event.preventDefault();
    act(action);
  });

  // Virtual keyboards often send no usable keydown (key "Unidentified"): take their letters here.
  editor.addEventListener("beforeinput", (event) => {
    if (event.inputType !== "insertText" || !event.data || !event.cancelable) return;
    if (/^[a-zA-Z']+$/.test(event.data) && (event.data[0] !== "'" || ime.buffer)) {
      event.preventDefault();
      for (const key of event.data) act({ type: "letter", key });
    } else if (event.data === " " && ime.buffer) {
      event.preventDefault();
      act({ type: "pick", index: 0, orRaw: true });
    }
  });

  $("candidates").addEventListener("click", (event) => {
    const item = event.target.closest("li");
    if (!item) return;
    act({ type: "pick", index: Number(item.dataset.index) });
    editor.focus();
  });
  $("pager").addEventListener("click", () => { act({ type: "page", delta: 1 }); editor.focus(); });
  $("mode").addEventListener("change", () => { schedule(); editor.focus(); });
  $("fuzzy").addEventListener("change", () => { schedule(); editor.focus(); });

  // --- hanzi -> pinyin --------------------------------------------------------------------------
  let g2pSeq = 0, g2pTimer = null, g2pController = null;

  function scheduleG2P() {
    clearTimeout(g2pTimer);
    g2pTimer = setTimeout(runG2P, 150);
  }

  async function runG2P() {
    const seq = ++g2pSeq;
    if (g2pController) g2pController.abort();
    g2pController = new AbortController();
    const text = $("g2p-input").value;
    try {
      const data = await post("v1/g2p", { text, tones: "mark" }, g2pController.signal);
      if (seq !== g2pSeq) return;
      renderG2P(data);
      setStatus("");
    } catch (err) {
      if (seq !== g2pSeq || err.name === "AbortError") return;
      setStatus(err.message, true);
    }
  }

  function renderG2P(data) {
    const out = $("g2p-output");
    out.replaceChildren();
    const chars = Array.from(data.text);
    const polyphonic = new Set(data.polyphonic);
    chars.forEach((char, i) => {
      const reading = data.aligned[i];
      if (reading === undefined || reading === char) {
        out.append(document.createTextNode(char));
        return;
      }
      const ruby = document.createElement("ruby");
      ruby.append(document.createTextNode(char));
      const rt = document.createElement("rt");
      rt.textContent = reading;
      ruby.append(rt);
      if (polyphonic.has(i)) { ruby.classList.add("poly"); ruby.title = "多音字 polyphonic"; }
      out.append(ruby);
    });
    $("g2p-pinyin").textContent = data.pinyin.join(" ");
  }

  $("g2p-input").addEventListener("input", scheduleG2P);

  // --- continuation -----------------------------------------------------------------------------
  let genSeq = 0;

  function genPrefix() {
    const chars = Array.from(editor.value);
    return chars.slice(Math.max(0, chars.length - limits.max_text_chars)).join("");
  }

  function clamp(value, low, high) { return Math.min(high, Math.max(low, Number.isFinite(value) ? value : low)); }

  async function runGenerate() {
    const seq = ++genSeq;
    const prefix = genPrefix();
    $("gen-prefix").textContent = prefix || "(the 输入 tab is empty: continuing from nothing)";
    const body = {
      prefix,
      max_new_tokens: clamp(parseInt($("gen-tokens").value, 10), 1, limits.max_new_tokens),
      num_beams: clamp(parseInt($("gen-beams").value, 10), 1, limits.max_beams),
      temperature: clamp(parseFloat($("gen-temperature").value), 0, 10),
    };
    if (body.temperature > 0) { body.num_beams = 1; body.seed = Math.floor(Math.random() * 1e9); }
    const list = $("gen-output");
    list.classList.add("loading");
    try {
      const data = await post("v1/generate", body);
      if (seq !== genSeq) return;
      list.replaceChildren();
      for (const continuation of data.continuations) {
        const item = document.createElement("li");
        item.textContent = continuation.text;
        const score = typeof continuation.score === "number" ? continuation.score.toFixed(2) : "-";
        item.title = `score ${score}: click to append`;
        item.addEventListener("click", () => {
          editor.value += continuation.text;
          runGenerate();
        });
        list.append(item);
      }
      setStatus("");
    } catch (err) {
      if (seq === genSeq) setStatus(err.message, true);
    } finally {
      if (seq === genSeq) list.classList.remove("loading");
    }
  }

  $("gen-run").addEventListener("click", runGenerate);

  // --- tabs -------------------------------------------------------------------------------------
  const tabs = ["ime", "g2p", "gen"];

  function show(name) {
    for (const other of tabs) {
      const selected = other === name;
      const tab = $(`tab-${other}`);
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      $(`panel-${other}`).hidden = !selected;
    }
    setStatus("");
    if (name === "ime") editor.focus();
    if (name === "g2p") runG2P();
    if (name === "gen") runGenerate();
  }

  for (const name of tabs) {
    const tab = $(`tab-${name}`);
    tab.addEventListener("click", () => show(name));
    tab.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = tabs[(tabs.indexOf(name) + step + tabs.length) % tabs.length];
      show(next);
      $(`tab-${next}`).focus();
    });
  }

  // The server's limits (healthz) bound what the page asks for.
  fetch("healthz").then((r) => r.json()).then((health) => {
    Object.assign(limits, health.limits || {});
    $("gen-tokens").max = String(limits.max_new_tokens);
    $("gen-beams").max = String(limits.max_beams);
  }).catch(() => setStatus("the server did not answer healthz", true));

  $("forget").addEventListener("click", forget);
  render();
  editor.focus();
})();
