"""Light reads served on the event loop, without a worker thread (PostgreSQL only).

Handing a request to a worker thread and back costs more than the work of a light
page: measured on the 2-core machine under the web benchmark (80 users), the three
or four hand-overs of a GET (the principal's look-up, the handler, the response's
validation, the end of the session) took about a third of the server's CPU, in the
convoy of threads waiting for the GIL (ADR 0009, "Light reads on the event loop").

A handler marked :func:`light_read` therefore runs, with the principal's look-up and
the end of its session, directly on the event loop when all of this holds:

* the request is a GET or HEAD: it writes nothing, and on PostgreSQL its session
  runs without a transaction block (autocommit), so none of its statements waits
  for a row lock; nothing it does awaits in between, so no other request
  interleaves while it holds a connection;
* the database is PostgreSQL (on SQLite a reader may wait for a checkpoint: the
  usual worker thread);
* the session comes from a pool of its own (``app.state.inline_sessionmaker``) whose
  connections carry a short ``lock_timeout`` and a ``statement_timeout``
  (``YIBAO_INLINE_READ_TIMEOUT_S``): a statement that would wait or run long ends
  with an error instead of holding up the loop.

Only handlers whose work is bounded by a page of rows are marked (lists, queues,
one list, the home page): exports, reports and anything that computes over a whole
period keep their worker thread.  Everything else is unchanged: the same handler
runs in a worker thread when the conditions do not hold.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request

#: the attribute that marks a light read handler
LIGHT = "__yibao_light_read__"
#: the keyword under which the wrapper receives the request when the handler takes none
_REQUEST = "yibao_inline_request_"

F = TypeVar("F", bound=Callable[..., Any])


def is_light(endpoint: object) -> bool:
    return bool(getattr(endpoint, LIGHT, False))


def runs_inline(request: Request) -> bool:
    """Whether this request's handler, look-up and session end run on the loop
    (decided once per request by the session dependency, see ``api.deps.get_db``)."""
    return bool(getattr(request.state, "inline", False))


def light_read(fn: F) -> F:
    """Mark a synchronous read handler as light (see the module docstring): FastAPI
    sees a coroutine with the handler's parameters (plus the request, if the handler
    takes none) and awaits it; it calls the handler directly when the request runs
    inline, in a worker thread otherwise."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    named = next((p.name for p in params if p.annotation in (Request, "Request")), None)
    if named is None:
        extra = inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        signature = signature.replace(parameters=[*params, extra])

    @functools.wraps(fn)
    async def wrapper(**kwargs: Any) -> Any:
        request = kwargs.pop(_REQUEST) if named is None else kwargs[named]
        if runs_inline(request):
            return fn(**kwargs)
        return await anyio.to_thread.run_sync(functools.partial(fn, **kwargs))

    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    setattr(wrapper, LIGHT, True)
    return wrapper  # type: ignore[return-value]
