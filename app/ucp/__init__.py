"""UCP (Universal Commerce Protocol, 2026-04-08) doors over the checkout core.

- ``parts.py``: what both doors share, built once (checkout, orders, catalog, keys, outbox)
- ``rest.py`` + ``door.py``: discovery and the REST routes; ``mcp_binding.py``: ``/ucp/mcp``
- ``envelope.py``: versions, ``UCP-Agent``, errors, idempotency
- ``profiles.py``, ``signatures.py``: platform profiles and RFC 9421 message signatures
- ``checkout.py`` + ``checkout_state.py``, ``fulfillment.py``, ``payments.py``: checkout
- ``orders.py``, ``webhooks.py``: orders and their signed webhooks
- ``catalog.py``: search and lookup, each product with its showcase video
"""
