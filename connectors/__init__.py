"""The outside world, one module (or package) per system.

- ``shopify/``: the Admin GraphQL API (catalog, media, orders, store rules, webhooks, OAuth)
- ``stripe.py``: payments
- ``storage.py``: the media store on any fsspec filesystem
- ``safe_fetch.py``: images and profiles from public addresses only
- ``catalog_file.py``, ``flower_shop.py``, ``store_data.py``: catalogs and store rules from files
"""
