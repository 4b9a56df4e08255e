"""Whether this replica still holds the decision job it is working on (a fencing check).

A shared decision job (decide/coordination.py) runs `work()` under a lease. Before a step
that another replica must never repeat for the same input, the LLM call, the work calls
`confirm_lease()`: within a shared job it asks the database whether this replica still owns
the job with the claim it started from (the fencing token), and raises LeaseLost if another
replica took the job over meanwhile. Outside a shared job (no database) it does nothing.

The check is a context variable, so the engine needs no reference to the board: the job
sets it around `work()` (`holding`), and tasks started by the work inherit it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

Check = Callable[[], Awaitable[bool]]

_CHECK: ContextVar[Check | None] = ContextVar("scia_decision_lease", default=None)


class LeaseLost(Exception):
    """Another replica took this decision job over; this replica must not carry on with it."""


@contextlib.contextmanager
def holding(check: Check) -> Iterator[None]:
    """Within the block, `confirm_lease()` runs `check` (True: the lease is still ours)."""
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


async def confirm_lease() -> None:
    """Raise LeaseLost when the current shared decision job is no longer this replica's."""
    check = _CHECK.get()
    if check is not None and not await check():
        raise LeaseLost("another replica took this decision job over")
