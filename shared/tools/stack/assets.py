"""The console's front-end assets (htmx, ECharts): installed from the npm registry by the
project's own lockfile (services/console/assets), never from a CDN, into a gitignored folder."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from shared.tools.stack.kafka import StackError

ASSETS = Path(__file__).resolve().parents[3] / "services" / "console" / "assets"


def ensure_assets(say=print, folder: Path = ASSETS) -> bool:  # type: ignore[no-untyped-def]
    """``npm ci`` unless node_modules already matches the lockfile."""
    lock = folder / "package-lock.json"
    stamp = folder / "node_modules" / ".lock.sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return False
    if shutil.which("npm") is None:
        raise StackError("npm is needed for the console's assets: apt-get install npm")
    say("installing the console's assets (npm ci) ...")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                   check=True)
    stamp.write_text(digest)
    return True
