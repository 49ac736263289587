"""Wait until a URL answers 200: `wait_http.py URL SECONDS`. Exits 0 once it does, 1 when the
seconds have passed without it (the caller says what did not start and where its log is). Used by
`scripts/cluster.sh` and `bench/lib.sh` for a process they started in the background."""

import sys
import time
import urllib.request


def main(url: str, seconds: float) -> int:
    if not url.startswith(("http://", "https://")):
        raise SystemExit(f"not an http(s) URL: {url}")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (checked above)
                if response.status == 200:
                    return 0
        except OSError:
            pass
        time.sleep(0.2)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
