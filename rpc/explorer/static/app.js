// The explorer's pages: one script that routes on the URL path, reads the JSON API and
// renders. Everything from the API is escaped before it reaches the page. Live pages
// (home, map, staking) refresh every 2 s; when the indexer has lost the node a banner
// says "node disconnected".
"use strict";

const REFRESH_MS = 2000;
const DECIMALS = 12n;
const main = document.getElementById("main");
let timer = null;

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function api(path) {
  const response = await fetch(path);
  let body = null;
  try { body = await response.json(); } catch (_) { body = { error: "the server answered " + response.status }; }
  if (!response.ok) { const e = new Error(body && body.error ? body.error : "HTTP " + response.status); e.status = response.status; throw e; }
  return body;
}

function arcm(planck) {
  if (planck === null || planck === undefined) return "unknown";
  let v;
  try { v = BigInt(planck); } catch (_) { return esc(planck) + " planck"; }
  const unit = 10n ** DECIMALS;
  const whole = v / unit;
  const frac = (v % unit).toString().padStart(Number(DECIMALS), "0").replace(/0+$/, "");
  return whole.toLocaleString("en-US") + (frac ? "." + frac : "") + " ArcM";
}

function units(milli) { return (Number(milli) / 1000).toFixed(3); }
function short(text) { const t = String(text ?? ""); return t.length > 18 ? t.slice(0, 10) + "…" + t.slice(-6) : t; }
function acct(a) { return a ? `<a class="mono" href="/account/${esc(a)}" title="${esc(a)}">${esc(short(a))}</a>` : '<span class="muted">none</span>'; }
function blockLink(n) { return `<a href="/block/${esc(n)}">#${esc(n)}</a>`; }
function xtLink(h) { return `<a class="mono" href="/extrinsic/${esc(h)}" title="${esc(h)}">${esc(short(h))}</a>`; }
function when(ms) { return ms ? new Date(Number(ms)).toISOString().replace("T", " ").replace(".000Z", " UTC") : "unknown"; }
function outcome(x) {
  if (x.success === true) return '<span class="ok">success</span>';
  if (x.success === false) return `<span class="fail">failed: ${esc(x.error || "unknown error")}</span>`;
  return '<span class="muted">unknown (events not indexed)</span>';
}
function callName(x) { return `${esc(x.pallet)}.${esc(x.call)}` + (x.decoded ? "" : ' <span class="muted">(not decoded)</span>'); }
function fields(pairs) { return '<dl class="fields">' + pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("") + "</dl>"; }
function table(headers, rows, empty) {
  if (!rows.length) return `<p class="muted">${esc(empty || "None.")}</p>`;
  return "<table><thead><tr>" + headers.map((h) => `<th>${esc(h)}</th>`).join("") + "</tr></thead><tbody>" +
    rows.map((r) => "<tr>" + r.map((c) => `<td>${c}</td>`).join("") + "</tr>").join("") + "</tbody></table>";
}
function json(value) { return `<pre class="mono">${esc(JSON.stringify(value, null, 2))}</pre>`; }
function eventsTable(events) {
  return table(["#", "extrinsic", "event", "fields"], events.map((e) => [esc(e.index), e.extrinsicIndex === null ? "block" : esc(e.extrinsicIndex), `${esc(e.pallet)}.${esc(e.event)}`, `<code class="mono">${esc(JSON.stringify(e.fields))}</code>`]), "No events.");
}
function showError(e) {
  const what = e.status === 404 ? "Not found" : e.status === 400 ? "Bad request" : "Error";
  main.innerHTML = `<h1>${what}</h1><p class="fail" id="error">${esc(e.message)}</p>`;
}

function nodeBanner(status) {
  const el = document.getElementById("node-state");
  if (status && status.connected) { el.hidden = true; return; }
  el.hidden = false;
  el.textContent = "node disconnected: " + (status && status.lastError ? status.lastError : "connecting…") + " (reconnecting)";
}

function drawChart(canvas, values, label, color) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * ratio; canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, w, h);
  const max = Math.max(1, ...values);
  g.fillStyle = "#4a5266"; g.font = "12px system-ui";
  g.fillText(`${label} (max ${max.toFixed(2)})`, 8, 16);
  const left = 8, top = 24, bw = (w - 16) / Math.max(1, values.length);
  g.fillStyle = color;
  values.forEach((v, i) => { const bh = (h - top - 8) * (v / max); g.fillRect(left + i * bw, h - 8 - bh, Math.max(1, bw - 1), bh); });
}

async function home() {
  const data = await api("/api/status");
  const s = data.status;
  nodeBanner(s);
  const chart = data.chart || [];
  const rate = [];
  for (let i = 1; i < chart.length; i++) {
    const dt = (chart[i].timestampMs - chart[i - 1].timestampMs) / 1000;
    rate.push(dt > 0 ? 1 / dt : 0);
  }
  main.innerHTML = `
  <div class="cards">
    <div class="card"><div class="label">Best block</div><div class="value" id="best">${esc(s.bestHeight ?? "–")}</div></div>
    <div class="card"><div class="label">Finalized</div><div class="value" id="finalized">${esc(s.finalizedHeight ?? "–")}</div></div>
    <div class="card"><div class="label">Finality lag</div><div class="value" id="lag">${esc(data.finalityLag ?? "–")}</div></div>
    <div class="card"><div class="label">Indexed</div><div class="value" id="indexed">${esc(s.indexedHeight ?? "–")}</div></div>
    <div class="card"><div class="label">Node</div><div class="value" style="font-size:14px">${s.connected ? '<span class="ok">connected</span>' : '<span class="fail">node disconnected</span>'}<br><span class="mono">${esc(s.node)}</span></div></div>
  </div>
  <div class="charts"><canvas id="chart-rate"></canvas><canvas id="chart-xts"></canvas></div>
  <div class="columns">
    <section><h2>Latest blocks</h2><div id="latest-blocks">${table(["block", "time", "extrinsics", "events", "author"], data.latestBlocks.map((b) => [blockLink(b.number), esc(when(b.timestampMs)), esc(b.extrinsicCount), esc(b.eventCount), acct(b.author)]), "No blocks indexed yet.")}</div></section>
    <section><h2>Latest extrinsics</h2><div id="latest-extrinsics">${table(["extrinsic", "block", "call", "signer", "result"], data.latestExtrinsics.map((x) => [xtLink(x.hash), blockLink(x.blockNumber), callName(x), acct(x.signer), outcome(x)]), "No signed extrinsics yet.")}</div></section>
  </div>`;
  drawChart(document.getElementById("chart-rate"), rate, "blocks per second", "#4c6ef5");
  drawChart(document.getElementById("chart-xts"), chart.map((p) => p.extrinsics), "extrinsics per block", "#2b8a3e");
}

async function blockPage(id) {
  const b = await api("/api/block/" + encodeURIComponent(id));
  main.innerHTML = `<h1>Block #${esc(b.number)}</h1>` + fields([
    ["hash", `<span class="mono">${esc(b.hash)}</span>`], ["parent", `<a class="mono" href="/block/${esc(b.parentHash)}">${esc(b.parentHash)}</a>`],
    ["time", esc(when(b.timestampMs))], ["slot", esc(b.slot)], ["author", acct(b.author)],
    ["state root", `<span class="mono">${esc(b.stateRoot)}</span>`], ["extrinsics root", `<span class="mono">${esc(b.extrinsicsRoot)}</span>`],
    ["events", b.eventsDecoded ? esc(b.eventCount) : '<span class="muted">not available (the node had no state for this block)</span>'],
  ]) + "<h2>Extrinsics</h2>" + table(["#", "hash", "call", "signer", "result"], b.extrinsics.map((x) => [esc(x.index), xtLink(x.hash), callName(x), acct(x.signer), outcome(x)])) +
    "<h2>Events</h2>" + eventsTable(b.events);
}

async function extrinsicPage(hash) {
  const x = await api("/api/extrinsic/" + encodeURIComponent(hash));
  main.innerHTML = `<h1>Extrinsic ${esc(short(x.hash))}</h1>` + fields([
    ["hash", `<span class="mono">${esc(x.hash)}</span>`], ["block", blockLink(x.blockNumber) + ` index ${esc(x.index)}`], ["time", esc(when(x.timestampMs))],
    ["call", `<span id="call">${callName(x)}</span>`], ["signer", acct(x.signer)], ["nonce", esc(x.nonce ?? "–")],
    ["result", outcome(x)], ["fee", x.fee ? arcm(x.fee) : "–"], ["tip", x.tip ? arcm(x.tip) : "–"], ["size", esc(x.size) + " bytes"],
  ]) + "<h2>Arguments</h2>" + json(x.args) + '<h2>Events</h2><div id="events">' + eventsTable(x.events) + "</div>";
}

async function accountPage(address) {
  const a = await api("/api/account/" + encodeURIComponent(address));
  const bal = a.balance;
  let html = `<h1>Account <span class="mono">${esc(a.address)}</span></h1>` + fields([
    ["free", `<span id="free">${bal ? arcm(bal.free) : "unknown"}</span>`], ["reserved", bal ? arcm(bal.reserved) : "unknown"],
    ["frozen", bal ? arcm(bal.frozen) : "unknown"], ["nonce", esc(bal ? bal.nonce : "–")], ["as of block", bal ? blockLink(bal.updatedAt) : "–"],
  ]);
  if (a.player) {
    const p = a.player;
    html += "<h2>Player</h2>" + fields([["name", `<span id="player-name">${esc(p.name)}</span>`], ["area", esc(p.area)], ["position", `(${units(p.x)}, ${units(p.y)})`], ["health", esc(p.health)], ["inventory", esc(JSON.stringify(p.inventory))]]);
  }
  if (a.validator) html += `<h2>Validator</h2><p><a href="/validator/${esc(a.address)}">Validator page</a></p>`;
  html += '<h2>Transfers</h2><div id="transfers">' + table(["block", "from", "to", "amount"], a.transfers.map((t) => [blockLink(t.blockNumber), acct(t.from), acct(t.to), `<span class="amount">${arcm(t.amount)}</span>`]), "No transfers.") + "</div>";
  html += "<h2>Extrinsics signed</h2>" + table(["extrinsic", "block", "call", "result"], a.extrinsics.map((x) => [xtLink(x.hash), blockLink(x.blockNumber), callName(x), outcome(x)]), "None.");
  main.innerHTML = html;
}

function ppb(n) { return n === null || n === undefined ? "–" : (Number(n) / 1e7).toFixed(2) + "%"; }

async function validatorPage(address) {
  const v = await api("/api/validator/" + encodeURIComponent(address));
  main.innerHTML = `<h1>Validator <span class="mono">${esc(v.address)}</span></h1>` + fields([
    ["active", v.active ? "yes" : "no"], ["disabled", v.disabled ? "yes" : "no"], ["bonded", arcm(v.bonded)], ["exposure", arcm(v.exposure)],
    ["commission", ppb(v.commissionPerBillion)], ["trust score", ppb(v.trustScorePerBillion)], ["uptime", ppb(v.uptimePerBillion)],
    ["participation", ppb(v.participationPerBillion)], ["invalid proposals", esc(v.invalidProposals)], ["era", esc(v.era)],
    ["authored blocks", `<span id="authored">${esc(v.authoredBlocks)}</span>`], ["committees", v.committeeAreas.map((a) => esc(a.name)).join(", ") || "none"],
  ]) + "<h2>Recent blocks</h2>" + table(["block", "time", "extrinsics"], v.recentBlocks.map((b) => [blockLink(b.number), esc(when(b.timestampMs)), esc(b.extrinsicCount)]));
}

async function stakingPage() {
  const s = await api("/api/validators");
  main.innerHTML = `<h1>Staking</h1>` + fields([["era", esc(s.era ?? "–")], ["active set", s.activeSet.map(acct).join("<br>") || "empty"]]) +
    "<h2>Validators</h2>" + table(["validator", "active", "bonded", "commission", "trust", "uptime", "authored"], s.validators.map((v) => [`<a class="mono" href="/validator/${esc(v.address)}">${esc(short(v.address))}</a>`, v.active ? "yes" : "no", arcm(v.bonded), ppb(v.commissionPerBillion), ppb(v.trustScorePerBillion), ppb(v.uptimePerBillion), esc(v.authoredBlocks)]), "No validators indexed yet.") +
    "<h2>Slashes</h2>" + eventsTable(s.slashes);
}

let mapState = null;

function drawMap(canvas, m) {
  const areas = m.areas.filter((a) => a.active);
  if (!areas.length) return null;
  const minX = Math.min(...areas.map((a) => a.minX)), minY = Math.min(...areas.map((a) => a.minY));
  const maxX = Math.max(...areas.map((a) => a.maxX)), maxY = Math.max(...areas.map((a) => a.maxY));
  const w = canvas.clientWidth, scale = w / (maxX - minX), h = (maxY - minY) * scale;
  const ratio = window.devicePixelRatio || 1;
  canvas.style.height = h + "px"; canvas.width = w * ratio; canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const px = (x) => (x - minX) * scale, py = (y) => (y - minY) * scale;
  g.font = "13px system-ui"; g.lineWidth = 1;
  for (const a of areas) {
    g.fillStyle = a.id % 2 ? "#dfe9d4" : "#e9f0e2"; g.fillRect(px(a.minX), py(a.minY), (a.maxX - a.minX) * scale, (a.maxY - a.minY) * scale);
    g.strokeStyle = "#8aa07a"; g.strokeRect(px(a.minX), py(a.minY), (a.maxX - a.minX) * scale, (a.maxY - a.minY) * scale);
    g.fillStyle = "#3d4a33"; g.fillText(`${a.name} (${a.population} players, ${a.npcCount} NPCs)`, px(a.minX) + 6, py(a.minY) + 16);
  }
  for (const s of m.structures) { g.fillStyle = "#8d5a2b"; g.fillRect(px(s.x) - 4, py(s.y) - 4, 8, 8); }
  for (const n of m.npcs) { g.fillStyle = "#f08c00"; g.beginPath(); g.arc(px(n.x), py(n.y), 3.5, 0, 7); g.fill(); }
  m.players.forEach((p, i) => {
    g.fillStyle = "#364fc7"; g.beginPath(); g.arc(px(p.x), py(p.y), 5, 0, 7); g.fill();
    // Alternate labels above and below so neighbours stay readable.
    g.fillStyle = "#1d2330"; g.fillText(p.name, px(p.x) + 7, py(p.y) + (i % 2 ? 16 : -6));
  });
  return { areas, minX, minY, scale };
}

function mapHover(event) {
  const tip = document.getElementById("map-tip");
  if (!mapState) return;
  const rect = event.target.getBoundingClientRect();
  const x = (event.clientX - rect.left) / mapState.scale + mapState.minX, y = (event.clientY - rect.top) / mapState.scale + mapState.minY;
  const area = mapState.areas.find((a) => x >= a.minX && x < a.maxX && y >= a.minY && y < a.maxY);
  if (!area) { tip.hidden = true; return; }
  const c = area.committee;
  const members = c && c.primary ? `primary ${short(c.primary)}` + (c.replicas.length ? `, replicas ${c.replicas.map(short).join(", ")}` : "") + ` (version ${c.version})` : "no committee";
  tip.hidden = false;
  tip.style.left = (event.clientX - rect.left + 12) + "px"; tip.style.top = (event.clientY - rect.top + 12) + "px";
  tip.innerHTML = `<b>${esc(area.name)}</b> (${units(x)}, ${units(y)})<br>committee: ${esc(members)}`;
}

async function mapPage(first) {
  const m = await api("/api/map");
  if (first) {
    main.innerHTML = `<h1>World map</h1><p class="legend"><span><i class="dot" style="background:#364fc7"></i>players</span><span><i class="dot" style="background:#f08c00"></i>NPCs</span><span><i class="dot" style="background:#8d5a2b;border-radius:0"></i>structures</span><span class="muted" id="map-block"></span></p>
      <div id="map-wrap"><canvas id="map"></canvas><div id="map-tip" hidden></div></div><h2>Players</h2><div id="map-players"></div>
      <h2>Fast lanes</h2><div id="map-lanes"></div>`;
    document.getElementById("map").addEventListener("mousemove", mapHover);
    document.getElementById("map").addEventListener("mouseleave", () => { document.getElementById("map-tip").hidden = true; });
  }
  document.getElementById("map-block").textContent = m.block === null ? "no world snapshot yet" : `as of block #${m.block}`;
  mapState = drawMap(document.getElementById("map"), m);
  const names = Object.fromEntries(m.areas.map((a) => [a.id, a.name]));
  const lanes = await api("/api/lanes");
  document.getElementById("map-lanes").innerHTML = table(["area", "lane height", "last batch", "in block", "batches", "actions", "sequenced to block p50 / max"], lanes.lanes.map((l) => [esc(names[l.area] ?? l.area), esc(l.height), `<span class="mono">${esc(short(l.lastBatch))}</span>`, blockLink(l.lastBlock), esc(l.batches), esc(l.actions), l.inclusionP50Ms === undefined ? "not decoded" : `${esc(l.inclusionP50Ms)} / ${esc(l.inclusionMaxMs)} ms`]), "No lane batches in the indexed blocks yet.");
  document.getElementById("map-players").innerHTML = table(["player", "account", "area", "position"], m.players.map((p) => [esc(p.name), acct(p.address), esc(names[p.area] ?? p.area), `<span class="pos">(${units(p.x)}, ${units(p.y)})</span>`]), "No players yet.");
}

async function refreshStatus() {
  try { nodeBanner((await api("/api/status")).status); } catch (_) { /* the banner keeps its last state */ }
}

function live(render) {
  const tick = async () => {
    try { await render(false); } catch (e) { showError(e); }
    timer = setTimeout(tick, REFRESH_MS);
  };
  timer = setTimeout(tick, REFRESH_MS);
}

async function route() {
  const path = decodeURIComponent(location.pathname);
  const parts = path.split("/").filter(Boolean);
  try {
    if (parts.length === 0) { await home(); live(home); return; }
    if (parts[0] === "map" && parts.length === 1) { await mapPage(true); live(() => mapPage(false)); refreshStatus(); return; }
    if (parts[0] === "staking" && parts.length === 1) { await stakingPage(); live(stakingPage); refreshStatus(); return; }
    refreshStatus();
    if (parts.length === 2 && parts[0] === "block") return await blockPage(parts[1]);
    if (parts.length === 2 && parts[0] === "extrinsic") return await extrinsicPage(parts[1]);
    if (parts.length === 2 && parts[0] === "account") return await accountPage(parts[1]);
    if (parts.length === 2 && parts[0] === "validator") return await validatorPage(parts[1]);
    showError({ status: 404, message: `no page at ${path}` });
  } catch (e) { showError(e); }
}

document.getElementById("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = document.getElementById("search").value.trim();
  const box = document.getElementById("search-error");
  try {
    const hit = await api("/api/search?q=" + encodeURIComponent(q));
    box.hidden = true;
    location.href = hit.url;
  } catch (e) {
    box.hidden = false;
    box.textContent = e.message;
  }
});

route();
