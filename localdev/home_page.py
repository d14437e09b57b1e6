"""GET / of the local app: a small page with the dev user's weight trend and weekly workouts drawn from the API (the
series and summary endpoints) as inline SVG, the summary numbers, and the way to the docs page and to a token.

Plain HTML and a little JavaScript, no build step. Only when the app is its own development issuer does the page carry
a token (read-only, for dev-user-1, minted per page load); with Auth0 configured it asks for one.
"""

from __future__ import annotations

import json

DEV_USER = "dev-user-1"
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Progress Tracking Service (local)</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 860px; color: #1d2733; padding: 0 16px; }
  h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 16px; margin: 22px 0 6px; }
  .muted { color: #5b6875; } code { background: #eef1f4; padding: 1px 4px; border-radius: 3px; }
  #numbers { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 8px 0; }
  #numbers div { background: #f4f6f8; border-radius: 6px; padding: 6px 10px; }
  #numbers b { display: block; font-size: 19px; }
  svg { background: #fbfcfd; border: 1px solid #dfe4e8; border-radius: 6px; }
  .weight-line { fill: none; stroke: #2b6cb0; stroke-width: 2; } .weight-point { fill: #2b6cb0; }
  .workout-bar { fill: #38a169; } .axis { font-size: 11px; fill: #5b6875; }
  #status { margin: 6px 0; } input { font: inherit; width: 100%; box-sizing: border-box; }
</style>
</head>
<body>
<h1>Progress Tracking Service</h1>
<div class="muted">Running locally. API documentation you can try calls from: <a href="/docs">/docs</a>
  (OpenAPI document: <a href="/openapi.json">/openapi.json</a>);
  domain events: <code>/local/events</code> (with a token that has admin:progress).</div>

<h2>Progress of <code id="user"></code></h2>
<div id="status">Loading…</div>
<div id="numbers"></div>
<h2>Weight, last 30 days (kg)</h2>
<svg id="weight-chart" width="820" height="220" role="img" aria-label="Weight trend"></svg>
<h2>Workouts per week, last 12 weeks</h2>
<svg id="workout-chart" width="820" height="160" role="img" aria-label="Weekly workouts"></svg>

<h2>A token</h2>
<p id="token-note"></p>
<p>Every API call needs <code>Authorization: Bearer &lt;token&gt;</code>. Mint a development token (all four scopes,
  for dev-user-1) with <code>.venv/bin/python progress_tracking_app.py token</code> (see <code>--help</code> for
  <code>--user-id</code>, <code>--scope</code>, <code>--client</code>), or copy the one the app printed at start; on
  <a href="/docs">/docs</a> press <b>Authorize</b> and paste it.</p>
<label>Show another user's progress with a token of theirs (or a machine token):
  <input id="token-input" placeholder="paste an access token and press Enter"></label>

<script>
const config = __CONFIG__;
let token = config.token;
const svgNS = "http://www.w3.org/2000/svg";
const day = (d) => d.toISOString().slice(0, 10);

function el(parent, name, attributes, text) {
  const node = document.createElementNS(svgNS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  parent.appendChild(node);
  return node;
}

async function api(path) {
  const response = await fetch(path, {headers: {Authorization: "Bearer " + token}});
  const body = await response.json();
  if (!response.ok) throw new Error(response.status + " " + (body.code || "") + ": " + body.message);
  return body;
}

function drawWeights(series) {
  const svg = document.getElementById("weight-chart");
  svg.replaceChildren();
  const W = 820, H = 220, left = 44, right = 12, top = 12, bottom = 26;
  const points = series.map((bucket, i) => ({i, date: bucket.start, kg: bucket.average_weight_kg}))
    .filter((p) => p.kg !== null);
  const x = (i) => left + (i * (W - left - right)) / Math.max(series.length - 1, 1);
  el(svg, "text", {x: left, y: H - 8, class: "axis"}, series.length ? series[0].start : "");
  el(svg, "text", {x: W - right, y: H - 8, class: "axis", "text-anchor": "end"},
     series.length ? series[series.length - 1].start : "");
  if (!points.length) {
    el(svg, "text", {x: W / 2, y: H / 2, class: "axis", "text-anchor": "middle"}, "No weight logged in these days");
    return;
  }
  let low = Math.min(...points.map((p) => p.kg)), high = Math.max(...points.map((p) => p.kg));
  if (high - low < 1) { low -= 0.5; high += 0.5; }
  const y = (kg) => top + ((high - kg) * (H - top - bottom)) / (high - low);
  el(svg, "text", {x: 4, y: top + 10, class: "axis"}, high.toFixed(1));
  el(svg, "text", {x: 4, y: H - bottom, class: "axis"}, low.toFixed(1));
  el(svg, "polyline", {class: "weight-line", points: points.map((p) => x(p.i) + "," + y(p.kg)).join(" ")});
  for (const p of points) {
    el(el(svg, "circle", {class: "weight-point", cx: x(p.i), cy: y(p.kg), r: 4, "data-date": p.date}),
       "title", {}, p.date + ": " + p.kg + " kg");
  }
}

function drawWorkouts(series) {
  const svg = document.getElementById("workout-chart");
  svg.replaceChildren();
  const W = 820, H = 160, left = 44, bottom = 24, top = 12;
  const most = Math.max(1, ...series.map((b) => b.workouts));
  const slot = (W - left - 12) / Math.max(series.length, 1);
  series.forEach((bucket, i) => {
    const h = (bucket.workouts * (H - top - bottom)) / most;
    el(el(svg, "rect", {class: "workout-bar", x: left + i * slot + 3, y: H - bottom - h, width: slot - 6, height: h,
                        "data-week": bucket.start}), "title", {}, "week of " + bucket.start + ": " + bucket.workouts);
    if (i % 2 === 0) el(svg, "text", {x: left + i * slot + 3, y: H - 8, class: "axis"}, bucket.start.slice(5));
  });
  el(svg, "text", {x: 4, y: top + 10, class: "axis"}, String(most));
}

function showNumbers(summary) {
  const numbers = [
    ["Logs", summary.log_count], ["Latest weight", summary.latest_weight_kg ?? "–"],
    ["Change", summary.weight_change_kg ?? "–"], ["Average weight", summary.average_weight ?? "–"],
    ["Calories burned", summary.total_calories_burned ?? 0], ["Current streak (days)", summary.current_streak_days],
    ["Longest streak (days)", summary.longest_streak_days], ["Last log", summary.last_date ?? "–"],
  ];
  const box = document.getElementById("numbers");
  box.replaceChildren();
  for (const [label, value] of numbers) {
    const cell = document.createElement("div");
    cell.innerHTML = "<b></b><span class=muted></span>";
    cell.querySelector("b").textContent = value;
    cell.querySelector("span").textContent = label;
    box.appendChild(cell);
  }
}

async function load(user) {
  document.getElementById("user").textContent = user;
  const status = document.getElementById("status");
  if (!token) { status.textContent = "No token yet: paste one below."; return; }
  const today = new Date();
  const weeksFrom = new Date(today.getTime() - 11 * 7 * 86400000);
  const id = encodeURIComponent(user);
  try {
    const [summary, days, weeks] = await Promise.all([
      api("/api/progress/summary/" + id),
      api("/api/progress/series/" + id + "?bucket=day"),
      api("/api/progress/series/" + id + "?bucket=week&from=" + day(weeksFrom) + "&to=" + day(today)),
    ]);
    showNumbers(summary);
    drawWeights(days.series);
    drawWorkouts(weeks.series);
    status.textContent = summary.log_count ? "" :
      "No logs yet: POST one (see /docs, or the curl line the app printed at start) and reload.";
    document.body.dataset.loaded = "true";
  } catch (error) {
    status.textContent = "The API answered " + error.message;
    document.body.dataset.loaded = "error";
  }
}

document.getElementById("token-note").textContent = config.token
  ? "This page carries a read-only development token for " + config.user + ", minted when it loaded: the app is " +
    "running as its own development token issuer (no AUTH0_DOMAIN), so it may hand one out. With Auth0 configured " +
    "it carries none."
  : "The app is using an Auth0 tenant, so this page carries no token: get one from your tenant and paste it below.";
document.getElementById("token-input").addEventListener("change", (event) => {
  token = event.target.value.trim().replace(/^Bearer\\s+/i, "");
  const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  load(claims.sub && !claims.gty ? claims.sub : config.user);
});
load(config.user);
</script>
</body>
</html>
"""


def home_page(dev_token: str | None) -> tuple[int, dict[str, str], bytes]:
    """The page, with a read-only token for dev-user-1 only when the app is the development issuer."""
    config = json.dumps({"user": DEV_USER, "token": dev_token})
    # Inside <script>: "</" must not close the element.
    body = PAGE.replace("__CONFIG__", config.replace("</", "<\\/"))
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    return 200, headers, body.encode()
