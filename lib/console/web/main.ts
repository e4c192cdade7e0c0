// The console page: reads the API every few seconds and draws what it
// says; with a write token, acts on it. Everything is built with
// textContent (see dom.ts); no inline script exists for the policy to allow.
import { AppsPage, call, anything, Failure, isAppsPage, isSession, Session, STATES, taskQuery, Totals } from './api.js';
import { button, el } from './dom.js';
import { clock } from './format.js';
import { Lang, lang, setLang, t } from './i18n.js';
import { registerForm } from './register-form.js';
import { Confirm, renderTable, taskLabel, tick } from './table.js';
import { adoptTokenFromHash, forgetToken, getToken, setToken } from './token.js';

/** Within the "at least every 5 s" an operator expects of a live view. */
const POLL_MS = 3000;
const RECENT_MS = 5 * 60_000;

type NoticeKind = 'error' | 'ok';
/** A notice says its sentence when drawn, so a language switch re-says it. */
interface Notice {
  say: () => string;
  kind: NoticeKind;
}

const state = {
  session: null as Session | null,
  page: null as AppsPage | null,
  prefix: '',
  filter: '',
  limit: 50,
  /** The `after` of every page before this one, so "previous" can go back. */
  cursors: [] as string[],
  confirm: null as Confirm | null,
  /** Why the data could not be read (server gone, token refused …). */
  problem: null as Notice | null,
  /** The outcome of the last action (registered, deleted, refused …). */
  outcome: null as Notice | null,
  needToken: false,
  /** The current token has been accepted at least once (a later 401 means it was revoked). */
  accepted: false,
  updatedAt: 0,
  nextAt: 0,
  history: [] as Array<{ at: number; fetch: number; fail: number }>,
};

const slots = {
  notices: el('div', { class: 'notices' }),
  token: el('div'),
  totals: el('div', { class: 'totals' }),
  table: el('div', { class: 'table-holder' }),
  status: el('span', { class: 'muted status-line' }),
  range: el('span', { class: 'muted range' }),
};
let timer: ReturnType<typeof setTimeout> | undefined;
let searchTimer: ReturnType<typeof setTimeout> | undefined;

const canWrite = () => state.session !== null && !state.session.read_only;

/** Every failure as a sentence in the reader's language, saying what to do. */
export function describe(f: Failure, wasAccepted = state.accepted): string {
  switch (f.kind) {
    case 'gone':
      return t('errGone', POLL_MS / 1000);
    case 'garbled':
      return t('errBadAnswer', f.status);
    case 'refused':
      if (f.status === 401) return wasAccepted ? t('errExpired', f.message) : t('errUnauthorized', f.message);
      if (f.status === 403) return state.session === null ? t('errProtected', f.message) : t('errForbidden', f.message);
      return t('errApi', f.status, f.message);
  }
}

function notice(n: Notice | null, cls: string): HTMLElement | null {
  return n
    ? el('p', {
        class: `notice ${n.kind} ${cls}`,
        text: n.say(),
        attrs: { role: n.kind === 'error' ? 'alert' : 'status' },
      })
    : null;
}

function renderNotices(): void {
  slots.notices.replaceChildren(
    ...[notice(state.problem, 'problem'), notice(state.outcome, 'outcome')].filter((n): n is HTMLElement => n !== null),
  );
}

function renderTokenForm(): void {
  if (!state.needToken) {
    slots.token.replaceChildren();
    return;
  }
  const input = el('input', {
    attrs: {
      type: 'password',
      name: 'token',
      autocomplete: 'off',
      placeholder: t('tokenPlaceholder'),
      'aria-label': t('tokenLabel'),
    },
  });
  const form = el(
    'form',
    {
      class: 'token-form card',
      on: {
        submit: (e) => {
          e.preventDefault();
          const v = input.value.trim();
          if (!v) return;
          setToken(v);
          state.accepted = false;
          void update();
        },
      },
    },
    el('span', { text: t('tokenNeeded') }),
    input,
    el('button', { class: 'primary', text: t('tokenUse'), attrs: { type: 'submit' } }),
  );
  slots.token.replaceChildren(form);
}

function total(n: number, label: string, cls: string): HTMLElement {
  return el(
    'div',
    { class: `total ${cls}`, attrs: { 'data-total': cls } },
    el('span', { class: 'n', text: String(n) }),
    el('span', { class: 'l', text: label }),
  );
}

function recentLine(x: Totals): string {
  const now = Date.now();
  state.history.push({ at: now, fetch: x.fetch_count, fail: x.fail_count });
  while (state.history.length > 1 && now - state.history[0]!.at > RECENT_MS) state.history.shift();
  const first = state.history[0]!;
  const minutes = Math.max(1, Math.round((now - first.at) / 60_000));
  return t('recent', minutes, Math.max(0, x.fetch_count - first.fetch), Math.max(0, x.fail_count - first.fail));
}

function renderData(): void {
  const s = state.session;
  if (!s || !state.page) {
    slots.totals.replaceChildren();
    slots.table.replaceChildren();
    slots.range.textContent = '';
    return;
  }
  const x = s.totals;
  slots.totals.replaceChildren(
    total(x.apps, t('apps'), 'apps'),
    ...STATES.map((st) => total(x.tasks[st] ?? 0, t(st), st)),
    total(x.fetch_count, t('fetches'), 'fetches'),
    total(x.fail_count, t('failures'), 'failures'),
    el('div', { class: 'muted recent', text: recentLine(x) }),
  );
  const first = state.cursors.length * state.limit + 1;
  const shown = state.page.apps.length;
  slots.range.textContent = shown ? t('showing', first, first + shown - 1, state.page.total) : '';
  slots.table.replaceChildren(
    renderTable(state.page, {
      canWrite: canWrite(),
      confirm: state.confirm,
      refresh: (appid, task) =>
        void act('POST', `task/${encodeURIComponent(appid)}/${task.type}/refresh${taskQuery(task)}`, () =>
          t('refreshed', taskLabel(task), appid),
        ),
      askDelete: (c) => {
        state.confirm = c;
        renderData();
      },
      confirmDelete: () => {
        const c = state.confirm;
        state.confirm = null;
        if (!c) return;
        const task = c.task;
        if (task)
          void act('DELETE', `task/${encodeURIComponent(c.appid)}/${task.type}${taskQuery(task)}`, () =>
            t('deletedTask', taskLabel(task), c.appid),
          );
        else void act('DELETE', `app/${encodeURIComponent(c.appid)}`, () => t('deletedApp', c.appid));
      },
      cancelDelete: () => {
        state.confirm = null;
        renderData();
      },
    }),
  );
}

/** A write, then a fresh read so the table shows what the API now reports. */
async function act(method: string, path: string, done: () => string): Promise<void> {
  const out = await call(method, path, getToken(), anything);
  const failure = out.ok ? null : out.failure;
  const wasAccepted = state.accepted;
  state.outcome = failure ? { say: () => describe(failure, wasAccepted), kind: 'error' } : { say: done, kind: 'ok' };
  renderNotices();
  await update();
}

function who(): string {
  const s = state.session;
  if (!s) return '';
  if (s.protected_mode) return t('whoProtected');
  return (s.read_only ? t('whoRead') : t('whoWrite')) + (s.scoped ? t('whoScoped') : '');
}

function restart(): void {
  state.cursors = [];
  state.confirm = null;
  void update();
}

function controls(): HTMLElement {
  const search = el('input', {
    class: 'search',
    attrs: {
      type: 'search',
      name: 'prefix',
      placeholder: t('searchPlaceholder'),
      'aria-label': t('search'),
      value: state.prefix,
    },
  });
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.prefix = search.value.trim();
      restart();
    }, 250);
  });
  const filter = el(
    'select',
    { class: 'state-filter', attrs: { name: 'state', 'aria-label': t('stateFilter') } },
    el('option', { text: t('stateAll'), attrs: { value: '' } }),
    ...STATES.map((st) => el('option', { text: t(st), attrs: { value: st } })),
  );
  filter.value = state.filter;
  filter.addEventListener('change', () => {
    state.filter = filter.value;
    restart();
  });
  const size = el(
    'select',
    { class: 'page-size', attrs: { name: 'limit', 'aria-label': t('pageSize') } },
    ...[25, 50, 100, 200].map((n) => el('option', { text: `${n} / ${t('pageSize')}`, attrs: { value: String(n) } })),
  );
  size.value = String(state.limit);
  size.addEventListener('change', () => {
    state.limit = Number(size.value);
    restart();
  });
  const prev = button(
    t('prev'),
    () => {
      state.cursors.pop();
      void update();
    },
    'prev-page',
  );
  const next = button(
    t('next'),
    () => {
      const n = state.page?.next;
      if (!n) return;
      state.cursors.push(n);
      void update();
    },
    'next-page',
  );
  return el(
    'div',
    { class: 'controls' },
    search,
    filter,
    size,
    prev,
    next,
    slots.range,
    el('span', { class: 'grow' }),
    slots.status,
  );
}

/** The whole page, in the current language (again after a switch or a change of token). */
function build(): void {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  const langButton = (l: Lang, label: string) => {
    const b = button(
      label,
      () => {
        setLang(l);
        build();
      },
      `lang lang-${l}`,
    );
    b.setAttribute('aria-pressed', String(lang() === l));
    return b;
  };
  const header = el(
    'header',
    {},
    el('h1', { text: t('title') }),
    el('span', { class: 'who', text: who() }),
    getToken()
      ? button(
          t('tokenForget'),
          () => {
            forgetToken();
            state.session = null;
            state.page = null;
            state.accepted = false;
            void update();
          },
          'forget-token',
        )
      : null,
    langButton('zh', t('langZh')),
    langButton('en', t('langEn')),
  );
  const main = document.getElementById('app')!;
  const form = canWrite()
    ? registerForm({
        token: getToken,
        describe,
        registered: (appid) => {
          state.outcome = { say: () => t('registered', appid), kind: 'ok' };
          renderNotices();
          void update();
        },
      })
    : null;
  main.replaceChildren(
    ...[
      header,
      slots.notices,
      slots.token,
      slots.totals,
      controls(),
      slots.table,
      form,
      el('footer', { text: t('adminOnly') }),
    ].filter((n): n is HTMLElement => n !== null),
  );
  renderNotices();
  renderTokenForm();
  renderData();
  everySecond();
}

function failed(f: Failure): void {
  const noToken = f.kind === 'refused' && f.status === 401 && !getToken();
  const wasAccepted = state.accepted;
  state.problem = { say: () => (noToken ? t('tokenNeeded') : describe(f, wasAccepted)), kind: 'error' };
  if (f.kind === 'refused' && f.status === 401) {
    state.needToken = true;
    state.accepted = false;
    state.session = null;
    state.page = null;
    build();
    return;
  }
  renderNotices();
}

function appsPath(): string {
  const q = new URLSearchParams({ limit: String(state.limit) });
  if (state.prefix) q.set('prefix', state.prefix);
  if (state.filter) q.set('state', state.filter);
  const after = state.cursors[state.cursors.length - 1];
  if (after) q.set('after', after);
  return `apps?${q.toString()}`;
}

/** One read of the session and the current page; schedules the next (unless a token is needed). */
async function update(): Promise<void> {
  clearTimeout(timer);
  const token = getToken();
  const s = await call('GET', 'console/session', token, isSession);
  const p = s.ok ? await call('GET', appsPath(), token, isAppsPage) : s;
  if (!p.ok) {
    failed(p.failure);
  } else if (s.ok) {
    const before = state.session;
    state.session = s.result;
    state.page = p.result;
    state.accepted = true;
    state.needToken = false;
    state.problem = null;
    state.updatedAt = Date.now();
    if (
      !before ||
      before.read_only !== s.result.read_only ||
      before.protected_mode !== s.result.protected_mode ||
      before.scoped !== s.result.scoped
    )
      build();
    else {
      renderNotices();
      renderTokenForm();
      renderData();
    }
  }
  if (state.needToken) return;
  state.nextAt = Date.now() + POLL_MS;
  timer = setTimeout(() => void update(), POLL_MS);
}

function everySecond(): void {
  tick();
  if (state.updatedAt && !state.needToken) {
    slots.status.textContent = t(
      'updated',
      clock(state.updatedAt),
      Math.max(0, Math.ceil((state.nextAt - Date.now()) / 1000)),
    );
  } else slots.status.textContent = '';
}

adoptTokenFromHash();
build();
setInterval(everySecond, 1000);
void update();
