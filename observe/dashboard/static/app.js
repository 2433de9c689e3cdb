// The ops dashboard: loads /api/summary for the chosen filters and draws every panel.
// Data is only ever inserted as text (textContent), never as HTML.
"use strict";

const COLORS = ["#3b6fd8", "#2f8f5b", "#d88a3b", "#8a5cc8", "#c8453b", "#3ba9b8", "#9aa3ad", "#c8a23b"];
const charts = {};
const form = document.getElementById("filters");
const statusEl = document.getElementById("status");

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.size = 11;

function params() {
  const p = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
  return p;
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function fmt(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return value.toLocaleString(undefined, { maximumFractionDigits: digits });
  return String(value);
}

function compact(value) {
  if (value === null || value === undefined) return "–";
  return Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 }).format(value);
}

function pct(value) { return value === null || value === undefined ? "–" : (100 * value).toFixed(1) + " %"; }

function label(bucket) {
  const d = new Date(bucket);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function panel(name) { return document.querySelector(`[data-panel="${name}"]`); }

function mark(name, rows) {
  const node = panel(name);
  node.dataset.rendered = "true";
  node.dataset.rows = String(rows);
  const empty = node.querySelector(".empty");
  if (empty) empty.remove();
  if (!rows) node.appendChild(el("p", "No data for these filters.", "empty"));
}

function draw(name, config) {
  if (charts[name]) charts[name].destroy();
  charts[name] = new Chart(panel(name).querySelector("canvas"), config);
}

function series(rows, key, value) {
  // rows of {bucket, <key>, <value>} -> labels and one dataset per key value
  const buckets = [...new Set(rows.map(r => r.bucket))];
  const keys = [...new Set(rows.map(r => r[key]))];
  const datasets = keys.map((k, i) => ({
    label: String(k), backgroundColor: COLORS[i % COLORS.length], borderColor: COLORS[i % COLORS.length],
    data: buckets.map(b => { const r = rows.find(x => x.bucket === b && x[key] === k); return r ? r[value] : 0; }),
  }));
  return { labels: buckets.map(label), datasets };
}

function table(node, columns, rows, onClick) {
  node.replaceChildren();
  const head = node.createTHead().insertRow();
  for (const c of columns) head.appendChild(el("th", c.title));
  const body = node.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const c of columns) {
      const td = tr.insertCell();
      const v = c.value(row);
      if (v instanceof Node) td.appendChild(v); else td.textContent = v;
      if (c.num) td.className = "num";
    }
    if (onClick) { tr.className = "clickable"; tr.addEventListener("click", () => onClick(row)); }
  }
}

function renderTotals(t) {
  const node = panel("totals");
  node.replaceChildren();
  const cards = [
    ["Turns", fmt(t.turns)], ["Questions", fmt(t.questions)], ["Cache hit rate", pct(t.cache_hit_rate)],
    ["p50 / p95 turn", `${fmt(t.p50_ms)} / ${fmt(t.p95_ms)} ms`], ["First Slack text p50", `${fmt(t.first_text_p50_ms)} ms`],
    ["Error rate", pct(t.error_rate)], ["Tokens in / out", `${compact(t.input_tokens)} / ${compact(t.output_tokens)}`],
    ["Cost", "$" + fmt(t.cost_usd, 4)], ["Feedback up / down", `${fmt(t.thumbs_up)} / ${fmt(t.thumbs_down)}`],
  ];
  for (const [name, value] of cards) {
    const card = el("div", null, "card");
    card.append(el("b", value), el("span", name));
    node.appendChild(card);
  }
  mark("totals", t.turns);
}

function render(data) {
  renderTotals(data.totals);

  draw("volume", { type: "bar", data: series(data.volume, "intent", "turns"),
    options: { scales: { x: { stacked: true }, y: { stacked: true } } } });
  mark("volume", data.volume.length);

  const lat = data.latency;
  draw("latency", { type: "bar", data: { labels: lat.map(r => r.node), datasets: [
    { label: "p50", data: lat.map(r => r.p50_ms), backgroundColor: COLORS[0] },
    { label: "p95", data: lat.map(r => r.p95_ms), backgroundColor: COLORS[2] },
    { label: "p99", data: lat.map(r => r.p99_ms), backgroundColor: COLORS[4] }] },
    options: { indexAxis: "y" } });
  mark("latency", lat.length);

  const ft = data.first_text;
  draw("first_text", { type: "line", data: { labels: ft.map(r => label(r.bucket)), datasets: [
    { label: "model TTFT p50", data: ft.map(r => r.ttft_p50_ms), borderColor: COLORS[0] },
    { label: "model TTFT p95", data: ft.map(r => r.ttft_p95_ms), borderColor: COLORS[0], borderDash: [4, 3] },
    { label: "first Slack text p50", data: ft.map(r => r.slack_p50_ms), borderColor: COLORS[1] },
    { label: "first Slack text p95", data: ft.map(r => r.slack_p95_ms), borderColor: COLORS[1], borderDash: [4, 3] }] } });
  mark("first_text", ft.length);

  const cache = data.cache;
  panel("cache").querySelector(".note").textContent =
    `${fmt(cache.hits)} hits · saved ≈ $${fmt(cache.saved_cost_usd, 4)} and ${fmt(cache.saved_s)} s of answering (estimated from the misses' mean)`;
  draw("cache", { type: "line", data: { labels: cache.series.map(r => label(r.bucket)), datasets: [
    { label: "hit rate", data: cache.series.map(r => r.hit_rate), borderColor: COLORS[1], fill: false }] },
    options: { scales: { y: { min: 0, max: 1 } } } });
  mark("cache", cache.series.length);

  const g = data.guards;
  draw("guards", { type: "bar", data: { labels: g.map(r => `${r.stage}: ${r.validator}`), datasets: [
    { label: "trips", data: g.map(r => r.trips), backgroundColor: COLORS[3] }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } } } });
  mark("guards", g.length);

  const it = data.intents;
  panel("intents").querySelector(".note").textContent =
    `Low confidence (classifier unsure): ${pct(it.low_confidence_rate)} (${fmt(it.low_confidence)} turns)`;
  draw("intents", { type: "doughnut", data: { labels: it.mix.map(r => r.intent), datasets: [
    { data: it.mix.map(r => r.turns), backgroundColor: COLORS }] },
    options: { plugins: { legend: { position: "right" } } } });
  mark("intents", it.mix.length);

  const u = data.usage;
  const usage = series(u, "model", "cost_usd");
  usage.datasets.forEach(d => { d.label = `${d.label} cost $`; d.type = "bar"; d.yAxisID = "cost"; });
  const tokens = series(u, "model", "output_tokens").datasets.map((d, i) => ({
    ...d, label: `${d.label} output tokens`, type: "line", yAxisID: "tokens", borderColor: COLORS[(i + 4) % COLORS.length], backgroundColor: "transparent" }));
  draw("usage", { data: { labels: usage.labels, datasets: [...usage.datasets, ...tokens] },
    options: { scales: { cost: { position: "left" }, tokens: { position: "right", grid: { drawOnChartArea: false } } } } });
  mark("usage", u.length);

  const q = data.quality;
  const quality = series(q, "eval_name", "mean_score");
  quality.datasets.forEach(d => { d.fill = false; });
  draw("quality", { type: "line", data: quality, options: { scales: { y: { min: 0, max: 1 } } } });
  mark("quality", q.length);

  const e = data.errors;
  draw("errors", { type: "bar", data: { labels: e.by_type.map(r => `${r.node}: ${r.error_type || "error"}`), datasets: [
    { label: "failed spans", data: e.by_type.map(r => r.n), backgroundColor: COLORS[4] }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } } } });
  table(panel("errors").querySelector("table"), [
    { title: "when", value: r => label(r.at_ts) }, { title: "error", value: r => r.error_type || "error" },
    { title: "channel", value: r => r.channel }, { title: "intent", value: r => r.intent },
    { title: "trace", value: r => r.trace_id.slice(0, 12) }], e.latest.slice(0, 8), r => openTrace(r.trace_id));
  mark("errors", e.by_type.length);

  table(panel("gaps").querySelector("table"), [
    { title: "question (redacted)", value: r => r.question }, { title: "asked", value: r => r.count, num: true },
    { title: "wordings", value: r => r.variants, num: true }, { title: "no citation", value: r => r.no_citation, num: true },
    { title: "weak passage", value: r => r.low_similarity, num: true }, { title: "thumbs down", value: r => r.thumbs_down, num: true },
    { title: "last seen", value: r => label(r.last_seen) }], data.gaps, r => openTrace(r.trace_id));
  mark("gaps", data.gaps.length);

  table(panel("recent").querySelector("table"), [
    { title: "when", value: r => label(r.at_ts) }, { title: "channel", value: r => r.channel },
    { title: "intent", value: r => r.intent }, { title: "model", value: r => r.model },
    { title: "status", value: r => el("span", r.status, "pill " + r.status) },
    { title: "ms", value: r => fmt(r.duration_ms), num: true }, { title: "cites", value: r => fmt(r.citations), num: true },
    { title: "cached", value: r => (r.cache_hit ? "yes" : "") },
    { title: "question (redacted)", value: r => r.question || "" }], data.recent, r => openTrace(r.trace_id));
  mark("recent", data.recent.length);
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

async function load() {
  statusEl.className = ""; statusEl.textContent = "loading…";
  const started = performance.now();
  try {
    render(await getJSON("api/summary?" + params()));
    statusEl.textContent = `updated ${new Date().toLocaleTimeString()} · ${Math.round(performance.now() - started)} ms`;
    document.body.dataset.loaded = "true";
  } catch (err) {
    statusEl.className = "error"; statusEl.textContent = "could not load: " + err.message;
  }
}

async function loadFacets() {
  try {
    const facets = await getJSON("api/facets");
    for (const name of ["channel", "intent", "model"]) {
      const select = form.elements[name];
      for (const value of facets[name] || []) select.appendChild(new Option(value, value));
    }
  } catch (err) { statusEl.className = "error"; statusEl.textContent = "filters unavailable: " + err.message; }
}

async function openTrace(traceId) {
  const section = document.getElementById("trace");
  section.hidden = false;
  document.getElementById("trace-id").textContent = traceId;
  const wf = document.getElementById("waterfall");
  const detail = document.getElementById("span-detail");
  wf.replaceChildren(el("p", "loading…", "empty"));
  try {
    const { spans } = await getJSON("api/trace/" + traceId);
    const total = Math.max(...spans.map(s => s.offset_ms + s.duration_ms), 1);
    const depth = {};
    for (const s of spans) depth[s.span_id] = s.parent_span_id && depth[s.parent_span_id] !== undefined ? depth[s.parent_span_id] + 1 : 0;
    wf.replaceChildren();
    for (const s of spans) {
      const row = el("div", null, "wf-row");
      row.setAttribute("role", "listitem");
      const name = el("div", s.name, "wf-name");
      name.style.paddingLeft = `${depth[s.span_id] * 14}px`;
      const track = el("div", null, "wf-track");
      const bar = el("div", null, "wf-bar " + s.status);
      bar.style.left = `${(100 * s.offset_ms) / total}%`;
      bar.style.width = `${(100 * s.duration_ms) / total}%`;
      bar.title = `${s.name}: ${fmt(s.duration_ms, 1)} ms`;
      track.appendChild(bar);
      row.append(name, track, el("div", fmt(s.duration_ms, 1) + " ms", "wf-ms"));
      row.addEventListener("click", () => { detail.textContent = JSON.stringify({ name: s.name, status: s.status, kind: s.kind, error: s.error_type, attributes: s.attributes }, null, 2); });
      wf.appendChild(row);
    }
    detail.textContent = "Click a span to see its attributes.";
    section.dataset.rendered = "true";
  } catch (err) { wf.replaceChildren(el("p", "could not load the trace: " + err.message, "empty")); }
}

function closeTrace() { document.getElementById("trace").hidden = true; }
document.getElementById("trace-close").addEventListener("click", closeTrace);
document.addEventListener("keydown", e => { if (e.key === "Escape") closeTrace(); });
form.addEventListener("change", load);
// A link such as an evaluation report's ".../dashboard/#trace=<id>" opens that trace.
function openLinkedTrace() {
  const linked = /^#trace=([0-9a-f]{32})$/.exec(location.hash);
  if (linked) openTrace(linked[1]);
}
window.addEventListener("hashchange", openLinkedTrace);
loadFacets().then(load).then(openLinkedTrace);
setInterval(() => { if (!document.hidden) load(); }, 30000);
