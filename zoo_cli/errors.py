"""Error types shared by every layer, each mapped to one documented exit code (CLI.md).

Every layer raises a subclass of :class:`ZooError`; the command layer turns it into
one readable line on stderr (plus a hint) and, under ``--json``, an ``{"error": ...}``
document on stdout. Messages never contain secrets.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_PERMISSION = 4
EXIT_UNREACHABLE = 5
EXIT_INTERRUPTED = 130


class ZooError(Exception):
    """Base error: ``code`` is the process exit code, ``hint`` the next thing to try."""

    code: int = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, type_name: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.type_name = type_name or type(self).__name__

    def to_json(self) -> dict:
        return {
            "error": {
                "code": self.code,
                "type": self.type_name,
                "message": self.message,
                "hint": self.hint or "",
            }
        }


class OperationFailed(ZooError):
    """Exit 1: a revert not covered elsewhere, verification failed, insufficient funds, disk full."""

    code = EXIT_FAILED


class BadInput(ZooError):
    """Exit 2: usage error or bad input (bad file, address, amount, duration, CID)."""

    code = EXIT_USAGE


class NotFound(ZooError):
    """Exit 3: unknown token, account, CID, or a missing deployment."""

    code = EXIT_NOT_FOUND


class PermissionDenied(ZooError):
    """Exit 4: not owner/approved, no or expired lease, wrong password, dev account on a real chain."""

    code = EXIT_PERMISSION


class BackendUnreachable(ZooError):
    """Exit 5: node, RPC or IPFS unreachable, or chain-id mismatch."""

    code = EXIT_UNREACHABLE


class Interrupted(ZooError):
    """Exit 130: the user pressed Ctrl-C."""

    code = EXIT_INTERRUPTED


class IntegrityError(OperationFailed):
    """Exit 1: data failed an integrity check (hash, GCM tag, truncation, tampering)."""


class VerificationFailed(OperationFailed):
    """Exit 1: ``history --verify``, proof or key check failed."""


def refusal(cls: type[ZooError], reason: str, message: str, hint: str = "", status: int | None = None) -> ZooError:
    """A ZooError carrying a service's stable error code as ``reason`` (and ``status``: its
    HTTP status when the class's default does not fit); services/http.py maps it to the
    JSON error, the CLI ignores both."""
    err = cls(message, hint=hint or None)
    err.reason = reason  # type: ignore[attr-defined]
    err.status = status  # type: ignore[attr-defined]
    return err
