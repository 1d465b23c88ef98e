"""Shopify as the store of record: its catalog synced in, creatives and orders written back.

- ``sync.py``: catalog sync (full, incremental or bulk, resumable)
- ``publish.py``: creatives as product videos, agent orders written back
"""
