// polkadot.js (@polkadot/api 16) against a running Arceon node, using nothing but the
// node's metadata and standard RPC: reads, event subscriptions, signed transfers and game
// calls, decoded events with field names, and decoded module errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { nodeUrl, within, unique } from './helpers.mjs';

const ARCM = 10n ** 12n;
let api;
let keyring;
let alice;

// On a network, wait for GRANDPA finality; a dev node finalizes each block at once.
const WAIT_FINALIZED = process.env.ARCEON_WAIT_FINALIZED === '1';

/** Signs and sends `tx`, resolving with the result that carries its events: in a block,
 * or finalized when ARCEON_WAIT_FINALIZED is set. */
function submit(tx, signer) {
  const goal = WAIT_FINALIZED ? 'finalized' : 'included';
  return within(90_000, `${tx.method.section}.${tx.method.method} to be ${goal}`, new Promise((resolve, reject) => {
    let unsubscribe;
    tx.signAndSend(signer, (result) => {
      if (result.isError) {
        reject(new Error(`transaction failed: ${result.status.type}`));
      } else if (result.status.isFinalized || (!WAIT_FINALIZED && result.status.isInBlock)) {
        if (unsubscribe) unsubscribe();
        resolve(result);
      }
    }).then((u) => { unsubscribe = u; }, reject);
  }));
}

function eventsOf(result, section, method) {
  return result.events
    .map(({ event }) => event)
    .filter((event) => event.section === section && event.method === method);
}

before(async () => {
  api = await within(30_000, 'polkadot.js to connect', ApiPromise.create({
    provider: new WsProvider(nodeUrl()),
    throwOnConnect: true,
    noInitWarn: true,
  }));
  keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  alice = keyring.addFromUri('//Alice');
});

after(async () => {
  if (api) await api.disconnect();
});

test('connects and decodes the metadata', () => {
  assert.equal(api.runtimeVersion.specName.toString(), 'arceon');
  assert.ok(api.runtimeMetadata.version >= 14, `metadata version ${api.runtimeMetadata.version}`);
  assert.equal(api.registry.chainSS58, 42);
  assert.deepEqual(api.registry.chainTokens, ['ArcM']);
  assert.deepEqual(api.registry.chainDecimals, [12]);
  for (const section of ['system', 'balances', 'staking', 'areas', 'players', 'npcs', 'structures', 'fastLane']) {
    assert.ok(api.query[section], `storage of ${section}`);
  }
  assert.ok(api.tx.players.moveTo, 'players.moveTo callable');
  assert.equal(api.consts.balances.existentialDeposit.toBigInt(), ARCM / 100n);
});

test('reads System.Account of Alice', async () => {
  const account = await api.query.system.account(alice.address);
  assert.ok(account.data.free.toBigInt() > 0n, 'Alice has ArcM');
  const nonce = await api.rpc.system.accountNextIndex(alice.address);
  assert.ok(nonce.toNumber() >= account.nonce.toNumber());
});

test('runtime APIs, map entries and constants come from the metadata', async () => {
  const nonce = await api.call.accountNonceApi.accountNonce(alice.address);
  const account = await api.query.system.account(alice.address);
  assert.ok(nonce.toNumber() >= account.nonce.toNumber());
  assert.equal((await api.call.core.version()).specName.toString(), 'arceon');
  assert.deepEqual((await api.call.metadata.metadataVersions()).map((v) => v.toNumber()), [14, 15]);
  const areas = await api.query.areas.areas.entries();
  assert.ok(areas.length >= 1, 'the world has areas');
  for (const [key, area] of areas) {
    assert.equal(area.unwrap().id.toString(), key.args[0].toString());
  }
  assert.equal(api.consts.system.ss58Prefix.toNumber(), 42);
});

test('a transfer is signed, included, and its events decode with field names', async () => {
  const seen = [];
  const unsubscribe = await api.query.system.events((records) => {
    for (const { event } of records) seen.push(`${event.section}.${event.method}`);
  });
  const dest = keyring.addFromUri(`//Alice//${unique('pjs')}`);
  const result = await submit(api.tx.balances.transferKeepAlive(dest.address, 5n * ARCM), alice);
  assert.equal(result.dispatchError, undefined);
  const [transfer] = eventsOf(result, 'balances', 'Transfer');
  assert.ok(transfer, `a Transfer event among ${result.events.map(({ event }) => event.method)}`);
  assert.equal(transfer.data.from.toString(), alice.address);
  assert.equal(transfer.data.to.toString(), dest.address);
  assert.equal(transfer.data.amount.toBigInt(), 5n * ARCM);
  assert.equal(eventsOf(result, 'system', 'ExtrinsicSuccess').length, 1);

  const account = await api.query.system.account(dest.address);
  assert.equal(account.data.free.toBigInt(), 5n * ARCM);

  await within(20_000, 'the event subscription to report the transfer', (async () => {
    while (!seen.includes('balances.Transfer')) await new Promise((r) => setTimeout(r, 200));
  })());
  unsubscribe();
});

test('a player registers and moves, and a cheating move shows Players.TooFast', async () => {
  const player = keyring.addFromUri(`//Alice//${unique('player')}`);
  await submit(api.tx.balances.transferKeepAlive(player.address, 10n * ARCM), alice);

  const name = unique('pjs');
  const registered = await submit(api.tx.players.register(name), player);
  assert.equal(registered.dispatchError, undefined, registered.dispatchError?.toString());
  const [event] = eventsOf(registered, 'players', 'PlayerRegistered');
  assert.ok(event, 'PlayerRegistered event');
  assert.equal(event.data.who.toString(), player.address);
  assert.equal(event.data.name.toUtf8(), name);
  const spawn = event.data.position;

  const stored = await api.query.players.players(player.address);
  assert.ok(stored.isSome, 'the player is stored');
  assert.equal(stored.unwrap().name.toUtf8(), name);

  const x = spawn.x.toBigInt() + 1000n;
  const y = spawn.y.toBigInt();
  const moved = await submit(api.tx.players.moveTo(x, y), player);
  assert.equal(moved.dispatchError, undefined, moved.dispatchError?.toString());
  const after = (await api.query.players.players(player.address)).unwrap();
  assert.equal(after.position.x.toBigInt(), x);
  assert.equal(after.position.y.toBigInt(), y);

  const cheat = await submit(api.tx.players.moveTo(x + 1_000_000n, y), player);
  assert.ok(cheat.dispatchError, 'the far move fails');
  assert.ok(cheat.dispatchError.isModule, cheat.dispatchError.toString());
  const error = api.registry.findMetaError(cheat.dispatchError.asModule);
  assert.equal(`${error.section}.${error.name}`, 'players.TooFast');
  assert.equal(eventsOf(cheat, 'system', 'ExtrinsicFailed').length, 1);
  const unchanged = (await api.query.players.players(player.address)).unwrap();
  assert.equal(unchanged.position.x.toBigInt(), x, 'the failed move changed nothing');
});
