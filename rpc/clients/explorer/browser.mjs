// The explorer in a real browser (Debian's Chromium, headless, driven by playwright-core):
// home updates, Bob's account page shows Alice's 1.5 ArcM transfer, the extrinsic page
// shows the decoded call and its events, the search box finds the player by name (and
// says so when nothing matches), and the map lists the player at its new position.
// Writes home.png, account.png and map.png to $SHOTS. Run by rpc/explorer/tests/e2e.rs.
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("EXPLORER_URL");
const bob = env("BOB");
const txHash = env("TX_HASH");
const failedHash = env("FAILED_HASH");
const player = env("PLAYER");
const shots = env("SHOTS");

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(20000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  await page.goto(base + "/");
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector("#finalized")?.textContent ?? ""));
  const first = Number(await page.textContent("#best"));
  await page.waitForFunction((n) => Number(document.querySelector("#best")?.textContent) > n, first, { timeout: 30000 });
  await page.waitForSelector("#latest-blocks table");
  await page.screenshot({ path: `${shots}/home.png` });

  await page.goto(`${base}/account/${bob}`);
  await page.waitForSelector("#transfers table");
  const transfers = await page.textContent("#transfers");
  if (!transfers.includes("1.5 ArcM")) throw new Error(`Bob's transfers lack 1.5 ArcM: ${transfers}`);
  if ((await page.textContent("#player-name")) !== player) throw new Error("player name missing on the account page");
  await page.screenshot({ path: `${shots}/account.png`, fullPage: true });

  await page.goto(`${base}/extrinsic/${txHash}`);
  await page.waitForSelector("#call");
  const call = await page.textContent("#call");
  if (!call.startsWith("Balances.transfer")) throw new Error(`call shown as ${call}`);
  const events = await page.textContent("#events");
  for (const name of ["Balances.Transfer", "System.ExtrinsicSuccess"]) {
    if (!events.includes(name)) throw new Error(`extrinsic page lacks ${name}: ${events}`);
  }

  await page.goto(`${base}/extrinsic/${failedHash}`);
  await page.waitForSelector("#call");
  const failed = await page.textContent("main");
  if (!failed.includes("failed: Players.TooFast")) throw new Error(`failed extrinsic shown as ${failed}`);

  await page.goto(base + "/");
  await page.fill("#search", player);
  await page.press("#search", "Enter");
  await page.waitForURL(`${base}/account/${bob}`);
  await page.waitForSelector("#player-name");

  await page.fill("#search", "no-such-thing-anywhere");
  await page.press("#search", "Enter");
  await page.waitForSelector("#search-error:not([hidden])");
  const said = await page.textContent("#search-error");
  if (!said.includes("nothing matches")) throw new Error(`unknown search term answered: ${said}`);

  await page.goto(base + "/map");
  await page.waitForFunction((name) => document.querySelector("#map-players")?.textContent.includes(name), player);
  const row = await page.textContent("#map-players");
  if (!row.includes("(105.000, 100.000)")) throw new Error(`map lists the player elsewhere: ${row}`);
  const lanes = await page.textContent("#map-lanes");
  if (!lanes.includes("Meadow")) throw new Error(`map page lists no Meadow lane: ${lanes}`);
  const box = await page.locator("#map").boundingBox();
  await page.mouse.move(box.x + 40, box.y + 40);
  await page.waitForSelector("#map-tip:not([hidden])");
  const tip = await page.textContent("#map-tip");
  if (!tip.includes("Meadow") || !tip.includes("committee")) throw new Error(`hover shows ${tip}`);
  await page.screenshot({ path: `${shots}/map.png`, fullPage: true });

  await page.goto(base + "/staking");
  await page.waitForSelector("main table");
  const staking = await page.textContent("main");
  if (!staking.includes("Validators") || !/era\s*\d+/.test(staking)) throw new Error(`staking page shows ${staking}`);
  await page.click("main table a.mono");
  await page.waitForSelector("#authored");
  if (!(Number(await page.textContent("#authored")) > 0)) throw new Error("validator page shows no authored blocks");

  await page.goto(base + "/block/1");
  await page.waitForSelector("main h1");
  if ((await page.textContent("main h1")) !== "Block #1") throw new Error("block page heading");
  await page.goto(base + "/block/not-a-block");
  await page.waitForSelector("#error");
  if (!(await page.textContent("#error")).includes("not a block number")) throw new Error("bad block id not explained");

  if (errors.length) throw new Error("script errors in the pages: " + errors.join("; "));
  console.log("explorer pages ok");
} finally {
  await browser.close();
}
