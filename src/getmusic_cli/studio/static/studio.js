// getmusic studio: the page. Plain JavaScript, no build step, nothing loaded from elsewhere.
// Talks to the server with the token of its own URL; shows every error as one line.
"use strict";

(() => {
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  const COLOURS = {
    lead: "#d62728", bass: "#1f77b4", drums: "#7f7f7f", guitar: "#ff7f0e", piano: "#2ca02c", strings: "#9467bd",
  };
  const LABEL_W = 78; // class names at the left of the grid
  const BARNO_H = 18; // bar numbers
  const CHORD_H = 18; // chord names
  const LANE_H = 54; // one class
  const PX = 6; // pixels per 16th note

  const $ = (id) => document.getElementById(id);
  const canvas = $("grid");
  const ctx = canvas.getContext("2d");
  const audio = $("audio");

  const state = {
    data: null, // the server's /api/state
    viewing: null, // id of the version drawn in the grid
    selBars: new Set(), // 1-based bar numbers
    selClasses: new Set(),
    drag: null, // {bar, lane, shift} while dragging
    hover: null, // rectangle being dragged: {bars: [a, b], lanes: [a, b]}
    playing: null, // version id loaded in the player
    wavUrls: new Map(), // version id -> blob URL
    polling: false,
    make: {}, // class -> keep | make | out (the "make whole tracks" table)
  };

  // ----- talking to the server -----

  function showError(message) {
    const line = $("error");
    line.textContent = message ? String(message).split("\n")[0] : "";
    line.hidden = !message;
  }

  async function api(path, { method = "GET", body = null, headers = {} } = {}) {
    let response;
    try {
      response = await fetch(path, {
        method,
        body,
        headers: { "X-Studio-Token": TOKEN, ...headers },
        cache: "no-store",
      });
    } catch (err) {
      throw new Error("the studio server does not answer (was it stopped?)");
    }
    if (!response.ok) {
      let message = `error ${response.status}`;
      try {
        const data = await response.json();
        if (data && data.error) message = data.error;
      } catch (err) {
        // not JSON: keep the status line
      }
      throw new Error(message);
    }
    return response;
  }

  async function post(path, payload) {
    const response = await api(path, {
      method: "POST",
      body: JSON.stringify(payload || {}),
      headers: { "Content-Type": "application/json" },
    });
    return response.json();
  }

  async function act(work) {
    try {
      const result = await work();
      showError("");
      return result;
    } catch (err) {
      showError(err.message);
      return null;
    }
  }

  // ----- state -----

  function current() {
    return state.data && state.data.current;
  }

  function versions() {
    if (!state.data || !state.data.current) return [];
    return [state.data.current, ...state.data.candidates];
  }

  function viewed() {
    return versions().find((v) => v.id === state.viewing) || current();
  }

  function accept(data, { viewFirstCandidate = false } = {}) {
    const oldCurrent = current() ? current().id : null;
    state.data = data;
    const ids = versions().map((v) => v.id);
    if (viewFirstCandidate && data.candidates.length) state.viewing = data.candidates[0].id;
    else if (!ids.includes(state.viewing)) state.viewing = data.current ? data.current.id : null;
    if (data.current && data.current.id !== oldCurrent) setupMakeTable();
    if (state.playing !== null && !ids.includes(state.playing)) stopAudio();
    render();
  }

  async function refresh() {
    const response = await api("/api/state");
    accept(await response.json());
  }

  // ----- opening a song -----

  async function openFile(file) {
    if (!file) return;
    const limit = state.data ? state.data.max_upload_mb : 5;
    if (file.size > limit * 1048576) {
      showError(`${file.name}: ${(file.size / 1048576).toFixed(1)} MB is too large (the studio takes up to ${limit} MB)`);
      return;
    }
    await act(async () => {
      const body = await file.arrayBuffer();
      const response = await api("/api/open", {
        method: "POST",
        body,
        headers: { "Content-Type": "application/octet-stream", "X-Filename": encodeURIComponent(file.name) },
      });
      clearSelection();
      state.viewing = null;
      accept(await response.json());
    });
  }

  $("open-label").addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      $("file").click();
    }
  });
  $("file").addEventListener("change", (event) => {
    openFile(event.target.files[0]);
    event.target.value = "";
  });
  document.body.addEventListener("dragover", (event) => {
    event.preventDefault();
    document.body.classList.add("dragging");
  });
  document.body.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  document.body.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dragging");
    if (event.dataTransfer.files.length) openFile(event.dataTransfer.files[0]);
  });

  // ----- the grid: classes × bars -----

  function lanes() {
    return state.data ? state.data.classes : [];
  }

  function laneTop(i) {
    return BARNO_H + CHORD_H + i * LANE_H;
  }

  function barX(song, bar) {
    // left edge of 1-based bar (bar = n + 1: the song's end), in content pixels
    const bars = song.bars;
    const column = bar - 1 < bars.length ? bars[bar - 1].start : song.columns;
    return LABEL_W + column * PX;
  }

  function muted(hex) {
    const n = parseInt(hex.slice(1), 16);
    const mix = (c) => Math.round(c + (255 - c) * 0.6);
    return `rgb(${mix(n >> 16)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
  }

  function sizeGrid() {
    const song = current();
    const wrap = $("gridwrap");
    const height = laneTop(lanes().length) + 4;
    const width = song ? LABEL_W + song.columns * PX + 20 : wrap.clientWidth;
    $("gridspacer").style.width = `${width}px`;
    $("gridspacer").style.height = `${height}px`;
    const visible = Math.max(200, Math.min(width, wrap.clientWidth));
    const ratio = window.devicePixelRatio || 1;
    canvas.style.width = `${visible}px`;
    canvas.style.height = `${height}px`;
    if (canvas.width !== Math.round(visible * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(visible * ratio);
      canvas.height = Math.round(height * ratio);
    }
  }

  function draw() {
    sizeGrid();
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.width / ratio;
    const height = canvas.height / ratio;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const song = viewed();
    if (!song) {
      ctx.fillStyle = "#6b6b70";
      ctx.font = "14px sans-serif";
      ctx.fillText("Open a MIDI file to begin.", 16, 40);
      return;
    }
    const scroll = $("gridwrap").scrollLeft;
    const x = (content) => content - scroll;
    const classes = lanes();
    const isCandidate = song.base !== null;

    // selection (and the rectangle being dragged)
    const shade = (bars, laneIdx, colour) => {
      for (const bar of bars) {
        if (bar < 1 || bar > song.bars.length) continue;
        const left = x(barX(song, bar));
        const right = x(barX(song, bar + 1));
        for (const i of laneIdx) ctx.fillStyle = colour, ctx.fillRect(left, laneTop(i), right - left, LANE_H);
      }
    };
    const selectedLanes = classes.map((c, i) => (state.selClasses.has(c) ? i : -1)).filter((i) => i >= 0);
    shade(state.selBars, selectedLanes, "#fff1b8");
    if (state.hover) {
      const [b0, b1] = state.hover.bars;
      const [l0, l1] = state.hover.lanes;
      const bars = [];
      for (let b = b0; b <= b1; b++) bars.push(b);
      const laneIdx = [];
      for (let l = l0; l <= l1; l++) laneIdx.push(l);
      shade(bars, laneIdx, "rgba(31, 111, 235, 0.15)");
    }

    // bar lines, numbers, chords
    ctx.font = "11px sans-serif";
    ctx.textBaseline = "middle";
    song.bars.forEach((bar, i) => {
      const left = x(LABEL_W + bar.start * PX);
      if (left > width || left + bar.length * PX < 0) return;
      ctx.strokeStyle = "#d0d0d0";
      ctx.beginPath();
      ctx.moveTo(left + 0.5, 0);
      ctx.lineTo(left + 0.5, height);
      ctx.stroke();
      ctx.fillStyle = "#6b6b70";
      if (bar.length * PX > 6 * String(i + 1).length + 4) ctx.fillText(String(i + 1), left + 3, BARNO_H / 2);
      ctx.fillStyle = "#1d1d1f";
      if (bar.chord && bar.length * PX > 24) ctx.fillText(bar.chord, left + 3, BARNO_H + CHORD_H / 2);
    });

    // notes, lane by lane (each lane scaled to its class's pitch range)
    classes.forEach((cls, i) => {
      const notes = song.notes[cls] || [];
      const top = laneTop(i);
      ctx.strokeStyle = "#e4e4e8";
      ctx.beginPath();
      ctx.moveTo(0, top + 0.5);
      ctx.lineTo(width, top + 0.5);
      ctx.stroke();
      if (!notes.length) return;
      let low = 127;
      let high = 0;
      for (const n of notes) {
        low = Math.min(low, n[2]);
        high = Math.max(high, n[2]);
      }
      const span = Math.max(high - low, 12);
      const rowH = Math.max(1.5, Math.min(4, (LANE_H - 8) / (span + 1)));
      const base = top + LANE_H - 4 - ((LANE_H - 8) - (span + 1) * rowH) / 2;
      for (const n of notes) {
        const left = x(LABEL_W + n[0] * PX);
        const w = Math.max(1.5, n[1] * PX - 1);
        if (left > width || left + w < 0) continue;
        const y = base - (n[2] - low + 1 + (span - (high - low)) / 2) * rowH;
        ctx.fillStyle = isCandidate && !n[3] ? muted(COLOURS[cls]) : COLOURS[cls];
        ctx.fillRect(left, y, w, rowH);
      }
    });

    // playhead
    if (state.playing !== null && !audio.paused) {
      const column = secondsToColumn(song, audio.currentTime);
      const px = x(LABEL_W + column * PX);
      ctx.strokeStyle = "#1d1d1f";
      ctx.beginPath();
      ctx.moveTo(px + 0.5, BARNO_H);
      ctx.lineTo(px + 0.5, height);
      ctx.stroke();
    }

    // class names on top, always at the left edge
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, LABEL_W, height);
    ctx.fillStyle = "#6b6b70";
    ctx.fillText("bar", 6, BARNO_H / 2);
    ctx.fillText("chord", 6, BARNO_H + CHORD_H / 2);
    classes.forEach((cls, i) => {
      const present = (song.notes[cls] || []).length > 0;
      ctx.fillStyle = present ? COLOURS[cls] : "#b0b0b5";
      ctx.font = state.selClasses.has(cls) ? "bold 12px sans-serif" : "12px sans-serif";
      ctx.fillText(cls, 8, laneTop(i) + LANE_H / 2);
    });
    ctx.strokeStyle = "#d0d0d0";
    ctx.beginPath();
    ctx.moveTo(LABEL_W + 0.5, 0);
    ctx.lineTo(LABEL_W + 0.5, height);
    ctx.stroke();
  }

  function secondsToColumn(song, seconds) {
    const bars = song.bars;
    for (let i = 0; i < bars.length; i++) {
      const start = bars[i].seconds;
      const end = i + 1 < bars.length ? bars[i + 1].seconds : song.seconds;
      if (seconds < end || i === bars.length - 1) {
        const share = end > start ? Math.min(1, Math.max(0, (seconds - start) / (end - start))) : 0;
        return bars[i].start + share * bars[i].length;
      }
    }
    return 0;
  }

  function cellAt(event) {
    // {bar (1-based, 0 = the label column), lane (-1: bar numbers or chords)}
    const song = current();
    if (!song) return null;
    const rect = canvas.getBoundingClientRect();
    const cx = event.clientX - rect.left + $("gridwrap").scrollLeft;
    const cy = event.clientY - rect.top;
    const column = (cx - LABEL_W) / PX;
    let bar = 0;
    if (column >= 0) {
      bar = song.bars.length;
      for (let i = 0; i < song.bars.length; i++) {
        if (column < song.bars[i].start + song.bars[i].length) {
          bar = i + 1;
          break;
        }
      }
    }
    const lane = cy < laneTop(0) ? -1 : Math.min(lanes().length - 1, Math.floor((cy - laneTop(0)) / LANE_H));
    return { bar, lane };
  }

  function dragRect(from, to) {
    const present = presentLanes();
    const bars = [Math.max(1, Math.min(from.bar, to.bar)), Math.max(from.bar, to.bar)];
    if (from.lane < 0) return { bars, lanes: [0, lanes().length - 1], wholeBars: true, present };
    return { bars, lanes: [Math.min(from.lane, to.lane), Math.max(from.lane, to.lane)] };
  }

  function presentLanes() {
    const song = current();
    return lanes().filter((c) => song && (song.notes[c] || []).length);
  }

  canvas.addEventListener("mousedown", (event) => {
    const cell = cellAt(event);
    if (!cell || event.button !== 0) return;
    event.preventDefault();
    if (cell.bar === 0 && cell.lane >= 0) {
      // a class name: select that whole track (every bar)
      const cls = lanes()[cell.lane];
      if (!event.shiftKey) clearSelection();
      state.selClasses.add(cls);
      current().bars.forEach((_, i) => state.selBars.add(i + 1));
      selectionChanged();
      return;
    }
    state.drag = { from: cell, shift: event.shiftKey };
    state.hover = dragRect(cell, cell);
    draw();
  });

  window.addEventListener("mousemove", (event) => {
    if (!state.drag) return;
    const cell = cellAt(event);
    if (!cell) return;
    state.hover = dragRect(state.drag.from, { bar: Math.max(cell.bar, 1), lane: cell.lane < 0 ? 0 : cell.lane });
    draw();
  });

  window.addEventListener("mouseup", () => {
    if (!state.drag) return;
    const rect = state.hover;
    if (!state.drag.shift) clearSelection();
    for (let b = rect.bars[0]; b <= rect.bars[1]; b++) state.selBars.add(b);
    if (rect.wholeBars) rect.present.forEach((c) => state.selClasses.add(c));
    else for (let l = rect.lanes[0]; l <= rect.lanes[1]; l++) state.selClasses.add(lanes()[l]);
    state.drag = null;
    state.hover = null;
    setMode("infill");
    selectionChanged();
  });

  $("gridwrap").addEventListener("scroll", () => draw());
  window.addEventListener("resize", () => draw());

  // ----- selection <-> the two text boxes -----

  function barsText(bars) {
    const sorted = [...bars].sort((a, b) => a - b);
    const parts = [];
    for (let i = 0; i < sorted.length; i++) {
      let j = i;
      while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
      parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
      i = j;
    }
    return parts.join(",");
  }

  function parseBarsText(text) {
    const bars = new Set();
    for (const part of text.replace(/\s+/g, "").split(",")) {
      if (!part) continue;
      const match = part.match(/^(\d+)(?:-(\d+))?$/);
      if (!match) throw new Error(`bars ${JSON.stringify(text)}: write bar ranges like 9-12 or 1-4,9-12`);
      const a = Number(match[1]);
      const b = match[2] ? Number(match[2]) : a;
      if (a < 1 || b < a || b - a > 100000) throw new Error(`bars ${JSON.stringify(text)}: bars count from 1 and a range goes up`);
      for (let k = a; k <= b; k++) bars.add(k);
    }
    return bars;
  }

  function clearSelection() {
    state.selBars = new Set();
    state.selClasses = new Set();
  }

  function selectionChanged() {
    $("bars").value = barsText(state.selBars);
    $("tracks").value = lanes().filter((c) => state.selClasses.has(c)).join(",");
    draw();
  }

  $("bars").addEventListener("change", () => {
    try {
      state.selBars = parseBarsText($("bars").value);
      showError("");
      setMode("infill");
      draw();
    } catch (err) {
      showError(err.message);
    }
  });
  $("tracks").addEventListener("change", () => {
    const names = $("tracks").value.split(/[,\s]+/).filter(Boolean);
    state.selClasses = new Set(names.filter((n) => lanes().includes(n)));
    setMode("infill");
    draw();
  });
  $("clear-selection").addEventListener("click", () => {
    clearSelection();
    selectionChanged();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && event.target === document.body) {
      clearSelection();
      selectionChanged();
    }
  });

  // ----- modes and options -----

  function mode() {
    return document.querySelector('input[name="mode"]:checked').value;
  }

  function setMode(value) {
    document.querySelector(`input[name="mode"][value="${value}"]`).checked = true;
    $("infill-box").hidden = value !== "infill";
    $("make-box").hidden = value !== "generate";
  }

  document.querySelectorAll('input[name="mode"]').forEach((radio) => radio.addEventListener("change", () => setMode(mode())));

  function setupMakeTable() {
    const song = current();
    const rows = $("make-rows");
    rows.textContent = "";
    state.make = {};
    for (const cls of lanes()) {
      const present = song && (song.notes[cls] || []).length > 0;
      state.make[cls] = present ? "keep" : "out";
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = COLOURS[cls];
      name.append(swatch, cls + (present ? "" : " (absent)"));
      tr.append(name);
      for (const choice of ["keep", "make", "out"]) {
        const td = document.createElement("td");
        const radio = document.createElement("input");
        radio.type = "radio";
        radio.name = `make-${cls}`;
        radio.value = choice;
        radio.id = `make-${cls}-${choice}`;
        radio.checked = state.make[cls] === choice;
        radio.disabled = choice === "keep" && !present;
        radio.addEventListener("change", () => {
          state.make[cls] = choice;
        });
        td.append(radio);
        tr.append(td);
      }
      rows.append(tr);
    }
  }

  function request() {
    const chordMode = document.querySelector('input[name="chords"]:checked').value;
    const value = (id) => $(id).value.trim();
    const payload = {
      mode: mode(),
      steps: value("steps"),
      seed: value("seed"),
      temperature: value("temperature"),
      top_p: value("top_p"),
      drum_repeat: value("drum_repeat"),
      kit_anchor: value("kit_anchor"),
      onset_anchor: value("onset_anchor"),
      variations: value("variations"),
      chords: chordMode === "given" ? value("chords") : "",
      no_chords: chordMode === "off",
      programs: value("programs"),
      ranges: value("ranges"),
      allow_uncovered: $("allow_uncovered").checked,
    };
    if (payload.mode === "infill") {
      payload.bars = barsText(state.selBars);
      payload.tracks = lanes().filter((c) => state.selClasses.has(c));
      if (!payload.bars || !payload.tracks.length) {
        throw new Error("select what to regenerate: drag over bars × tracks in the grid (or type bars and tracks)");
      }
    } else {
      payload.keep = lanes().filter((c) => state.make[c] === "keep");
      payload.make = lanes().filter((c) => state.make[c] === "make");
    }
    return payload;
  }

  // ----- generating -----

  $("generate").addEventListener("click", () =>
    act(async () => {
      stopAudio();
      const data = await post("/api/generate", request());
      accept(data);
      poll();
    }),
  );

  $("stop-job").addEventListener("click", () => act(() => post("/api/cancel")));

  function showJob(job) {
    const running = job.state === "running";
    $("generate").disabled = running;
    $("stop-job").hidden = !running;
    $("progress").hidden = !running;
    if (job.total) {
      $("progress").max = job.total;
      $("progress").value = job.done;
    } else {
      $("progress").removeAttribute("value");
    }
    let text = "";
    if (running) text = `${job.message} (${job.seconds.toFixed(1)} s)`;
    else if (job.state === "done") text = `${job.message} in ${job.seconds.toFixed(1)} s`;
    else if (job.state === "cancelled") text = "stopped";
    $("job-text").textContent = text;
    $("job-text").dataset.state = job.state;
  }

  async function poll() {
    if (state.polling) return;
    state.polling = true;
    try {
      for (;;) {
        const job = await (await api("/api/job")).json();
        if (job.state === "running") showJob(job);
        else {
          const data = await (await api("/api/state")).json();
          accept(data, { viewFirstCandidate: job.state === "done" });
          if (job.state === "error") showError(job.message);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } catch (err) {
      showError(err.message);
    } finally {
      state.polling = false;
    }
  }

  // ----- listening -----

  async function wavUrl(id) {
    if (state.wavUrls.has(id)) return state.wavUrls.get(id);
    $("play-state").textContent = "rendering audio …";
    const blob = await (await api(`/api/wav/${id}`)).blob();
    const url = URL.createObjectURL(blob);
    state.wavUrls.set(id, url);
    return url;
  }

  function loopBounds() {
    const song = current();
    if (!song || !state.selBars.size) return null;
    const sorted = [...state.selBars].sort((a, b) => a - b);
    const first = Math.min(sorted[0], song.bars.length);
    const last = Math.min(sorted[sorted.length - 1], song.bars.length);
    const start = song.bars[first - 1].seconds;
    const end = last < song.bars.length ? song.bars[last].seconds : song.seconds;
    return [start, end];
  }

  async function play(id, at = null) {
    if (state.data && state.data.audio) {
      showError(state.data.audio);
      return;
    }
    const url = await wavUrl(id);
    const bounds = $("loop").checked ? loopBounds() : null;
    if (state.playing !== id || audio.src !== url) {
      audio.src = url;
      await new Promise((resolve, reject) => {
        audio.onloadedmetadata = resolve;
        audio.onerror = () => reject(new Error("the browser cannot play this audio"));
      });
    }
    state.playing = id;
    if (at !== null) audio.currentTime = at;
    else if (bounds) audio.currentTime = bounds[0];
    else if (audio.ended) audio.currentTime = 0;
    await audio.play();
    tick();
  }

  function stopAudio() {
    audio.pause();
    if (audio.src) audio.currentTime = 0;
    $("play-state").textContent = "stopped";
    draw();
  }

  function label(id) {
    const v = versions().find((x) => x.id === id);
    if (!v) return "";
    return v.base === null ? "A" : v.label.split(":")[0];
  }

  function tick() {
    if (audio.paused) {
      $("play-state").textContent = audio.ended ? "stopped" : $("play-state").textContent;
      draw();
      return;
    }
    const bounds = $("loop").checked ? loopBounds() : null;
    if (bounds && (audio.currentTime >= bounds[1] || audio.currentTime < bounds[0] - 0.05)) {
      audio.currentTime = bounds[0];
    }
    $("play-state").textContent = `playing ${label(state.playing)} ${audio.currentTime.toFixed(1)} s`;
    $("play-state").dataset.time = String(audio.currentTime);
    draw();
    requestAnimationFrame(tick);
  }

  $("play").addEventListener("click", () => act(() => play(state.viewing)));
  $("stop").addEventListener("click", () => stopAudio());
  $("ab").addEventListener("click", () =>
    act(async () => {
      const a = current();
      const candidates = state.data.candidates;
      if (!a || !candidates.length) throw new Error("generate a variation first: A/B switches between the song and it");
      const b = candidates.find((v) => v.id === state.viewing) || candidates[0];
      const target = state.playing === a.id ? b.id : a.id;
      const at = audio.paused ? null : audio.currentTime;
      state.viewing = target;
      render();
      await play(target, at);
    }),
  );

  // ----- versions, tracks, header -----

  function link(text, href, download) {
    const a = document.createElement("a");
    a.textContent = text;
    a.href = href;
    if (download) a.setAttribute("download", download);
    return a;
  }

  function button(text, onClick, className) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (className) b.className = className;
    b.addEventListener("click", onClick);
    return b;
  }

  function renderVersions() {
    const rows = $("version-rows");
    rows.textContent = "";
    const q = `token=${encodeURIComponent(TOKEN)}&download=1`;
    versions().forEach((v) => {
      const tr = document.createElement("tr");
      tr.dataset.id = String(v.id);
      if (v.id === state.viewing) tr.className = "viewing";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "view";
      radio.checked = v.id === state.viewing;
      radio.title = "show in the grid";
      radio.addEventListener("change", () => {
        state.viewing = v.id;
        render();
      });
      const name = v.base === null ? `A: ${v.label === "original" ? "the song" : v.label}` : v.label;
      const cells = [radio, name, v.base === null ? "" : String(v.new_notes)];
      for (const content of cells) {
        const td = document.createElement("td");
        td.append(content);
        tr.append(td);
      }
      const actions = document.createElement("td");
      actions.className = "actions";
      actions.append(
        button("▶", () => act(async () => {
          state.viewing = v.id;
          render();
          await play(v.id);
        }), "play-version"),
      );
      if (v.base !== null) actions.append(button("Keep", () => act(async () => {
        stopAudio();
        accept(await post("/api/accept", { id: v.id }));
      }), "keep"));
      const midi = link("MIDI", `/api/midi/${v.id}?${q}`, v.filename);
      midi.className = "download-midi";
      actions.append(midi);
      if (!(state.data && state.data.audio)) {
        actions.append(link("WAV", `/api/wav/${v.id}?${q}`, v.filename.replace(/\.mid$/, ".wav")));
      }
      tr.append(actions);
      rows.append(tr);
      for (const warning of v.warnings || []) {
        const note = document.createElement("tr");
        const td = document.createElement("td");
        td.colSpan = 4;
        td.className = "hint";
        td.textContent = `note: ${warning}`;
        note.append(td);
        rows.append(note);
      }
    });
    $("undo").disabled = !(state.data && state.data.undo);
    $("discard").disabled = !(state.data && state.data.candidates.length);
    $("ab").disabled = !(state.data && state.data.candidates.length);
  }

  function renderTracks() {
    const rows = $("track-rows");
    rows.textContent = "";
    const song = current();
    if (!song) return;
    for (const t of song.tracks) {
      const tr = document.createElement("tr");
      for (const text of [String(t.index), t.name, t.program, String(t.notes)]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      const td = document.createElement("td");
      const select = document.createElement("select");
      select.dataset.index = String(t.index);
      for (const choice of [...lanes(), "drop", "auto"]) {
        const option = document.createElement("option");
        option.value = choice;
        option.textContent = choice === "auto" ? "automatic" : choice === "drop" ? "leave out" : choice;
        option.selected = choice === t.class;
        select.append(option);
      }
      select.addEventListener("change", () =>
        act(async () => {
          accept(await post("/api/map", { index: t.index, class: select.value }));
        }).then((ok) => {
          if (ok === null) renderTracks(); // refused: show the mapping as it is
        }),
      );
      td.append(select);
      if (COLOURS[t.class]) td.style.borderLeft = `4px solid ${COLOURS[t.class]}`;
      tr.append(td);
      const why = document.createElement("td");
      why.textContent = t.reason;
      why.className = "hint";
      tr.append(why);
      rows.append(tr);
    }
  }

  function renderHeader() {
    const song = current();
    const data = state.data;
    if (data) $("model-info").textContent = `model: ${data.model}`;
    if (!song) return;
    const minutes = Math.floor(song.seconds / 60);
    const seconds = String(Math.round(song.seconds % 60)).padStart(2, "0");
    $("song-info").textContent =
      `${song.filename}: ${song.bars.length} bars (${minutes}:${seconds}), ${song.meter}, ${song.bpm} BPM` +
      (song.key ? `, key ${song.key}` : "");
    const v = viewed();
    $("viewing").textContent = v ? `(showing ${label(v.id)}${v.base !== null ? ": new notes in full colour" : ""})` : "";
    if ($("steps").value === "" && data) $("steps").placeholder = String(data.defaults.steps);
    if (data) $("steps").max = String(data.defaults.max_steps);
    $("audio-problem").hidden = !(data && data.audio);
    $("audio-problem").textContent = data && data.audio ? `No sound: ${data.audio}` : "";
    $("play").disabled = $("stop").disabled = Boolean(data && data.audio);
  }

  function render() {
    if (state.data) showJob(state.data.job);
    renderHeader();
    renderVersions();
    renderTracks();
    draw();
  }

  $("undo").addEventListener("click", () => act(async () => {
    stopAudio();
    accept(await post("/api/undo"));
  }));
  $("discard").addEventListener("click", () => act(async () => {
    stopAudio();
    accept(await post("/api/discard"));
  }));

  // For tests and the curious: where a cell of the grid lies on the canvas (CSS pixels from its top-left).
  window.studio = {
    cellPoint(cls, bar) {
      const song = current();
      const lane = lanes().indexOf(cls);
      const left = barX(song, bar) - $("gridwrap").scrollLeft;
      const right = barX(song, bar + 1) - $("gridwrap").scrollLeft;
      return { x: (left + right) / 2, y: laneTop(lane) + LANE_H / 2 };
    },
  };

  setMode("infill");
  act(async () => {
    await refresh();
    if (state.data && state.data.job.state === "running") poll();
  });
})();
