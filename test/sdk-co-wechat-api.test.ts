// A real third-party SDK against the real server: co-wechat-api, configured
// by the recipe of docs/clients.md (the code block is read from the doc and
// run as it is), pointed at the WeChat simulator, taking its access_token and
// jsapi_ticket from the server and sending WeChat's 40001 to the refresh route.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseProm, sum } from './helpers/prom.js';
import { RunningServer, startServer, stopAll, tempDir } from './helpers/server.js';
import { Sim, startSim } from './helpers/sim.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'co-wechat-api-test';
const APPID = 'wxcoapi';

interface Ticket {
  ticket: string;
  expireTime: number;
}
interface JsConfig {
  appId: string;
  timestamp: string;
  nonceStr: string;
  signature: string;
  jsApiList: string[];
}
interface CoWechatApi {
  prefix: string;
  getTicket(type?: string): Promise<Ticket>;
  getJsConfig(param: { url: string; jsApiList: string[]; debug?: boolean }): Promise<JsConfig>;
}

let sim: Sim;
let srv: RunningServer;
let api: CoWechatApi;

/** The recipe: the ```js block of docs/clients.md that starts with "// wechat-api.mjs". */
function recipe(): string {
  const doc = readFileSync(join(ROOT, 'docs/clients.md'), 'utf8');
  const m = /```js\n(\/\/ wechat-api\.mjs[\s\S]*?)```/.exec(doc);
  if (!m?.[1]) throw new Error('docs/clients.md has no co-wechat-api recipe');
  return m[1];
}

test.before(async () => {
  sim = await startSim();
  srv = await startServer({ wechatApi: sim.url, args: ['--token', TOKEN], token: TOKEN });
  // A business system's directory: the recipe file, with co-wechat-api and this package installed.
  const biz = tempDir('ws-biz-');
  mkdirSync(join(biz, 'node_modules'));
  symlinkSync(join(ROOT, 'node_modules/co-wechat-api'), join(biz, 'node_modules/co-wechat-api'));
  symlinkSync(ROOT, join(biz, 'node_modules/wechat-scheduler'));
  writeFileSync(join(biz, 'wechat-api.mjs'), recipe());
  process.env.WECHAT_SCHEDULER_URL = srv.url;
  process.env.WECHAT_SCHEDULER_TOKEN = TOKEN;
  const mod = (await import(pathToFileURL(join(biz, 'wechat-api.mjs')).href)) as {
    wechatApi(appid: string): CoWechatApi;
  };
  api = mod.wechatApi(APPID);
  // co-wechat-api builds every URL from this prefix: point it at the simulator.
  api.prefix = `${sim.url}/cgi-bin/`;
  await srv.api.register({ appid: APPID, appsecret: 'secret-held-by-the-server', tasks: [{ type: 0 }, { type: 1 }] });
  await srv.api.awaitValue(APPID, 1);
});
test.after(async () => {
  await stopAll();
  await sim.close();
});

const calls = async () => await sim.calls(APPID);
async function refreshRequests(): Promise<number> {
  return sum(parseProm((await srv.api.get('/metrics')).text), 'wechat_scheduler_http_requests_total', {
    route: '/task/:appid/:type/refresh',
  });
}

test('getTicket() calls WeChat with the token the server holds, and no token is fetched for it', async () => {
  const before = await calls();
  const ticket = await api.getTicket();
  const after = await calls();
  assert.ok(ticket.ticket.startsWith('TICKET_'), ticket.ticket);
  assert.ok(await sim.valid(ticket.ticket), 'a current ticket at WeChat');
  assert.is(after.ticket - before.ticket, 1, 'one getticket call');
  assert.is(after.token - before.token, 0, 'no /cgi-bin/token call: the token came from the server');
});

test("getJsConfig() signs with the server's jsapi_ticket and calls WeChat not at all", async () => {
  const before = await calls();
  const url = 'https://biz.example.com/share?id=7';
  const config = await api.getJsConfig({ url, jsApiList: ['updateAppMessageShareData'] });
  assert.equal(await calls(), before, 'no WeChat call');
  const ticket = await srv.api.value(APPID, 1);
  const expected = createHash('sha1')
    .update(`jsapi_ticket=${ticket}&noncestr=${config.nonceStr}&timestamp=${config.timestamp}&url=${url}`)
    .digest('hex');
  assert.is(config.signature, expected);
  assert.is(config.appId, APPID);
  assert.equal(config.jsApiList, ['updateAppMessageShareData']);
});

test('an injected 40001 goes through the refresh route: exactly one extra WeChat token call, and the call succeeds', async () => {
  const old = await srv.api.value(APPID, 0);
  const before = await calls();
  const refreshesBefore = await refreshRequests();
  await sim.fault({ endpoint: 'ticket', appid: APPID, errcode: 40001 });
  const ticket = await api.getTicket();
  const after = await calls();
  assert.ok(await sim.valid(ticket.ticket));
  assert.is(after.token - before.token, 1, 'exactly one extra WeChat token call');
  assert.is(after.ticket - before.ticket, 2, 'the rejected getticket and its retry');
  assert.is((await refreshRequests()) - refreshesBefore, 1, 'one POST …/refresh');
  const fresh = await srv.api.value(APPID, 0);
  assert.is.not(fresh, old, 'the server serves the new token');
  // And co-wechat-api keeps using it: the next call costs no token call.
  await api.getTicket();
  assert.is((await calls()).token, after.token);
});

test.run();
