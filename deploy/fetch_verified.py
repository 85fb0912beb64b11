"""Download one file and refuse it unless its sha256 is the pinned one (image build; standard library only).

    python fetch_verified.py URL SHA256 DEST

Used for amazon-kclpy's sdist, whose pom.xml lists the KCL jars (deploy/kcl/complete_pom.py).
"""

from __future__ import annotations

import hashlib
import sys
import urllib.request


def fetch(url: str, sha256: str, dest: str) -> None:
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256.lower():
        raise SystemExit(f"fetch_verified: {url}: sha256 {digest} is not the pinned {sha256}; refusing it")
    with open(dest, "wb") as out:
        out.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: fetch_verified.py URL SHA256 DEST")
    fetch(*sys.argv[1:])
