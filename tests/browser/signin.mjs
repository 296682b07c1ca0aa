// The OAuth sign-in page in a real browser (issue 13). Run by tests/remote/test_oauth_e2e.py:
//
//   node tests/browser/signin.mjs   (env: CHROMIUM, AUTH_URL, REDIRECT_PREFIX, WRONG_MOSAIC_KEY, MOSAIC_KEY, MOTION_KEY)
//
// 1. opens the authorization URL the MCP client was sent to; the server redirects to its sign-in page;
// 2. submits a key Mosaic refuses: reads the error the page shows, and checks no code went to the client;
// 3. submits the right keys, reads the organisation on the consent page, presses Allow;
// 4. catches the browser's redirect to the client's redirect URI and prints it (one JSON line);
// 5. then obeys stdin lines: "account" prints the account page's connected clients, "signout" presses
//    "Sign out everywhere" and prints the confirmation. Exits when stdin closes.
import { createInterface } from "node:readline";

import puppeteer from "puppeteer-core";

const env = process.env;
const say = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const origin = new URL(env.AUTH_URL).origin;

const browser = await puppeteer.launch({
  executablePath: env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  const redirects = [];
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    if (request.url().startsWith(env.REDIRECT_PREFIX)) {
      redirects.push(request.url());
      request.respond({ status: 200, contentType: "text/plain", body: "signed in; you can close this tab" });
    } else {
      request.continue();
    }
  });
  const text = (selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));
  const submit = async (selector) => {
    const [response] = await Promise.all([page.waitForNavigation({ timeout: 20000 }), page.click(selector)]);
    return response;
  };

  const first = await page.goto(env.AUTH_URL, { timeout: 20000 });
  const landed = new URL(page.url());
  const signinPage = { status: first.status(), path: landed.pathname, title: await page.title() };

  await page.type("#mosaic_api_key", env.WRONG_MOSAIC_KEY);
  const refused = await submit('button[value="check"]');
  const wrong = {
    status: refused.status(),
    path: new URL(page.url()).pathname,
    alerts: await text('[role="alert"]'),
    invalid: await page.$eval("#mosaic_api_key", (e) => e.getAttribute("aria-invalid")),
    redirects: redirects.length,
  };

  await page.type("#mosaic_api_key", env.MOSAIC_KEY);
  await page.type("#motion_api_key", env.MOTION_KEY);
  const checked = await submit('button[value="check"]');
  const consent = { status: checked.status(), text: await page.$eval("main", (e) => e.innerText) };

  await submit('button[value="connect"]');
  say({ signinPage, wrong, consent, callback: redirects[0] ?? null });

  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "account") {
      const response = await page.goto(`${origin}/account`, { timeout: 20000 });
      say({ status: response.status(), clients: await text("main ul li") });
    } else if (line === "signout") {
      const response = await submit('form[action="/account/signout"] button');
      say({ status: response.status(), text: await page.$eval("main", (e) => e.innerText) });
    }
  }
} catch (error) {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
