// What Claude Desktop launches for an installed bundle: the manifest's mcp_config with the user's settings
// substituted, computed by the pinned packer's own `getMcpConfigForManifest` (the host's rules, not ours).
//
//   node packaging/host_config.mjs EXTENSION_DIR 'USER_CONFIG_JSON'   → {"command", "args", "env"} on stdout
//
// A setting missing from USER_CONFIG_JSON is one the user never touched (its default applies, or, with no
// default, the host leaves the literal ${user_config.NAME}); "" is a field the user cleared.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, sep } from "node:path";

import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";

const [extensionPath, userConfigJson = "{}"] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(join(extensionPath, "manifest.json"), "utf-8"));
const home = homedir();
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath,
  systemDirs: {
    HOME: home,
    DESKTOP: join(home, "Desktop"),
    DOCUMENTS: join(home, "Documents"),
    DOWNLOADS: join(home, "Downloads"),
  },
  userConfig: JSON.parse(userConfigJson),
  pathSeparator: sep,
});
if (config === undefined) {
  console.error("the host would not start this bundle (a required setting is missing)");
  process.exit(1);
}
process.stdout.write(JSON.stringify(config));
