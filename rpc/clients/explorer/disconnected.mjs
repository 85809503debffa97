// After the test stopped the explorer's node: the home page says "node disconnected" (the
// explorer keeps serving what it indexed and redials in the background). Run by
// rpc/explorer/tests/e2e.rs.
import { chromium } from "playwright-core";

const base = process.env.EXPLORER_URL;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  await page.goto(base + "/");
  await page.waitForSelector("#node-state:not([hidden])", { timeout: 30000 });
  const banner = await page.textContent("#node-state");
  if (!banner.includes("node disconnected")) throw new Error(`banner says ${banner}`);
  await page.waitForSelector("#latest-blocks table");
  console.log("disconnected banner ok:", banner);
} finally {
  await browser.close();
}
