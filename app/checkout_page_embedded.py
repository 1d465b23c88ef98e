"""The checkout page loaded embedded by a host (UCP Embedded Checkout Protocol, ECP).

With ``ec_version`` in its URL the page speaks JSON-RPC 2.0 over ``postMessage`` to
``window.parent``, and only to a configured host origin (every message it takes must come
from that window and origin): it sends ``ec.ready`` with the delegations it accepts and
waits for the host's answer (following a ``MessagePort`` upgrade), then ``ec.start``. A
buyer's change posts the form in the background, swaps the page in place and reports
what changed (``ec.line_items.change``, ``ec.buyer.change``, ``ec.messages.change``,
then ``ec.totals.change``). Pay, on the buyer's own click only, asks the host to open
Stripe's page (``ec.window.open_request``; Stripe's page cannot be framed) or opens it
itself when that was not delegated, then follows the checkout until the order is written
(``ec.complete``). A session that cannot start sends ``ec.error`` and nothing else.

Framing is allowed (CSP ``frame-ancestors``) only in this mode and only to the configured
hosts; a plain load forbids it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from app.ucp.embedded import EmbeddedSession

__all__ = ["ec_query", "embedded_markup", "frame_headers"]

# Kept on the page's own links; ``ec_auth`` is not: the store takes no token, so a host's
# credential is never copied into forms, redirects or logs.
_PARAMS = ("ec_version", "ec_delegate", "ec_color_scheme")

_SCRIPT = """(() => {
const S = JSON.parse(document.getElementById('ec-state').textContent);
const seen = location.ancestorOrigins && location.ancestorOrigins.length
  ? location.ancestorOrigins[0] : (document.referrer ? new URL(document.referrer).origin : '');
const host = S.hosts.includes(seen) ? seen : (S.hosts.length === 1 ? S.hosts[0] : null);
if (!host || window.parent === window) return;
let channel = null, closed = false, ready = false, count = 0, checkout = S.checkout;
const pending = new Map();
const send = (msg) => {
  if (closed) return;
  const m = {jsonrpc: '2.0', ...msg};
  if (channel) channel.postMessage(m); else window.parent.postMessage(m, host);
};
const notify = (method, params) => send({method, params});
const request = (method, params) => new Promise((resolve) => {
  const id = method.split('.').pop() + '_' + (++count);
  pending.set(id, resolve);
  send({id, method, params});
});
const receive = (data) => {
  if (!data || data.jsonrpc !== '2.0' || !pending.has(data.id)) return;
  const resolve = pending.get(data.id);
  pending.delete(data.id);
  resolve(data);
};
window.addEventListener('message', (e) => {
  if (e.source === window.parent && e.origin === host && !channel) receive(e.data);
});
const ok = (r) => !!(r.result && r.result.ucp && r.result.ucp.status === 'success');
const show = (text) => {
  let p = document.getElementById('error');
  if (!p) {
    p = document.createElement('p'); p.id = 'error'; p.className = 'problem';
    document.body.prepend(p);
  }
  p.textContent = text;
};
if (S.error) { notify('ec.error', S.error); closed = true; return; }
async function handshake() {
  let reply = await request('ec.ready', {delegate: S.delegate});
  if (ok(reply) && reply.result.upgrade) {
    const port = reply.result.upgrade.port;
    if (!(port instanceof MessagePort)) { closed = true; return false; }
    channel = port;
    port.onmessage = (e) => receive(e.data);
    reply = await request('ec.ready', {delegate: S.delegate});
  }
  if (!ok(reply) || reply.result.ucp.version !== S.version) { closed = true; return false; }
  return true;
}
handshake().then((r) => { ready = r; if (r) notify('ec.start', {checkout}); });
const CHANGES = [['line_items', 'ec.line_items.change'], ['buyer', 'ec.buyer.change'],
  ['messages', 'ec.messages.change'], ['totals', 'ec.totals.change']];
async function refresh(response) {
  const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
  const state = doc.getElementById('ec-state');
  document.body.replaceWith(doc.body);
  const next = state ? JSON.parse(state.textContent).checkout : null;
  if (!next) return;
  for (const [field, method] of CHANGES) {
    if (JSON.stringify(checkout[field]) !== JSON.stringify(next[field])) {
      notify(method, {checkout: next});
    }
  }
  checkout = next;
}
async function follow() {
  for (let i = 0; i < 1200 && !['completed', 'canceled'].includes(checkout.status); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const response = await fetch(location.href);
    if (response.ok) await refresh(response);
  }
  if (checkout.status === 'completed') notify('ec.complete', {checkout});
}
async function pay(form) {
  // Payment starts from the buyer's own gesture only, never from script.
  if (!navigator.userActivation || !navigator.userActivation.isActive) return;
  const headers = {Accept: 'application/json'};
  const response = await fetch(form.action, {method: 'POST', headers});
  const body = await response.json();
  if (!response.ok) { show(body.error); return; }
  if (S.delegate.includes('window.open')) {
    const reply = await request('ec.window.open_request', {url: body.url});
    if (!ok(reply)) { show('The payment page could not be opened.'); return; }
  } else if (!window.open(body.url, '_blank')) {
    show('Allow pop-ups to open the payment page.'); return;
  }
  show('Finish paying in the window that opened; this page updates when you have paid.');
  await follow();
}
document.addEventListener('submit', async (e) => {
  if (!ready) return;  // without a session the page works as a plain page
  e.preventDefault();
  const form = e.target;
  if (form.querySelector('#pay')) { await pay(form); return; }
  const body = new URLSearchParams(new FormData(form));
  await refresh(await fetch(form.action, {method: 'POST', body}));
});
})();"""


def ec_query(query: Any) -> str:
    """The ``ec_*`` parameters of a request, re-encoded (``?…``), or "" on a plain load."""
    kept = [(k, str(query[k])[:2048]) for k in _PARAMS if k in query]
    return "?" + urlencode(kept) if kept and "ec_version" in query else ""


def _json_in_script(value: dict[str, Any]) -> str:
    """JSON safe inside ``<script>``: no ``</script>`` or comment can be spelled."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def embedded_markup(session: EmbeddedSession) -> str:
    """The session state and the script, placed at the end of the page's body."""
    return (
        f"<script type='application/json' id='ec-state'>{_json_in_script(session.state())}"
        f"</script><script>{_SCRIPT}</script>"
    )


def frame_headers(session: EmbeddedSession | None) -> dict[str, str]:
    """Who may frame the page: the configured hosts in an ECP session, nobody otherwise."""
    if session is not None and session.hosts:
        return {"Content-Security-Policy": "frame-ancestors " + " ".join(session.hosts)}
    return {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}
