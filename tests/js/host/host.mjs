// A minimal MCP Apps host for the browser test: connects to reelcart's MCP endpoint (through
// the test host's own origin), calls get_product, renders the linked ui:// page in a
// sandboxed iframe with the official AppBridge, and forwards the page's tool calls.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  AppBridge,
  PostMessageTransport,
  getToolUiResourceUri,
} from "@modelcontextprotocol/ext-apps/app-bridge";

const params = new URLSearchParams(location.hash.slice(1));
const hostInfo = { name: "reelcart-test-host", version: "1.0.0" };

function cspFor(meta) {
  // What a host derives from the resource's _meta.ui.csp: media only from the named origins.
  const domains = ((meta && meta.ui && meta.ui.csp && meta.ui.csp.resourceDomains) || []).join(" ");
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline'",
    "style-src 'unsafe-inline'",
    `img-src ${domains}`,
    `media-src ${domains}`,
  ].join("; ");
}

async function main() {
  const client = new Client(hostInfo, {
    capabilities: {
      extensions: { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } },
    },
  });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === params.get("tool"));
  const uri = getToolUiResourceUri(tool);
  const args = { product_id: params.get("product"), shopper_id: params.get("shopper") };
  const result = await client.callTool({ name: tool.name, arguments: args });
  const resource = (await client.readResource({ uri })).contents[0];
  const csp = `<meta http-equiv="Content-Security-Policy" content="${cspFor(resource._meta)}">`;
  const html = resource.text.replace("<head>", `<head>${csp}`);

  const iframe = document.createElement("iframe");
  iframe.sandbox = "allow-scripts";
  iframe.title = "MCP App";
  iframe.style.cssText = "width: 480px; height: 900px; border: 1px solid #ccc";
  document.body.appendChild(iframe);
  const bridge = new AppBridge(client, hostInfo, { serverTools: {}, serverResources: {} });
  bridge.oninitialized = async () => {
    await bridge.sendToolInput({ arguments: args });
    await bridge.sendToolResult(result);
    document.body.dataset.state = "rendered";
  };
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = html;
}

main().catch((error) => {
  document.body.dataset.state = "failed";
  console.error("host failed", error);
});
