"""The server freezes what start-up made out of the cyclic GC (server.freeze_startup_objects):
a full collection during a RunFunction then walks only what requests made."""

from __future__ import annotations

import gc

from function.server import freeze_startup_objects


def test_start_up_objects_are_frozen_out_of_the_collector() -> None:
    try:
        frozen = freeze_startup_objects()
        # Frozen objects freed since (by reference counting, e.g. in another test's thread)
        # leave the count; none join it without another freeze.
        assert frozen >= gc.get_freeze_count() > 10_000
        # What a full collection walks no longer holds the modules' functions and classes.
        walked = {id(o) for o in gc.get_objects()}
        assert id(freeze_startup_objects) not in walked
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
    assert id(freeze_startup_objects) in {id(o) for o in gc.get_objects()}
