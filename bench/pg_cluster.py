"""A throwaway PostgreSQL cluster in a temporary folder, reached only through a Unix socket.

Used by the tests (one cluster per test session) and by the benchmarks that compare the two stores.
PostgreSQL refuses to run as root, so when this process is root the server
runs as the ``postgres`` system user, in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["Cluster", "find_bin", "start_cluster"]

INSTALL_HINT = (
    "PostgreSQL is not installed: install it (Debian/Ubuntu: apt-get install postgresql, then put"
    " /usr/lib/postgresql/*/bin on PATH; macOS: brew install postgresql) and pip install 'memkit[postgres]'"
)


def find_bin(name: str) -> str | None:
    """The path of a PostgreSQL program: on PATH, else in Debian's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class Cluster:
    """A running cluster: its folder, socket directory and superuser; :meth:`url` names a database in it."""

    def __init__(self, folder: Path, user: str, run_as: list[str]) -> None:
        self.folder = folder
        self.socket_dir = folder / "socket"
        self.user = user
        self._run_as = run_as

    def url(self, database: str = "postgres", user: str | None = None) -> str:
        """A ``postgresql://`` URL reaching ``database`` through the cluster's socket."""
        return f"postgresql://{user or self.user}@/{database}?host={self.socket_dir}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser; return psql's output."""
        psql = find_bin("psql")
        assert psql is not None
        result = subprocess.run(
            [*self._run_as, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-U", self.user,
             "-d", database, "-c", sql],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return result.stdout

    def create_database(self, name: str) -> str:
        """Create an empty database; return its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        pg_ctl = find_bin("pg_ctl")
        if pg_ctl:
            subprocess.run([*self._run_as, pg_ctl, "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"],
                           capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster(*, settings: dict[str, str] | None = None) -> Cluster:
    """``initdb`` a new cluster in a temporary folder and start it on a Unix socket there (no TCP port).

    :param settings: extra server settings (``-c name=value``), such as ``max_connections``.
    :raises RuntimeError: PostgreSQL is not installed, or the server did not start (the message says why).
    """
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError(INSTALL_HINT)
    folder = Path(tempfile.mkdtemp(prefix="memkit-pg-"))
    (folder / "socket").mkdir()
    run_as: list[str] = []
    user = os.environ.get("USER") or "postgres"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        run_as, user = ["runuser", "-u", "postgres", "--"], "postgres"
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "socket", "postgres")
        os.chmod(folder, 0o755)
    options = {
        "listen_addresses": "''",
        "unix_socket_directories": str(folder / "socket"),
        "fsync": "off",  # a throwaway cluster: speed over surviving a power cut
        "max_connections": "200",
        **(settings or {}),
    }
    try:
        subprocess.run([*run_as, initdb, "-D", str(folder / "data"), "-U", user, "-A", "trust", "-E", "UTF8",
                        "--locale=C"], check=True, capture_output=True, text=True)  # fmt: skip
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(folder / "data"), "-l", str(folder / "server.log"), "-w", "-t", "60",
             "-o", " ".join(f"-c {name}={value}" for name, value in options.items()), "start"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    except (subprocess.CalledProcessError, OSError) as exc:
        log = (folder / "server.log").read_text(errors="replace")[-2000:] if (folder / "server.log").exists() else ""
        detail = getattr(exc, "stderr", "") or str(exc)
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {detail.strip()} {log.strip()}") from exc
    return Cluster(folder, user, run_as)
