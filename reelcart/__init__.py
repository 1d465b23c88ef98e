"""The ground floor, importing nothing of ours: ``settings.py``, ``db.py`` + ``models/`` +
``migrations/``, ``domain.py`` (shared types), ``money.py``, ``progress.py``, ``signing.py``,
``storable.py``."""
