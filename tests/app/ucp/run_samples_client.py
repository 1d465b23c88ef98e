"""Run one flavour of the UCP samples' platform client (unchanged, where it lies) with
configuration passed in from outside it.

    python run_samples_client.py SAMPLES_DIR FLAVOUR --server_url URL

The client's demo key server publishes a profile whose protocol version is a parameter of
``signing.LocalProfileServer`` (default ``2026-01-23``, an older release than the one the
store implements, which the spec tells a business to refuse). The client never passes it,
so it is set here from ``UCP_SAMPLES_PROFILE_VERSION`` before the client runs. The same
server listens on a port the system picks; with ``UCP_SAMPLES_PROFILE_PORT`` it listens on
that one, so the store can be told in advance which platform profile to trust for identity
linking (the client looks the buyer's saved addresses up by e-mail, which a store grants
only to such platforms). Nothing else of the client is touched. The client then runs as
``__main__``; its exit status is kept.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any


def main() -> None:
    samples, flavour, *client_args = sys.argv[1:]
    sys.path.insert(0, samples)
    version = os.environ.get("UCP_SAMPLES_PROFILE_VERSION")
    if version and (Path(samples) / "signing.py").is_file():
        import signing  # the samples' own module, from SAMPLES_DIR

        signing.LocalProfileServer.__init__.__defaults__ = (version,)
        port = int(os.environ.get("UCP_SAMPLES_PROFILE_PORT") or 0)
        if port:
            stdlib_server = signing.http.server.ThreadingHTTPServer

            class OnPort(stdlib_server):  # type: ignore[misc, valid-type]
                def __init__(self, address: tuple[str, int], handler: Any) -> None:
                    super().__init__((address[0], address[1] or port), handler)

            signing.http.server.ThreadingHTTPServer = OnPort
    script = Path(samples) / flavour / "simple_happy_path_client.py"
    sys.argv = [str(script), *client_args]
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
