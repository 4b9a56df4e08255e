"""Bounding database work in time and turning its failures into MemoryUnavailable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg
from psycopg_pool import PoolClosed, PoolTimeout

from function.memory.errors import MemoryUnavailable

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,
    psycopg.OperationalError,  # connection lost, statement timeout, server shutting down
    psycopg.InterfaceError,
    PoolTimeout,
    PoolClosed,
    OSError,
)


def _brief(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


@contextlib.asynccontextmanager
async def bounded(what: str, seconds: float) -> AsyncIterator[None]:
    """Run the body within `seconds`; outages and slowness raise MemoryUnavailable."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except UNAVAILABLE_ERRORS as err:
        if isinstance(err, TimeoutError):
            message = f"{what} took longer than {seconds:g}s"
        else:
            message = f"{what} failed: {_brief(err)}"
        raise MemoryUnavailable(message) from err
