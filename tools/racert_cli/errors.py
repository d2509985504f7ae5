"""The one error type racert reports to the user.

Every anticipated failure (missing GOROOT, unsupported Go, object not built, ...) is
raised as RacertError with a message that fits on one line; the CLI prints it as
`racert: <message>` on stderr and exits 1. Anything else is a bug and keeps its
traceback.
"""


class RacertError(Exception):
    """A failure the user can act on; str(error) is the whole message."""
