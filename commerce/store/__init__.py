"""The store's own data beside its catalog.

- ``sync.py``: store rules (discount codes, shipping, customers) from a file or Shopify
- ``seed.py``: a whole store from a folder of CSVs (the UCP conformance suite's layout)
- ``customers.py``: known buyers and their stored addresses
"""
