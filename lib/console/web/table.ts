// The table of apps and their tasks. Built fresh on every update; the
// countdowns in it are then moved on every second by tick().
import { AppsPage, AppStatus, serverNow, TaskStatus } from './api.js';
import { button, el } from './dom.js';
import { duration, relative, splitError } from './format.js';
import { t } from './i18n.js';

/** A delete waiting for the user's yes: an app, or one task of it. */
export interface Confirm {
  appid: string;
  task: TaskStatus | null;
}

export interface TableActions {
  canWrite: boolean;
  confirm: Confirm | null;
  refresh(appid: string, task: TaskStatus): void;
  askDelete(c: Confirm): void;
  confirmDelete(): void;
  cancelDelete(): void;
}

/** A cell whose text follows the clock: time left before expiry, or time to the next refresh. */
interface Ticker {
  node: HTMLElement;
  at: number;
  kind: 'expires' | 'next';
}

let tickers: Ticker[] = [];

export function tick(): void {
  const now = serverNow();
  for (const k of tickers) {
    if (k.kind === 'next') {
      k.node.textContent = relative(k.at, now);
      continue;
    }
    const left = k.at - now;
    k.node.textContent = left > 0 ? duration(left) : t('expired');
    k.node.className = `countdown${left <= 0 ? ' gone' : left < 300_000 ? ' soon' : ''}`;
  }
}

export const taskLabel = (task: TaskStatus): string => {
  const sub = task.authorizer_appid ?? task.openid;
  return `${task.type} ${task.name}${sub ? ` · ${sub}` : ''}`;
};

const sameTask = (a: TaskStatus, b: TaskStatus) =>
  a.type === b.type && a.authorizer_appid === b.authorizer_appid && a.openid === b.openid;

function timeCell(iso: string | null, kind: Ticker['kind']): HTMLTableCellElement {
  const at = iso === null ? NaN : Date.parse(iso);
  if (Number.isNaN(at)) return el('td', { class: 'muted', text: t('noValue') });
  const node = el('span', { class: 'countdown' });
  tickers.push({ node, at, kind });
  return el('td', {}, node);
}

function errorCell(e: string | null): HTMLTableCellElement {
  if (!e) return el('td', { class: 'error muted', text: t('noValue') });
  const { errcode, text } = splitError(e);
  return el(
    'td',
    { class: 'error' },
    errcode === null ? null : el('span', { class: 'errcode', text: `errcode ${errcode}` }),
    el('span', { class: 'error-text', text }),
  );
}

function confirmRow(c: Confirm, columns: number, a: TableActions): HTMLTableRowElement {
  const sentence = c.task ? t('confirmTask', taskLabel(c.task), c.appid) : t('confirmApp', c.appid);
  return el(
    'tr',
    { class: 'confirm' },
    el(
      'td',
      { attrs: { colspan: String(columns) } },
      el('span', { text: `${sentence} ` }),
      button(t('confirmYes'), () => a.confirmDelete(), 'danger primary confirm-yes'),
      button(t('confirmNo'), () => a.cancelDelete(), 'confirm-no'),
    ),
  );
}

function appRows(app: AppStatus, showOwner: boolean, columns: number, a: TableActions): HTMLTableRowElement[] {
  const rows: HTMLTableRowElement[] = [];
  app.tasks.forEach((task, i) => {
    const row = el('tr', {
      class: i === 0 ? 'app-first' : '',
      attrs: { 'data-appid': app.appid, 'data-type': String(task.type) },
    });
    if (i === 0) {
      row.append(el('td', { class: 'appid', text: app.appid, attrs: { rowspan: String(app.tasks.length) } }));
    }
    row.append(
      el('td', { class: 'task', text: taskLabel(task) }),
      el('td', {}, el('span', { class: `state state-${task.state}`, text: t(task.state) })),
      timeCell(task.expires_at, 'expires'),
      timeCell(task.next_refresh_at, 'next'),
      errorCell(task.last_error),
      el('td', { class: 'num fetches', text: String(task.fetch_count) }),
      el('td', { class: 'num failures', text: String(task.fail_count) }),
    );
    if (showOwner) row.append(el('td', { class: 'owner', text: task.owner ?? app.owner ?? t('noValue') }));
    if (a.canWrite) {
      row.append(
        el(
          'td',
          { class: 'actions' },
          button(t('refresh'), () => a.refresh(app.appid, task), 'write refresh'),
          button(t('deleteTask'), () => a.askDelete({ appid: app.appid, task }), 'write danger delete-task'),
          i === 0
            ? button(t('deleteApp'), () => a.askDelete({ appid: app.appid, task: null }), 'write danger delete-app')
            : null,
        ),
      );
    }
    rows.push(row);
    const c = a.confirm;
    if (c && c.appid === app.appid && (c.task ? sameTask(c.task, task) : i === app.tasks.length - 1))
      rows.push(confirmRow(c, columns, a));
  });
  return rows;
}

export function renderTable(page: AppsPage, a: TableActions): HTMLElement {
  tickers = [];
  if (page.apps.length === 0) return el('p', { class: 'card muted none', text: t('none') });
  const showOwner = page.apps.some((app) => app.owner !== undefined || app.tasks.some((x) => x.owner !== undefined));
  const heads = [
    'colApp',
    'colTask',
    'colState',
    'colExpires',
    'colNext',
    'colError',
    'colFetches',
    'colFailures',
  ] as const;
  const head = el('tr', {}, ...heads.map((k) => el('th', { text: t(k) })));
  if (showOwner) head.append(el('th', { text: t('colOwner') }));
  if (a.canWrite) head.append(el('th', { text: t('colActions') }));
  const columns = head.children.length;
  const body = el('tbody');
  for (const app of page.apps) body.append(...appRows(app, showOwner, columns, a));
  const table = el('table', { class: 'apps' }, el('thead', {}, head), body);
  tick();
  return table;
}
