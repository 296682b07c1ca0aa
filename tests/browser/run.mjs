// End-to-end test of the job card in a real browser (issue 11). Run by tests/browser/test_job_card_browser.py:
//
//   node tests/browser/run.mjs   (env: MOSAIC_MCP_BIN, CHROMIUM, WORK_DIR, SCREENSHOT)
//
// 1. starts the real `mosaic-mcp serve --sandbox` over stdio with the official MCP TypeScript client;
// 2. reads the card (`ui://…`) and its CSP, calls run_agent and create_video_session like a model would;
// 3. headless Chromium opens a host page built on `AppBridge` (host.js, bundled here with esbuild) that
//    mounts one card per job in a sandboxed iframe under the CSP; the card's tool calls come back here;
// 4. waits until each card shows its job settled, then checks the <video> loaded, the progress shown,
//    "Save to disk", "Open in a new tab", that polling stopped, and saves a screenshot;
// 5. mounts a third card for a new run and cancels it with the card's "Cancel run" button.
// Prints one JSON line with what it measured; exits 1 with the reason on the first failed check.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { build } from "esbuild";
import puppeteer from "puppeteer-core";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const CARD_URI = "ui://mosaic-mcp/job-card.html";
const CAPTIONS_AGENT_ID = "a1c2e3f4-0001-4a5b-8c6d-7e8f90a1b2c3";
const work = process.env.WORK_DIR;
const downloads = join(work, "downloads");
const calls = []; // every tool call the cards made: {slot, name, at, result}
const opened = [];

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

async function within(seconds, what, probe) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  mkdirSync(downloads, { recursive: true });
  const transport = new StdioClientTransport({
    command: process.env.MOSAIC_MCP_BIN,
    args: ["serve", "--sandbox"],
    env: {
      PATH: process.env.PATH,
      HOME: work,
      MOSAIC_MCP_HOME: join(work, "home"),
      MOSAIC_MCP_DOWNLOAD_DIR: downloads,
      MOSAIC_MCP_POLL_INTERVAL: "0.5",
      MOSAIC_SANDBOX_SPEED: "4",
    },
    stderr: "pipe",
  });
  const client = new Client({ name: "mosaic-mcp e2e host", version: "1" }, { capabilities: {} });
  await client.connect(transport);
  const tools = Object.fromEntries((await client.listTools()).tools.map((t) => [t.name, t]));
  const [card] = (await client.readResource({ uri: CARD_URI })).contents;
  check(card.mimeType === "text/html;profile=mcp-app", `card MIME type (${card.mimeType})`);
  const csp = card._meta?.ui?.csp;
  check(csp?.resourceDomains?.length === 1 && csp.resourceDomains[0].startsWith("http://127.0.0.1:"), "sandbox origin in the CSP");

  const bundle = await build({
    entryPoints: [join(HERE, "host.js")], bundle: true, write: false, format: "iife", platform: "browser", logLevel: "error",
  });
  const page = `<!doctype html><meta charset="utf-8"><title>job card e2e</title>
<style>body{margin:0;padding:16px;background:#f4f4f6;font:13px system-ui;display:flex;gap:16px;align-items:flex-start}
.slot{width:420px;background:#fff;border:1px solid #d9d9e0;border-radius:10px;overflow:hidden}
iframe{border:0;width:100%;height:420px;display:block}</style>
<div class="slot" id="run"></div><div class="slot" id="video"></div>
<script>${bundle.outputFiles[0].text}</script>`;
  const http = createServer((req, res) => { res.writeHead(200, { "content-type": "text/html" }); res.end(page); });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  const hostUrl = `http://127.0.0.1:${http.address().port}/`;

  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
  });
  const summary = {};
  try {
    const tab = await browser.newPage();
    await tab.setViewport({ width: 900, height: 640 });
    const problems = [];
    tab.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
    await tab.exposeFunction("mcpCallTool", async (slot, name, args) => {
      const result = await client.callTool({ name, arguments: args });
      calls.push({ slot, name, at: Date.now(), result: result.structuredContent });
      return result;
    });
    await tab.exposeFunction("hostOpenLink", async (slot, url) => { opened.push({ slot, url }); });
    await tab.goto(hostUrl);

    const jobs = {
      run: { tool: "run_agent", args: { agent_id: CAPTIONS_AGENT_ID, video_urls: ["https://www.youtube.com/watch?v=dQw4w9WgXcQ"] } },
      video: { tool: "create_video_session", args: { prompt: "A ten-second launch video for a note-taking app", mode: "light" } },
    };
    for (const [slot, job] of Object.entries(jobs)) {
      const result = await client.callTool({ name: job.tool, arguments: job.args });
      check(!result.isError, `${job.tool} succeeded`);
      job.id = result.structuredContent.job_id;
      const mounted = await tab.evaluate((s, spec) => window.mountCard(s, spec), slot, {
        html: card.text, csp, tool: tools[job.tool], args: job.args, result,
      });
      check(mounted.linked === CARD_URI && !mounted.appOnly, `${job.tool} links the card`);
      check(mounted.initializedMs < 1000, `the card initialised in under a second (${mounted.initializedMs} ms)`);
      summary[slot] = { job_id: job.id, initialized_ms: Math.round(mounted.initializedMs) };
    }
    check(tools.refresh_job_card && tools.refresh_job_card._meta?.ui?.visibility?.[0] === "app", "refresh_job_card is app-only");

    for (const slot of Object.keys(jobs)) {
      const frame = await within(10, `${slot} frame`, async () => tab.frames().find((f) => f.name() === slot));
      const shown = await within(90, `${slot} card shows the job settled`, () =>
        frame.evaluate(() => (window.__shown.at(-1)?.settled ? window.__shown : null)));
      const refreshes = calls.filter((c) => c.slot === slot && c.name === "refresh_job_card").map((c) => c.result);
      const expected = refreshes.map((r) => ({ status: r.job.status, stage: r.stage, step: r.step, steps: r.steps, settled: r.job.settled }));
      check(JSON.stringify(shown) === JSON.stringify(expected), `${slot}: the card showed every state the server returned, in order`);
      check(shown.every((s, i) => i === 0 || s.step >= shown[i - 1].step), `${slot}: progress never went back`);
      check(new Set(shown.map((s) => s.stage)).size >= 2, `${slot}: states on the way were shown (${shown.map((s) => s.stage)})`);
      const gaps = calls.filter((c) => c.slot === slot && c.name === "refresh_job_card").map((c) => c.at);
      const fastest = Math.min(...gaps.slice(1).map((t, i) => t - gaps[i]));
      check(gaps.length < 2 || fastest >= 900, `${slot}: refreshes no faster than a second apart (${fastest} ms)`);
      const video = await within(20, `${slot} video loaded`, () =>
        frame.evaluate(() => {
          const v = document.querySelector("video");
          return v && v.readyState >= 2 && v.duration > 0 ? { readyState: v.readyState, duration: v.duration, error: v.error && v.error.code } : null;
        }));
      const last = refreshes.at(-1);
      summary[slot] = { ...summary[slot], stages: [...new Set(shown.map((s) => s.stage))], refreshes: refreshes.length, video };

      await frame.click("#save");
      const paths = JSON.parse(await within(30, `${slot} saved paths shown`, () => frame.evaluate(() => document.getElementById("saved").dataset.paths || null)));
      check(paths.length >= 1, `${slot}: download_output saved files`);
      for (const path of paths) check(statSync(path).size > 0, `${slot}: ${path} exists on disk`);
      summary[slot].saved = paths;

      await frame.click("#open");
      await within(5, `${slot} open-link`, () => opened.find((o) => o.slot === slot));
      check(opened.find((o) => o.slot === slot).url === last.job.outputs.find((o) => o.video_url).video_url, `${slot}: opened the video`);
    }
    const before = calls.filter((c) => c.name === "refresh_job_card").length;
    await new Promise((r) => setTimeout(r, 3000));
    check(calls.filter((c) => c.name === "refresh_job_card").length === before, "no card polled after its job settled");
    const spent = calls.filter((c) => !["refresh_job_card", "download_output"].includes(c.name));
    check(spent.length === 0, `the card called only free tools (${spent.map((c) => c.name)})`);
    await tab.screenshot({ path: process.env.SCREENSHOT });

    // Cancel: a third card, for a run cancelled from its "Cancel run" button while it runs.
    const args = jobs.run.args;
    const started = await client.callTool({ name: "run_agent", arguments: args });
    await tab.evaluate(() => { const d = document.createElement("div"); d.className = "slot"; d.id = "cancel"; document.body.append(d); });
    await tab.evaluate((spec) => window.mountCard("cancel", spec), { html: card.text, csp, tool: tools.run_agent, args, result: started });
    const frame = await within(10, "cancel frame", async () => tab.frames().find((f) => f.name() === "cancel"));
    await within(10, "cancel button shown", () => frame.evaluate(() => !document.getElementById("cancel").hidden));
    await frame.click("#cancel");
    const ended = await within(30, "cancelled run shown", () =>
      frame.evaluate(() => { const s = window.__shown.at(-1); return s && s.settled ? s : null; }));
    check(ended.status === "cancelled", `the run was cancelled from the card (${ended.status})`);
    check(calls.filter((c) => c.name === "cancel_job").length === 1, "one cancel_job call");
    summary.cancel = { job_id: started.structuredContent.job_id, status: ended.status };
    const free = ["refresh_job_card", "download_output", "cancel_job"];
    check(calls.every((c) => free.includes(c.name)), "the cards never called a tool that spends or publishes");
    for (const slot of [...Object.keys(jobs), "cancel"]) await tab.evaluate((s) => window.teardownCard(s), slot);
    check(problems.length === 0, `no console errors (${problems.join(" | ")})`);
  } finally {
    await browser.close();
    http.close();
    await client.close();
  }
  console.log(JSON.stringify(summary));
}

main().then(() => process.exit(0), (err) => { console.error(err.message); process.exit(1); });
