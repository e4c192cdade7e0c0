// The simulator's newer WeChat behaviours (lib/simulator/README.md): request
// ids in errmsgs, 41001/43001/43002/40066, OAuth2 extension, wx_card
// tickets, and the third-party platform calls and encrypted event pushes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFlatXml } from '../lib/wechat/flat-xml.js';
import { MsgCrypto } from '../lib/wechat/msg-crypto.js';
import { client, Json } from './helpers/http.js';
import { Sim, startSim } from './helpers/sim.js';

let sim: Sim;
let api: ReturnType<typeof client>;
test.before(async () => {
  sim = await startSim();
  api = client(sim.url);
});
test.after(() => sim.close());
test.before.each(async () => {
  await api.post('/__sim/reset', {});
});

const RID = / rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/;
const componentToken = async (appid: string) =>
  (
    await api.post('/cgi-bin/component/api_component_token', {
      component_appid: appid,
      component_appsecret: 'cs',
      component_verify_ticket: 't',
    })
  ).body.component_access_token as string;

test('errmsgs end with a WeChat-shaped rid; unknown paths 40066, wrong methods 43001/43002, missing tokens 41001', async () => {
  const bad = await api.get('/cgi-bin/token?grant_type=client_credential&appid=wxR&secret=');
  assert.is(bad.body.errcode, 41004);
  assert.match(String(bad.body.errmsg), RID);
  assert.match(String(bad.body.errmsg), /^appsecret missing rid: /);
  const unknown = await api.get('/cgi-bin/user/info?access_token=x');
  assert.is(unknown.status, 200);
  assert.is(unknown.body.errcode, 40066);
  assert.match(String(unknown.body.errmsg), /^invalid url rid: /);
  const getOnPost = await api.get('/cgi-bin/stable_token');
  assert.is(getOnPost.body.errcode, 43002);
  assert.match(String(getOnPost.body.errmsg), /^require POST method/);
  const postOnGet = await api.post('/cgi-bin/token', {});
  assert.is(postOnGet.body.errcode, 43001);
  assert.is((await api.get('/cgi-bin/ticket/getticket?type=jsapi')).body.errcode, 41001);
  assert.is(
    (await api.post('/cgi-bin/component/api_authorizer_token', { component_appid: 'wxC' })).body.errcode,
    41001,
  );
  await sim.config({ rid: false });
  try {
    assert.is((await api.get('/cgi-bin/nothing')).body.errmsg, 'invalid url');
  } finally {
    await sim.config({ rid: true });
  }
});

test('wx_card tickets: getticket type=wx_card, apart from jsapi tickets', async () => {
  const at = (await api.get('/cgi-bin/token?grant_type=client_credential&appid=wxCard&secret=s')).body
    .access_token as string;
  const card = await api.get(`/cgi-bin/ticket/getticket?access_token=${at}&type=wx_card`);
  assert.match(String(card.body.ticket), /^CARD_/);
  const jsapi = await api.get(`/cgi-bin/ticket/getticket?access_token=${at}&type=jsapi`);
  assert.match(String(jsapi.body.ticket), /^TICKET_/);
  assert.ok(await sim.valid(card.body.ticket as string), 'a new jsapi ticket does not replace the card ticket');
  assert.is((await api.get(`/cgi-bin/ticket/getticket?access_token=${at}&type=other`)).body.errcode, 40097);
});

test('OAuth2 refresh keeps an unexpired access_token and extends it; a new one once it ran out', async () => {
  const refresh = (appid: string) =>
    api.get(`/sns/oauth2/refresh_token?appid=${appid}&grant_type=refresh_token&refresh_token=rt-${appid}`);
  await sim.config({ rotateRefreshTokens: false });
  try {
    const first = await refresh('wxO');
    assert.is(first.body.expires_in, 7200);
    await new Promise((r) => setTimeout(r, 1100));
    const again = await refresh('wxO');
    assert.is(again.body.access_token, first.body.access_token, 'the same token');
    assert.is(again.body.expires_in, 7200, 'its lifetime starts again (unextended it would have 7198 s left)');
    await sim.addApp({ appid: 'wxO1', expiresIn: 1 });
    const short = await refresh('wxO1');
    const token = short.body.access_token as string;
    for (let i = 0; i < 200 && (await sim.valid(token)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.not.ok(await sim.valid(token), 'ran out');
    const later = await refresh('wxO1');
    assert.is.not(later.body.access_token, token, 'a new token once it ran out');
    assert.ok(await sim.valid(later.body.access_token as string));
  } finally {
    await sim.config({ rotateRefreshTokens: true });
  }
});

test('api_query_auth redeems a code once; api_get_authorizer_list pages by at most 500', async () => {
  const cat = await componentToken('wxCq');
  const seeded = await api.post('/__sim/authorizers', {
    component_appid: 'wxCq',
    authorizers: Array.from({ length: 3 }, (_, i) => ({ authorizer_appid: `wxq${i}` })),
  });
  assert.is(seeded.status, 200);
  const page = await api.post(`/cgi-bin/component/api_get_authorizer_list?component_access_token=${cat}`, {
    component_appid: 'wxCq',
    offset: 1,
    count: 500,
  });
  assert.is(page.body.total_count, 3);
  assert.equal(
    (page.body.list as Json[]).map((a) => a.authorizer_appid),
    ['wxq1', 'wxq2'],
  );
  assert.is(
    (
      await api.post(`/cgi-bin/component/api_get_authorizer_list?component_access_token=${cat}`, {
        component_appid: 'wxCq',
        offset: 0,
        count: 501,
      })
    ).body.errcode,
    40097,
  );
  assert.is(
    (
      await api.post(`/cgi-bin/component/api_get_authorizer_list?component_access_token=${cat}`, {
        component_appid: 'wxOther',
        offset: 0,
        count: 5,
      })
    ).body.errcode,
    40001,
    "another component's token",
  );
  assert.is(
    (
      await api.post('/cgi-bin/component/api_query_auth?component_access_token=' + cat, {
        component_appid: 'wxCq',
        authorization_code: 'nope',
      })
    ).body.errcode,
    61009,
  );
});

test('events are pushed encrypted and signed; api_start_push_ticket pushes a ticket; clear_quota allows 10 a month', async () => {
  const received: Array<{ url: string; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ url: req.url ?? '', body });
      res.end('success');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  try {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    assert.is(
      (await api.post('/__sim/components', { component_appid: 'wxCp', url, token: 'tk', encoding_aes_key: 'short' }))
        .status,
      400,
    );
    assert.is(
      (await api.post('/__sim/components', { component_appid: 'wxCp', url, token: 'tk', encoding_aes_key: key }))
        .status,
      200,
    );
    const p = await api.post('/__sim/push', {
      component_appid: 'wxCp',
      info_type: 'authorized',
      authorizer_appid: 'wxAp',
    });
    assert.equal([p.body.status, p.body.body], [200, 'success']);
    const got = received[0]!;
    const q = new URL(got.url, 'http://x').searchParams;
    const encrypt = parseFlatXml(got.body).get('Encrypt') ?? '';
    const crypto = new MsgCrypto('tk', key, 'wxCp');
    assert.ok(crypto.verify(q.get('msg_signature') ?? '', q.get('timestamp') ?? '', q.get('nonce') ?? '', encrypt));
    assert.is(q.get('encrypt_type'), 'aes');
    const inner = parseFlatXml(crypto.decrypt(encrypt));
    assert.is(inner.get('InfoType'), 'authorized');
    assert.is(inner.get('AuthorizerAppid'), 'wxAp');
    assert.is(inner.get('AuthorizationCode'), p.body.authorization_code);
    // The code gives the authorizer's token and refresh token, once.
    const cat = await componentToken('wxCp');
    const auth = await api.post(`/cgi-bin/component/api_query_auth?component_access_token=${cat}`, {
      component_appid: 'wxCp',
      authorization_code: p.body.authorization_code,
    });
    const info = auth.body.authorization_info as Json;
    assert.is(info.authorizer_appid, 'wxAp');
    assert.is(info.authorizer_refresh_token, p.body.authorizer_refresh_token);
    assert.ok(await sim.valid(info.authorizer_access_token as string));
    assert.is(
      (
        await api.post(`/cgi-bin/component/api_query_auth?component_access_token=${cat}`, {
          component_appid: 'wxCp',
          authorization_code: p.body.authorization_code,
        })
      ).body.errcode,
      61009,
      'used',
    );
    // The refresh token is not rotated by use.
    const refreshed = await api.post(`/cgi-bin/component/api_authorizer_token?component_access_token=${cat}`, {
      component_appid: 'wxCp',
      authorizer_appid: 'wxAp',
      authorizer_refresh_token: info.authorizer_refresh_token,
    });
    assert.is(refreshed.body.authorizer_refresh_token, info.authorizer_refresh_token);

    const start = await api.post('/cgi-bin/component/api_start_push_ticket', {
      component_appid: 'wxCp',
      component_secret: 'cs',
    });
    assert.is(start.body.errcode, 0);
    const ticketPush = await (async () => {
      for (let i = 0; i < 200 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      return received[1];
    })();
    assert.ok(ticketPush, 'a ticket was pushed');
    const ticket = parseFlatXml(crypto.decrypt(parseFlatXml(ticketPush!.body).get('Encrypt') ?? ''));
    assert.is(ticket.get('InfoType'), 'component_verify_ticket');
    assert.is(
      (
        await api.post('/cgi-bin/component/api_start_push_ticket', {
          component_appid: 'wxCp',
          component_secret: 'wrong',
        })
      ).body.errcode,
      40125,
    );

    for (let i = 0; i < 10; i++)
      assert.is((await api.post('/cgi-bin/clear_quota/v2', { appid: 'wxQ', appsecret: 'qs' })).body.errcode, 0);
    const over = await api.post('/cgi-bin/clear_quota/v2', { appid: 'wxQ', appsecret: 'qs' });
    assert.is(over.body.errcode, 48006);
    assert.match(String(over.body.errmsg), /^forbid to clear quota because of reach the limit rid: /);
    assert.is(
      (await api.post('/cgi-bin/component/clear_quota/v2', { component_appid: 'wxCp', appid: 'wxCp', appsecret: 'cs' }))
        .body.errcode,
      0,
    );
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test.run();
