// The page's words in English and 中文. Sentences from the API stay as the
// API wrote them (English); the page's own sentences follow the language.

export type Lang = 'en' | 'zh';

const en = {
  title: 'wechat-scheduler console',
  adminOnly: 'For administrators: this page acts on every registered WeChat app the token may reach.',
  langEn: 'English',
  langZh: '中文',
  tokenLabel: 'API token',
  tokenPlaceholder: 'paste an API token',
  tokenUse: 'Use token',
  tokenForget: 'Forget token',
  tokenNeeded: 'This server needs an API token. Type one in; it is kept in this browser tab only (sessionStorage).',
  whoProtected: 'Protected mode: no token needed from this machine',
  whoWrite: 'Token with write access',
  whoRead: 'Read-only token',
  whoScoped: ' (limited to some apps)',
  errUnauthorized: 'The server refused the token (401): {0} Type a valid API token.',
  errExpired:
    "The server no longer accepts this token (401): {0} It may have been removed from the server's configuration; type a current token.",
  errForbidden: 'Not allowed (403): {0} Ask for a token that may do this.',
  errProtected: 'Not allowed (403): {0}',
  errGone: 'The server does not answer (it may be stopped or restarting). Trying again every {0} s.',
  errApi: 'The server answered {0}: {1}',
  errBadAnswer: 'The server sent an answer this page does not understand (HTTP {0}).',
  apps: 'Apps',
  ready: 'ready',
  pending: 'pending',
  failing: 'failing',
  fetches: 'Fetches',
  failures: 'Failures',
  recent: 'last {0} min: {1} fetches, {2} failures',
  searchPlaceholder: 'appid prefix',
  search: 'Search by appid prefix',
  stateAll: 'all states',
  stateFilter: 'Filter by state',
  pageSize: 'per page',
  prev: '‹ Previous',
  next: 'Next ›',
  showing: '{0}–{1} of {2} apps',
  none: 'No app matches.',
  updated: 'Updated {0}; next update in {1} s',
  colApp: 'App',
  colTask: 'Task',
  colState: 'State',
  colExpires: 'Expires in',
  colNext: 'Next refresh',
  colError: 'Last error',
  colFetches: 'Fetches',
  colFailures: 'Failures',
  colOwner: 'Owner',
  colActions: 'Actions',
  expired: 'expired',
  noValue: '—',
  now: 'now',
  inTime: 'in {0}',
  agoTime: '{0} ago',
  refresh: 'Refresh',
  deleteTask: 'Delete task',
  deleteApp: 'Delete app',
  confirmTask: 'Delete task {0} of {1}? Its timers stop and its values are forgotten.',
  confirmApp: 'Delete app {0} and all its tasks? Its appsecret and values are forgotten.',
  confirmYes: 'Yes, delete',
  confirmNo: 'Cancel',
  refreshed: 'Task {0} of {1} refreshed.',
  deletedTask: 'Task {0} of {1} deleted.',
  deletedApp: 'App {0} deleted.',
  registerTitle: 'Register an app',
  appid: 'appid',
  appsecret: 'appsecret',
  taskType: 'Task type',
  sub: 'openid / authorizer_appid (types 2 and 4)',
  notify: 'notify URL (optional)',
  params: 'params: URL or JSON object (optional)',
  addTask: 'Add a task',
  removeTask: 'Remove',
  register: 'Register',
  registered: 'App {0} registered.',
  paramsNotJson: 'params must be an http(s) URL or a JSON object, e.g. {"refresh_token": "..."}.',
  owner: 'owner',
  unitH: 'h',
  unitM: 'm',
  unitS: 's',
};

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  title: 'wechat-scheduler 控制台',
  adminOnly: '仅供管理员使用：本页面可操作该 token 能访问的所有微信应用。',
  langEn: 'English',
  langZh: '中文',
  tokenLabel: 'API token',
  tokenPlaceholder: '粘贴 API token',
  tokenUse: '使用 token',
  tokenForget: '清除 token',
  tokenNeeded: '此服务器需要 API token。请输入；它只保存在当前浏览器标签页中（sessionStorage）。',
  whoProtected: '保护模式：本机访问无需 token',
  whoWrite: '可写 token',
  whoRead: '只读 token',
  whoScoped: '（仅限部分应用）',
  errUnauthorized: '服务器拒绝了该 token（401）：{0} 请输入有效的 API token。',
  errExpired: '服务器不再接受此 token（401）：{0} 它可能已从服务器配置中移除；请输入当前有效的 token。',
  errForbidden: '无权操作（403）：{0} 请使用有此权限的 token。',
  errProtected: '无权访问（403）：{0}',
  errGone: '服务器没有响应（可能已停止或正在重启），每 {0} 秒重试一次。',
  errApi: '服务器返回 {0}：{1}',
  errBadAnswer: '服务器的响应无法识别（HTTP {0}）。',
  apps: '应用',
  ready: '就绪',
  pending: '等待中',
  failing: '失败',
  fetches: '获取次数',
  failures: '失败次数',
  recent: '最近 {0} 分钟：获取 {1} 次，失败 {2} 次',
  searchPlaceholder: 'appid 前缀',
  search: '按 appid 前缀搜索',
  stateAll: '全部状态',
  stateFilter: '按状态筛选',
  pageSize: '每页',
  prev: '‹ 上一页',
  next: '下一页 ›',
  showing: '第 {0}–{1} 个，共 {2} 个应用',
  none: '没有匹配的应用。',
  updated: '更新于 {0}；{1} 秒后再次更新',
  colApp: '应用',
  colTask: '任务',
  colState: '状态',
  colExpires: '剩余有效期',
  colNext: '下次刷新',
  colError: '最近错误',
  colFetches: '获取',
  colFailures: '失败',
  colOwner: '所属实例',
  colActions: '操作',
  expired: '已过期',
  noValue: '—',
  now: '现在',
  inTime: '{0} 后',
  agoTime: '{0} 前',
  refresh: '刷新',
  deleteTask: '删除任务',
  deleteApp: '删除应用',
  confirmTask: '删除应用 {1} 的任务 {0}？其定时刷新将停止，已获取的值将被清除。',
  confirmApp: '删除应用 {0} 及其所有任务？其 appsecret 和已获取的值将被清除。',
  confirmYes: '确认删除',
  confirmNo: '取消',
  refreshed: '应用 {1} 的任务 {0} 已刷新。',
  deletedTask: '应用 {1} 的任务 {0} 已删除。',
  deletedApp: '应用 {0} 已删除。',
  registerTitle: '注册应用',
  appid: 'appid',
  appsecret: 'appsecret',
  taskType: '任务类型',
  sub: 'openid / authorizer_appid（类型 2 和 4）',
  notify: 'notify 回调地址（可选）',
  params: 'params：URL 或 JSON 对象（可选）',
  addTask: '添加任务',
  removeTask: '移除',
  register: '注册',
  registered: '应用 {0} 已注册。',
  paramsNotJson: 'params 必须是 http(s) URL 或 JSON 对象，例如 {"refresh_token": "..."}。',
  owner: '所属实例',
  unitH: '小时',
  unitM: '分',
  unitS: '秒',
};

const STRINGS: Record<Lang, Record<Key, string>> = { en, zh };
const LANG_KEY = 'wechat-scheduler.console.lang';

let current: Lang = initialLang();

function initialLang(): Lang {
  const chosen = localStorage.getItem(LANG_KEY);
  if (chosen === 'en' || chosen === 'zh') return chosen;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  localStorage.setItem(LANG_KEY, l);
}

/** The text for `key` in the current language, with {0}, {1}… filled in. */
export function t(key: Key, ...args: Array<string | number>): string {
  return STRINGS[current][key].replace(/\{(\d)\}/g, (_, i: string) => String(args[Number(i)] ?? ''));
}
