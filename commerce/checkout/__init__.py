"""The checkout core: one state machine behind ACP, UCP and the MCP tools.

- ``factory.py``: the service as the composition roots build it
- ``service.py``: the session state machine (create, update, complete, cancel)
- ``core.py``: what every step stands on (the service's parts, transactions)
- ``session.py``: a session recomputed from its inputs; ``acp_render.py``: ACP's shapes of it
- ``acp_requests.py``, ``errors.py``: typed (ACP) request bodies and the core's error
- ``inventory.py``: stock holds (reserve, release, commit)
- ``payments.py``, ``attempts.py``, ``complete.py``, ``settle.py``: paying, durably
- ``reconcile.py``: every unknown payment outcome found out
- ``orders.py``, ``attribution.py``: orders, attributed to the creative the shopper saw
- ``outbox.py``, ``webhooks.py``: order events, claimed and delivered once
- ``delegate.py``: delegated payment tokens (test mode)
"""
