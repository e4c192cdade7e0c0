// The registration form. The server checks everything; its error sentence
// is put next to the field it names (appid, appsecret, tasks[i].notify …).
import { anything, call, Failure } from './api.js';
import { button, el } from './dom.js';
import { t } from './i18n.js';

const TYPE_NAMES = [
  'access_token',
  'jsapi_ticket',
  'oauth2 access_token',
  'component_access_token',
  'authorizer_access_token',
];

export interface FormHooks {
  token(): string | null;
  /** The sentence for a failure that names no field (401, server gone, …). */
  describe(f: Failure): string;
  registered(appid: string): void;
}

interface TaskRow {
  node: HTMLElement;
  type: HTMLSelectElement;
  sub: HTMLInputElement;
  notify: HTMLInputElement;
  params: HTMLInputElement;
}

/** Where an API sentence belongs: "appid", "appsecret", "tasks", "tasks.1.notify", … or "form". */
export function fieldOf(message: string): string {
  const top = /^(appid|appsecret) /.exec(message);
  if (top) return top[1] ?? 'form';
  const task = /^tasks\[(\d+)\](?:\.(type|notify|params|openid|authorizer_appid)\b)?/.exec(message);
  if (task) {
    const f = task[2] === 'openid' || task[2] === 'authorizer_appid' ? 'sub' : (task[2] ?? 'type');
    return `tasks.${task[1] ?? '0'}.${f}`;
  }
  return /^tasks /.test(message) ? 'tasks' : 'form';
}

function field(label: string, input: HTMLElement, key: string): HTMLElement {
  const id = `f-${key.replace(/\./g, '-')}`;
  input.id = id;
  return el(
    'div',
    { class: 'field' },
    el('label', { text: label, attrs: { for: id } }),
    input,
    el('p', { class: 'field-error', attrs: { 'data-field': key, role: 'alert' } }),
  );
}

export function registerForm(hooks: FormHooks): HTMLElement {
  const appid = el('input', { attrs: { name: 'appid', autocomplete: 'off', spellcheck: 'false', maxlength: '64' } });
  const secret = el('input', { attrs: { name: 'appsecret', type: 'password', autocomplete: 'new-password' } });
  const rows: TaskRow[] = [];
  const taskList = el('div', { class: 'tasks' });
  const formError = el('p', { class: 'field-error', attrs: { 'data-field': 'form', role: 'alert' } });
  const tasksError = el('p', { class: 'field-error', attrs: { 'data-field': 'tasks', role: 'alert' } });

  const clearErrors = () => form.querySelectorAll('.field-error').forEach((p) => (p.textContent = ''));
  const show = (key: string, message: string) => {
    const target =
      [...form.querySelectorAll<HTMLElement>('.field-error')].find((p) => p.dataset.field === key) ?? formError;
    target.textContent = message;
  };

  const renumber = () =>
    rows.forEach((r, i) => {
      r.node.querySelectorAll<HTMLElement>('.field-error').forEach((p) => {
        p.dataset.field = (p.dataset.field ?? '').replace(/^tasks\.\d+\./, `tasks.${i}.`);
      });
    });

  const addRow = () => {
    const i = rows.length;
    const type = el(
      'select',
      { attrs: { name: 'type' } },
      ...TYPE_NAMES.map((n, v) => el('option', { text: `${v} ${n}`, attrs: { value: String(v) } })),
    );
    const sub = el('input', { attrs: { name: 'sub', autocomplete: 'off' } });
    const notify = el('input', { attrs: { name: 'notify', autocomplete: 'off', placeholder: 'https://…' } });
    const params = el('input', {
      attrs: { name: 'params', autocomplete: 'off', placeholder: 'https://… {"refresh_token":"…"}' },
    });
    const node = el(
      'div',
      { class: 'task-row' },
      field(t('taskType'), type, `tasks.${i}.type`),
      field(t('sub'), sub, `tasks.${i}.sub`),
      field(t('notify'), notify, `tasks.${i}.notify`),
      field(t('params'), params, `tasks.${i}.params`),
    );
    const row: TaskRow = { node, type, sub, notify, params };
    if (i > 0) {
      node.append(
        button(t('removeTask'), () => {
          rows.splice(rows.indexOf(row), 1);
          node.remove();
          renumber();
        }),
      );
    }
    rows.push(row);
    taskList.append(node);
  };

  const submit = async () => {
    clearErrors();
    const tasks: Array<Record<string, unknown>> = [];
    for (const [i, r] of rows.entries()) {
      const type = Number(r.type.value);
      const task: Record<string, unknown> = { type };
      const sub = r.sub.value.trim();
      if (sub && type === 2) task.openid = sub;
      if (sub && type === 4) task.authorizer_appid = sub;
      if (r.notify.value.trim()) task.notify = r.notify.value.trim();
      const p = r.params.value.trim();
      if (p.startsWith('{')) {
        try {
          task.params = JSON.parse(p) as unknown;
        } catch {
          show(`tasks.${i}.params`, t('paramsNotJson'));
          return;
        }
      } else if (p) task.params = p;
      tasks.push(task);
    }
    const body = { appid: appid.value.trim(), appsecret: secret.value, tasks };
    const out = await call('POST', 'registe', hooks.token(), anything, body);
    if (out.ok) {
      form.reset();
      hooks.registered(body.appid);
      return;
    }
    const f = out.failure;
    if (f.kind === 'refused' && f.status === 400) show(fieldOf(f.message), f.message);
    else formError.textContent = hooks.describe(f);
  };

  const form = el(
    'form',
    {
      class: 'register',
      attrs: { novalidate: '' },
      on: {
        submit: (e) => {
          e.preventDefault();
          void submit();
        },
      },
    },
    el('div', { class: 'task-row' }, field(t('appid'), appid, 'appid'), field(t('appsecret'), secret, 'appsecret')),
    taskList,
    tasksError,
    el(
      'div',
      { class: 'row-buttons' },
      button(t('addTask'), addRow),
      el('button', { class: 'primary', text: t('register'), attrs: { type: 'submit', 'data-action': 'register' } }),
    ),
    formError,
  );
  addRow();
  return el('section', { class: 'card write' }, el('h2', { text: t('registerTitle') }), form);
}
