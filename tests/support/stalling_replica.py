"""function-scia whose event loop blocks for `SCIA_TEST_STALL_SECONDS` right before each
LLM call: a replica that is alive but stalled (a busy or starved event loop), not dead.

Run as `python -m tests.support.stalling_replica <function-scia arguments>`; it patches
the LLM decider in this process only and then starts the real server.
"""

from __future__ import annotations

import os
import time
from typing import Any

from function.decide import llm
from function.main import cli

_decide = llm.LlmDecider.decide


async def _stalling_decide(self: llm.LlmDecider, *args: Any, **kwargs: Any) -> llm.LlmResult:
    time.sleep(float(os.environ["SCIA_TEST_STALL_SECONDS"]))  # noqa: ASYNC251 (the stall)
    return await _decide(self, *args, **kwargs)


llm.LlmDecider.decide = _stalling_decide  # type: ignore[method-assign]

if __name__ == "__main__":
    cli()
