// Shared by the client tests: where the node is, and a bounded wait.

/** The WebSocket URL of the node under test (set by node/cli/tests/standard_clients.rs). */
export function nodeUrl() {
  const url = process.env.ARCEON_WS;
  if (!url) {
    throw new Error('ARCEON_WS is not set: run these tests through `cargo test -p arceon-node --test standard_clients`, which starts the nodes');
  }
  return url;
}

/** Rejects after `ms` milliseconds with a message naming what was awaited. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A name no earlier run on the same chain used. */
export function unique(prefix) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
