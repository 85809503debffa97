// polkadot-api (PAPI) against a running Arceon node over the new JSON-RPC interface
// (chainHead_v1, transaction/transactionWatch_v1), with no generated descriptors: every
// type comes from the node's metadata at runtime.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'polkadot-api';
import { getWsProvider } from 'polkadot-api/ws';
import { getPolkadotSigner } from 'polkadot-api/signer';
import { WebSocket } from 'ws';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { nodeUrl, within, unique } from './helpers.mjs';

const ARCM = 10n ** 12n;
let client;
let api;
let keyring;
let alice;

function signerOf(pair) {
  return getPolkadotSigner(pair.publicKey, 'Sr25519', (payload) => pair.sign(payload));
}

before(async () => {
  await cryptoWaitReady();
  keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  alice = keyring.addFromUri('//Alice');
  client = createClient(getWsProvider(nodeUrl(), { websocketClass: WebSocket }));
  api = client.getUnsafeApi();
  await within(30_000, 'PAPI to see the finalized block', client.getFinalizedBlock());
});

after(() => {
  if (client) client.destroy();
});

test('reads the chain spec and a balance through chainHead_v1', async () => {
  const spec = await within(20_000, 'the chain spec', client.getChainSpecData());
  assert.equal(spec.properties.tokenSymbol, 'ArcM');
  assert.match(spec.genesisHash, /^0x[0-9a-f]{64}$/);
  const account = await within(20_000, 'System.Account', api.query.System.Account.getValue(alice.address));
  assert.ok(account.data.free > 0n, `Alice's free balance ${account.data.free}`);
  const ed = await api.constants.Balances.ExistentialDeposit();
  assert.equal(ed, ARCM / 100n);
});

test('a transfer is submitted, watched and followed to finalized', async () => {
  const dest = keyring.addFromUri(`//Alice//${unique('papi')}`);
  const tx = api.tx.Balances.transfer_keep_alive({
    dest: { type: 'Id', value: dest.address },
    value: 3n * ARCM,
  });
  const seen = [];
  const finalized = await within(90_000, 'the transfer to be finalized', new Promise((resolve, reject) => {
    tx.signSubmitAndWatch(signerOf(alice)).subscribe({
      next: (event) => {
        seen.push(event.type);
        if (event.type === 'finalized') resolve(event);
      },
      error: reject,
    });
  }));
  assert.ok(seen.includes('signed') && seen.includes('broadcasted'), `events ${seen}`);
  assert.equal(finalized.ok, true, JSON.stringify(finalized.dispatchError));
  const transfer = finalized.events.find((e) => e.type === 'Balances' && e.value.type === 'Transfer');
  assert.ok(transfer, `a Balances.Transfer among ${finalized.events.map((e) => `${e.type}.${e.value.type}`)}`);
  assert.equal(transfer.value.value.to, dest.address);
  assert.equal(transfer.value.value.amount, 3n * ARCM);

  const account = await api.query.System.Account.getValue(dest.address, { at: finalized.block.hash });
  assert.equal(account.data.free, 3n * ARCM);
});
