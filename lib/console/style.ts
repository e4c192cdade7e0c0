/** The console's style sheet (served as a file: the policy allows no inline style). */
export const CONSOLE_CSS = `
:root { --fg: #1d2129; --muted: #6b7280; --line: #e5e7eb; --ok: #07a35a; --warn: #b45309; --bad: #c81e1e; --bg: #f7f8fa; --accent: #0b6bcb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1280px; margin: 0 auto; padding: 16px 20px 40px; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; margin-bottom: 12px; }
header h1 { font-size: 20px; margin: 0 auto 0 0; }
header .who { color: var(--muted); }
button { font: inherit; padding: 4px 10px; border: 1px solid #cbd5e1; background: #fff; border-radius: 4px; cursor: pointer; }
button:hover { border-color: var(--accent); }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { color: var(--bad); }
button.danger.primary { background: var(--bad); color: #fff; border-color: var(--bad); }
button[aria-pressed="true"] { background: var(--fg); color: #fff; }
input, select { font: inherit; padding: 4px 6px; border: 1px solid #cbd5e1; border-radius: 4px; background: #fff; }
.notice { padding: 8px 12px; border-radius: 4px; margin: 8px 0; background: #fff4e5; border: 1px solid #f5c27a; }
.notice.error { background: #fdecec; border-color: #f3a5a5; }
.notice.ok { background: #e9f8ef; border-color: #9fd9b6; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; margin: 12px 0; }
.totals { display: flex; flex-wrap: wrap; gap: 10px; }
.total { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.total .n { display: block; font-size: 22px; font-weight: 600; }
.total .l { color: var(--muted); font-size: 12px; }
.total.failing .n { color: var(--bad); }
.total.ready .n { color: var(--ok); }
.total.pending .n { color: var(--warn); }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 12px 0 8px; }
.controls .grow { flex: 1; }
.muted { color: var(--muted); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
h2 { font-size: 16px; margin: 0 0 10px; }
th { background: #f1f3f6; font-weight: 600; font-size: 12px; color: #374151; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.appid { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
td.task { white-space: nowrap; }
tr.app-first td { border-top: 2px solid #d1d5db; }
.state { display: inline-block; white-space: nowrap; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.state-ready { background: #e3f6ea; color: var(--ok); }
.state-pending { background: #fff1db; color: var(--warn); }
.state-failing { background: #fde2e2; color: var(--bad); }
.errcode { font-family: ui-monospace, monospace; font-weight: 600; color: var(--bad); margin-right: 6px; }
.error-text { word-break: break-word; }
.countdown { font-variant-numeric: tabular-nums; white-space: nowrap; }
.countdown.soon { color: var(--warn); }
.countdown.gone { color: var(--bad); }
.actions { white-space: nowrap; }
.actions button { margin: 0 4px 2px 0; padding: 2px 8px; font-size: 12px; }
.confirm { background: #fff7ed; }
form.register { display: grid; gap: 10px; }
.field { display: grid; gap: 2px; }
.field label { font-size: 12px; color: #374151; }
.field input, .field select { width: 100%; min-width: 0; }
.field-error { color: var(--bad); font-size: 12px; margin: 0; }
.task-row { display: grid; grid-template-columns: 190px 1fr 1fr 1fr auto; gap: 8px; align-items: start; }
.row-buttons { display: flex; gap: 8px; }
.token-form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.token-form input { min-width: 320px; }
footer { margin-top: 16px; color: var(--muted); font-size: 12px; }
`;
