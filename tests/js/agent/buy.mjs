// An assistant on the MCP TypeScript SDK (not the server's library) buying through reelcart's
// /mcp with tool calls and the buyer handoff only: search, show the product, start a
// checkout, hand the shopper continue_url, then poll until the store says it is paid.
// Usage: node buy.mjs URL TOKEN ERA SHOPPER   (ERA: legacy | 2026-07-28)
// Prints one JSON line when the handoff is ready and one when the purchase is done.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [url, token, era, shopper] = process.argv.slice(2);
const versionNegotiation = era === "legacy" ? { mode: "legacy" } : { mode: { pin: era } };
const client = new Client({ name: "ts-shopping-agent", version: "1.0.0" }, { versionNegotiation });
const headers = { Authorization: `Bearer ${token}` };
await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));

async function call(name, args) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name}: ${result.content.map((c) => c.text).join(" ")}`);
  return result.structuredContent;
}

const { tools } = await client.listTools();
const found = await call("search_products", { query: "stoneware mug", in_stock_only: true });
const product = await call("get_product", { product_id: found.products[0].id, shopper_id: shopper });
const variant = product.variants.find((v) => v.available);
const checkout = await call("create_checkout", {
  items: [{ variant_id: variant.id, quantity: 1 }],
  shopper_id: shopper,
  email: "ada@example.com",
  shipping_address: {
    name: "Ada Lovelace", line_one: "1 Chat Road", city: "San Francisco",
    state: "CA", postal_code: "94131", country: "US",
  },
});
console.log(JSON.stringify({
  step: "handoff",
  era: client.getNegotiatedProtocolVersion(),
  tools: tools.map((t) => t.name),
  checkout_id: checkout.checkout_id,
  continue_url: checkout.continue_url,
  total: checkout.totals.total,
  creative_id: product.creative ? product.creative.creative_id : null,
}));

const deadline = Date.now() + 90_000;
let state = checkout;
while (state.status !== "completed" && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 250));
  state = await call("get_checkout", { checkout_id: checkout.checkout_id });
}
const order = state.order ? await call("get_order", { order_id: state.order.order_id }) : null;
console.log(JSON.stringify({ step: "done", status: state.status, order }));
await client.close();
