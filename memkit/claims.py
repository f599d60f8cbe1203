"""Who is working on what: owners and leases for work several programs may pick up.

An exchange being turned into cells, or a scene summary being written, is
*claimed* by the memory manager doing it: an owner (this host, this
process, this manager) and a lease, a time until which the claim holds.
Another manager leaves claimed work alone until the lease ends or the
owner's process is gone (it was killed), then takes it over. The finish is
conditional on still holding the claim, so a program that was too slow
stores nothing rather than a second copy.

Leases are on the wall clock, not the database's clock (which tests and
notebooks may set to any day), and stored as seconds since the epoch.
"""

from __future__ import annotations

import os
import secrets
import socket
import time

__all__ = ["LEASE_SECONDS", "is_claimable", "lease_until", "new_owner", "wall_clock"]

#: How long a claim holds: longer than a model call with its retries is ever allowed to take.
LEASE_SECONDS = 600.0


def new_owner() -> str:
    """A new owner name: ``host:pid:random``, unique to one manager of one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def wall_clock() -> float:
    """Seconds since the epoch (what leases are measured in)."""
    return time.time()


def lease_until() -> float:
    """When a claim made now runs out."""
    return wall_clock() + LEASE_SECONDS


def _process_gone(owner: str) -> bool:
    """Whether ``owner``'s process has ended (known only for processes of this host)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or os.name != "posix":
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists, under another user
    return False


def is_claimable(owner: str | None, until: float | None, me: str) -> bool:
    """Whether work claimed by ``owner`` until ``until`` may be taken by ``me`` now."""
    if owner is None or owner == me:
        return True
    return until is None or until < wall_clock() or _process_gone(owner)
