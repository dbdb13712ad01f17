"""``--debug`` on the local target: arm a debug session of the function in the emulator right
before it is invoked, and say where to attach.

:mod:`tooling.emulator.debugging` is imported only when a hook is made, so that an invocation
without ``--debug`` does not depend on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from tooling.invoke_function.errors import InvokeError
from tooling.invoke_function.functions import FunctionKind

#: A debugger hook (``--debug``): called with the function's name and Region before it is
#: invoked (a multi-region deployment has one function of that name per Region), asks for that
#: invocation to wait for a debugger and returns the lines to print (where to attach).
DebugHook = Callable[[str, str], Sequence[str]]


def debug_hook(endpoint: str, kind: FunctionKind | None, *, port: int | None = None) -> DebugHook:
    """``--debug`` on the local target: arm a debug session of the function in the emulator at
    ``endpoint`` (:func:`tooling.emulator.debugging.request_debug`) right before it is invoked;
    the lines say where to attach and give a VS Code configuration mapping the service's
    sources (``kind``'s package) to the function's code. ``port``: where debugpy listens
    (None: :data:`tooling.emulator.debugging.DEFAULT_PORT`)."""
    from tooling.emulator.debugging import DEFAULT_PORT, DebugRequestError, request_debug

    listen = DEFAULT_PORT if port is None else port

    def arm(function_name: str, region: str) -> list[str]:
        try:
            session = request_debug(endpoint, function_name, port=listen, region=region)
        except DebugRequestError as error:
            raise InvokeError(f"--debug: no debug session ({error.message}).") from None
        lines = [session.instructions()]
        if kind is not None:
            root = f"${{workspaceFolder}}/services/{kind.package}/src"
            configuration = session.launch_configuration(local_root=root)
            lines += ["VS Code launch configuration:", json.dumps(configuration, indent=2)]
        return lines

    return arm
