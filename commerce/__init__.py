"""The commerce core, one sub-package per concern, protocol-neutral below the doors.

- ``catalog/``: the products in the database, their search, views and feed
- ``pricing/``: every amount of a cart (discounts, shipping, tax)
- ``checkout/``: the checkout state machine, stock holds, payments, orders and their events
- ``store/``: store rules and known customers, from a file, a CSV folder or Shopify
- ``shopify/``: catalog sync from Shopify and what is written back to it
- ``publishing.py``: rendered creatives into the media store, with their public URLs
"""
