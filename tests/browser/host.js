// The test host page: the official host side of MCP Apps (`AppBridge`) around a sandboxed iframe that
// holds the job card, with the CSP a host derives from the resource's `_meta.ui.csp`. Tool calls and
// link openings go to Node (`window.mcpCallTool`, `window.hostOpenLink`, exposed by run.mjs), which
// forwards them to the real server over stdio. Bundled by esbuild in run.mjs.
import { AppBridge, PostMessageTransport, getToolUiResourceUri, isToolVisibilityAppOnly } from "@modelcontextprotocol/ext-apps/app-bridge";

function cspFor(csp) {
  const media = ["'self'", "data:", ...((csp && csp.resourceDomains) || [])].join(" ");
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline'",
    "style-src 'unsafe-inline'",
    `img-src ${media}`,
    `media-src ${media}`,
    "connect-src 'none'",
  ].join("; ");
}

window.mountCard = async (slot, { html, csp, tool, args, result }) => {
  const started = performance.now();
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.name = slot;
  const meta = `<meta http-equiv="Content-Security-Policy" content="${cspFor(csp)}">`;
  frame.srcdoc = html.replace("<head>", `<head>${meta}`);
  document.getElementById(slot).append(frame); // contentWindow exists now; the card's script runs later
  const bridge = new AppBridge(null, { name: "mosaic-mcp e2e host", version: "1" }, { openLinks: {}, serverTools: {} }, {
    hostContext: { theme: "light", displayMode: "inline" },
  });
  bridge.oncalltool = async (params) => window.mcpCallTool(slot, params.name, params.arguments || {});
  bridge.onopenlink = async ({ url }) => { await window.hostOpenLink(slot, url); return {}; };
  bridge.onsizechange = ({ height }) => { if (height) frame.style.height = `${height + 4}px`; };
  const ready = new Promise((resolve) => { bridge.oninitialized = resolve; });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  await ready;
  const initializedMs = performance.now() - started;
  await bridge.sendToolInput({ arguments: args });
  await bridge.sendToolResult(result);
  window.bridges = { ...(window.bridges || {}), [slot]: bridge };
  return { initializedMs, linked: getToolUiResourceUri(tool) || null, appOnly: isToolVisibilityAppOnly(tool) };
};

window.teardownCard = async (slot) => window.bridges[slot].teardownResource({});
