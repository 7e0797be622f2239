/**
 * The dashboard's whole stylesheet, inlined by the layout (the Worker serves
 * everything; no CDN, no build step). Outcome colours are defined once here and
 * used by badges, counts and chart segments alike.
 */
export const DASHBOARD_CSS = `
:root {
  --bg: #f3f5f9; --surface: #fff; --border: #e2e7ef; --border-strong: #cfd6e2;
  --text: #0f172a; --muted: #64748b; --faint: #94a3b8;
  --accent: #4338ca; --accent-soft: #eef0ff;
  --delivered: #15803d; --delivered-soft: #e7f6ec; --delivered-bar: #22c55e;
  --dropped: #64748b; --dropped-soft: #eef1f5; --dropped-bar: #a5b1c2;
  --retrying: #b45309; --retrying-soft: #fdf3e1; --retrying-bar: #f59e0b;
  --failed: #b91c1c; --failed-soft: #fdeaea; --failed-bar: #ef4444;
  --paused: #6d28d9; --paused-soft: #f1ebfe; --paused-bar: #8b5cf6;
  --radius: 12px; --shadow: 0 1px 2px rgba(15, 23, 42, .05), 0 1px 8px rgba(15, 23, 42, .04);
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: var(--mono); font-size: 12px; }
h1 { font-size: 22px; margin: 0 0 2px; letter-spacing: -.01em; }
h2 { font-size: 16px; margin: 0; }
h3 { font-size: 11px; margin: 0 0 4px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.muted { color: var(--muted); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }

/* Top bar */
.topbar {
  position: sticky; top: 0; z-index: 10; display: flex; align-items: center; gap: 28px;
  height: 56px; padding: 0 32px; background: #0f172a; color: #e2e8f0;
}
.brand { display: flex; align-items: center; gap: 10px; font-weight: 650; color: #fff; white-space: nowrap; }
.brand svg { display: block; }
.topbar nav { display: flex; gap: 4px; flex: 1; }
.topbar nav a { color: #cbd5e1; padding: 6px 12px; border-radius: 8px; font-weight: 500; }
.topbar nav a:hover { background: rgba(255, 255, 255, .08); text-decoration: none; color: #fff; }
.topbar nav a.active { background: rgba(255, 255, 255, .12); color: #fff; }
.live { display: flex; align-items: center; gap: 8px; font-size: 12px; color: #94a3b8; white-space: nowrap; }
.live::before { content: ''; width: 8px; height: 8px; border-radius: 50%; background: #22c55e; box-shadow: 0 0 0 3px rgba(34, 197, 94, .2); }
.live[data-state='stale']::before { background: #f59e0b; box-shadow: 0 0 0 3px rgba(245, 158, 11, .2); }
.topbar form { margin: 0; }
.topbar .btn-ghost { color: #cbd5e1; border-color: #334155; background: transparent; }
.topbar .btn-ghost:hover { color: #fff; border-color: #475569; }

main { max-width: 1440px; margin: 0 auto; padding: 20px 32px 48px; }
.section-head { display: flex; align-items: flex-end; justify-content: space-between; gap: 16px; margin-bottom: 14px; flex-wrap: wrap; }
.section-head p { margin: 2px 0 0; }

/* Buttons and form fields */
.btn {
  display: inline-flex; align-items: center; justify-content: center; gap: 6px; height: 34px; padding: 0 14px;
  border: 1px solid var(--accent); border-radius: 8px; background: var(--accent); color: #fff;
  font: inherit; font-weight: 550; cursor: pointer; white-space: nowrap;
}
.btn:hover { filter: brightness(1.1); text-decoration: none; }
.btn:focus-visible, input:focus-visible, select:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.btn-ghost { background: var(--surface); color: var(--text); border-color: var(--border-strong); }
.btn-small { height: 28px; padding: 0 10px; font-size: 12px; }
.btn-replay { background: var(--surface); color: var(--failed); border-color: #f1b5b5; }
.btn-replay:hover { background: var(--failed-soft); filter: none; }
input[type='search'], input[type='password'], select {
  height: 34px; padding: 0 10px; border: 1px solid var(--border-strong); border-radius: 8px;
  background: var(--surface); color: var(--text); font: inherit;
}
input[type='search'] { width: 300px; max-width: 100%; }

/* Window switch */
.segmented { display: inline-flex; padding: 3px; border-radius: 10px; background: #e6eaf1; }
.segmented a { padding: 5px 12px; border-radius: 8px; color: var(--muted); font-weight: 550; font-size: 13px; }
.segmented a:hover { text-decoration: none; color: var(--text); }
.segmented a.active { background: var(--surface); color: var(--text); box-shadow: var(--shadow); }

/* Headline totals */
.totals { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin-bottom: 14px; }
.total {
  display: grid; grid-template-columns: 1fr auto; align-items: baseline; gap: 0 12px; padding: 12px 18px;
  border: 1px solid var(--border); border-radius: var(--radius);
  background: var(--surface); box-shadow: var(--shadow); color: var(--text); border-left-width: 4px;
}
.total:hover { text-decoration: none; border-color: var(--border-strong); }
.total-label { grid-column: 1 / -1; font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); font-weight: 600; }
.total-value { font-size: 26px; font-weight: 700; letter-spacing: -.02em; font-variant-numeric: tabular-nums; }
.total-share { font-size: 12px; color: var(--muted); }
.total-delivered { border-left-color: var(--delivered-bar); }
.total-dropped { border-left-color: var(--dropped-bar); }
.total-retrying { border-left-color: var(--retrying-bar); }
.total-failed { border-left-color: var(--failed-bar); }
.total-paused { border-left-color: var(--paused-bar); }
.total-failed .total-value { color: var(--failed); }

/* Destination cards */
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(300px, 100%), 1fr)); gap: 14px; }
.card, .panel {
  background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow);
}
/* A size container: the count tiles pick their columns from the card's width, not the window's. */
.card { display: flex; flex-direction: column; gap: 10px; padding: 14px 16px; min-width: 0; container-type: inline-size; }
.card-head { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.pill {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11px; font-weight: 600;
  background: var(--dropped-soft); color: var(--muted); white-space: nowrap;
}
.pill + .pill { margin-left: 6px; }
.pill-enabled, .pill-ok { background: var(--delivered-soft); color: var(--delivered); }
.pill-warn { background: var(--retrying-soft); color: var(--retrying); }
.pill-paused { background: var(--paused-soft); color: var(--paused); }
.gate { display: flex; flex-direction: column; gap: 4px; margin-top: 6px; }
.gate p { margin: 0; font-size: 12px; }
/*
 * Four tiles in a row when the card has room for their labels, two by two when
 * it does not. A tile never shrinks below its label or number (flex items keep
 * their min-content width): a count too large for the row wraps the row instead
 * of being cut.
 */
.counts { display: flex; flex-wrap: wrap; gap: 5px; }
.count {
  display: flex; flex-direction: column-reverse; flex: 1 1 calc((100% - 15px) / 4);
  padding: 6px 8px; border-radius: 8px; color: var(--text);
}
@container (max-width: 340px) { .count { flex-basis: calc((100% - 5px) / 2); } }
.count:hover { text-decoration: none; filter: brightness(.97); }
.count-label { font-size: 11px; font-weight: 600; white-space: nowrap; }
.count-value { font-size: 20px; line-height: 1.2; font-weight: 700; font-variant-numeric: tabular-nums; }
.count-delivered { background: var(--delivered-soft); color: var(--delivered); }
.count-dropped { background: var(--dropped-soft); color: var(--dropped); }
.count-retrying { background: var(--retrying-soft); color: var(--retrying); }
.count-failed { background: var(--failed-soft); color: var(--failed); }
.count.zero { background: #f7f8fa; color: var(--faint); }

/* Chart */
.chart { margin: 0; }
.chart svg { display: block; width: 100%; height: 56px; }
.chart figcaption { display: flex; justify-content: space-between; font-size: 11px; color: var(--faint); margin-top: 4px; }
.chart-base { stroke: var(--border-strong); stroke-width: 1; }
.bar-hit { fill: transparent; }
.bar-hit:hover { fill: rgba(67, 56, 202, .06); }
.seg-delivered { fill: var(--delivered-bar); }
.seg-dropped { fill: var(--dropped-bar); }
.seg-retrying { fill: var(--retrying-bar); }
.seg-failed { fill: var(--failed-bar); }
.seg-paused { fill: var(--paused-bar); }

/* Drop and failure reasons */
.reasons ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 3px; }
.reasons li { display: flex; justify-content: space-between; gap: 8px; font-size: 12px; }
.reasons code { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--text); }
.reasons li span { font-variant-numeric: tabular-nums; color: var(--muted); font-weight: 600; }
.reasons-failed h3 { color: var(--failed); }
.reasons .more { color: var(--faint); }

/* Panels and tables */
.panel { padding: 16px 20px; margin-top: 16px; }
.search { display: flex; gap: 8px; flex-wrap: wrap; }
/* Positioned, so the visually-hidden header scrolls with the table instead of widening the page. */
.table-wrap { overflow-x: auto; position: relative; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th {
  text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  font-weight: 600; padding: 8px 10px; border-bottom: 1px solid var(--border); white-space: nowrap;
}
td { padding: 9px 10px; border-bottom: 1px solid #eef1f5; vertical-align: top; }
tbody tr:hover { background: #f8fafc; }
tbody tr.row-failed { background: #fffafa; }
tbody tr.row-failed:hover { background: #fff3f3; }
td.when { white-space: nowrap; color: var(--muted); font-variant-numeric: tabular-nums; }
td.event { min-width: 240px; }
td.event .event-name { font-weight: 600; margin-left: 6px; }
td.event .id { display: inline-block; margin-top: 2px; color: var(--muted); }
td.event .source { font-size: 12px; }
td.user { max-width: 180px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.destination { font-weight: 600; white-space: nowrap; }
td.outcome { min-width: 150px; }
td.outcome .reason, td.response .reason { display: block; margin-top: 3px; color: var(--muted); }
td.outcome .next-try { display: block; font-size: 12px; }
td.attempts { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.response { max-width: 360px; }
td.response .summary {
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden;
  margin-top: 3px; color: var(--muted); font-size: 12px; word-break: break-word;
}
td.action { text-align: right; white-space: nowrap; }
.replay-form { margin: 0; }
.type {
  display: inline-block; padding: 0 6px; border-radius: 5px; font-size: 11px; font-weight: 600;
  background: var(--accent-soft); color: var(--accent); font-family: var(--mono);
}
.badge {
  display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 650;
  background: var(--dropped-soft); color: var(--dropped);
}
.status-delivered { background: var(--delivered-soft); color: var(--delivered); }
.status-retrying, .status-pending { background: var(--retrying-soft); color: var(--retrying); }
.status-failed { background: var(--failed-soft); color: var(--failed); }
.status-paused { background: var(--paused-soft); color: var(--paused); }
.http { font-family: var(--mono); font-size: 12px; font-weight: 600; }
.http-2xx { color: var(--delivered); }
.http-4xx, .http-5xx { color: var(--failed); }
.pager { display: flex; justify-content: space-between; margin-top: 12px; font-weight: 550; }
.empty { padding: 28px; text-align: center; color: var(--muted); background: var(--surface); border: 1px dashed var(--border-strong); border-radius: var(--radius); margin: 0; }
.notice { margin: 0 0 12px; padding: 10px 14px; border-radius: 8px; font-weight: 500; }
.notice-ok { background: var(--delivered-soft); color: var(--delivered); }
.notice-warn { background: var(--retrying-soft); color: var(--retrying); }

/* Config page */
.source { padding: 0; overflow: hidden; }
.source-head { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 32px; padding: 16px 20px; border-bottom: 1px solid var(--border); }
.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 0; }
.facts dt, .settings dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); font-weight: 600; }
.facts dd { margin: 2px 0 0; }
.config-table td, .config-table th { padding-left: 20px; }
.settings { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0; }
.settings div { display: contents; }
.settings dt { text-transform: none; letter-spacing: 0; font-family: var(--mono); font-size: 12px; font-weight: 500; }
.settings dd { margin: 0; overflow-wrap: anywhere; }
.rules-edit { margin-top: 8px; }
.rules-edit summary { cursor: pointer; color: var(--muted); font-size: 12px; }
.rules-edit form { display: grid; gap: 6px; margin-top: 6px; }
.rules-edit textarea { width: 100%; min-width: 16rem; box-sizing: border-box; font-family: var(--mono); font-size: 12px; }
.rule-issues { margin: 0; padding-left: 18px; color: var(--retrying); font-size: 12px; }
.endpoint { overflow-wrap: anywhere; }
.redacted {
  display: inline-block; padding: 0 7px; border-radius: 5px; background: repeating-linear-gradient(135deg, #eef1f5 0 6px, #e4e8ee 6px 12px);
  color: var(--muted); font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .05em;
}
.raw summary { cursor: pointer; font-weight: 600; }
.raw pre { margin: 12px 0 0; padding: 14px; border-radius: 8px; background: #0f172a; color: #e2e8f0; font: 12px/1.5 var(--mono); overflow: auto; }

/* Test console */
.test-link { display: block; margin-top: 4px; font-size: 12px; font-weight: 500; }
.sample-form { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
.paste-form { display: grid; justify-items: start; gap: 8px; margin-top: 10px; }
.paste-form textarea { width: 100%; box-sizing: border-box; font-family: var(--mono); font-size: 12px; }
.test-result h2 { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.exchange h3 { margin: 0 0 10px; font-size: 13px; text-transform: none; letter-spacing: 0; color: var(--text); overflow-wrap: anywhere; }
.exchange h4 { margin: 0 0 8px; display: flex; align-items: center; gap: 8px; }
.exchange-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 320px), 1fr)); gap: 16px; }
.exchange-grid section { min-width: 0; }
.exchange pre { margin: 8px 0 0; padding: 12px; border-radius: 8px; background: #0f172a; color: #e2e8f0; font: 12px/1.5 var(--mono); overflow: auto; max-height: 420px; }

/* Login */
.login-body { display: grid; place-items: center; min-height: 100vh; background: radial-gradient(circle at 30% 20%, #1e293b, #0f172a 60%); }
.login { width: min(380px, calc(100vw - 32px)); padding: 32px; border-radius: 16px; background: var(--surface); box-shadow: 0 20px 50px rgba(0, 0, 0, .35); }
.login .brand { color: var(--text); margin-bottom: 20px; font-size: 16px; }
.login h1 { font-size: 20px; }
.login p { color: var(--muted); margin: 4px 0 20px; }
.login label { display: block; font-weight: 600; margin-bottom: 6px; }
.login input { width: 100%; margin-bottom: 14px; }
.login .btn { width: 100%; height: 38px; }
.login .error { margin: 0 0 14px; padding: 8px 12px; border-radius: 8px; background: var(--failed-soft); color: var(--failed); font-weight: 500; }
.login .hint { font-size: 12px; margin: 16px 0 0; }

/*
 * Narrow windows (phones): the brand and Log out on the first line of the top
 * bar, the links under them (wrapping when they do not fit on one line), the
 * live stamp after the links (on a line of its own when they leave no room);
 * totals go two by two.
 */
@media (max-width: 720px) {
  .topbar { flex-wrap: wrap; height: auto; gap: 6px 16px; padding: 10px 16px; }
  .topbar form { margin-left: auto; }
  .topbar nav { order: 1; flex: 1 1 100%; flex-wrap: wrap; }
  .topbar nav a { padding: 6px 10px; }
  .live { order: 2; margin-left: auto; }
  main { padding: 16px 12px 32px; }
  .totals { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; }
  .total { padding: 10px 14px; }
  .panel { padding: 14px 12px; }
  .search input[type='search'] { flex: 1 1 100%; width: auto; }
}
`
