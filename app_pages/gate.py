"""The network gate: which addresses are a network, the password check, the limit on attempts.

Pure Python (no Streamlit page code), so ``scripts/run-app.sh`` can refuse to start before the server
listens: ``python -m app_pages.gate [streamlit run options]`` exits 2 with a one-line message when the
app would listen on a network address without ``SKINSCAN_PASSWORD`` set.
"""

import hashlib
import hmac
import ipaddress
import os
import sys
import threading
import time
from collections import deque

PASSWORD_VARIABLE = "SKINSCAN_PASSWORD"
#: Failed sign-ins allowed per address within SIGN_IN_WINDOW_S before a lockout of SIGN_IN_LOCKOUT_S
#: (OWASP Authentication Cheat Sheet: throttle repeated failures).
SIGN_IN_ATTEMPTS = 5
SIGN_IN_WINDOW_S = 60.0
SIGN_IN_LOCKOUT_S = 60.0


def is_network_address(address):
    """Whether a ``server.address`` makes Streamlit listen beyond this computer.

    Only loopback addresses (``127.0.0.0/8``, ``::1``, ``localhost``) are local. Unset, ``""``,
    ``0.0.0.0`` and ``::`` mean every interface; any other address is a network interface.

    >>> [is_network_address(a) for a in ("127.0.0.1", "localhost", "::1", "", None, "0.0.0.0", "::")]
    [False, False, False, True, True, True, True]
    """
    text = str(address or "").strip().strip("[]").lower()
    if text == "localhost":
        return False
    try:
        return not ipaddress.ip_address(text).is_loopback
    except ValueError:
        return True  # "" (every interface) or a host name: treat as the network


def passwords_match(given, expected):
    """Constant-time comparison (of SHA-256 digests, so the length is not revealed either)."""
    digest = lambda text: hashlib.sha256(str(text).encode()).digest()  # noqa: E731
    return hmac.compare_digest(digest(given), digest(expected))


class SignInGuard:
    """Counts failed sign-ins per client address; locks an address out after too many.

    Parameters
    ----------
    attempts, window_s, lockout_s : int, float, float
        ``attempts`` failures within ``window_s`` seconds lock the address out for ``lockout_s``.
    clock : callable
        Seconds (``time.monotonic``); tests pass their own.
    """

    def __init__(self, attempts=SIGN_IN_ATTEMPTS, window_s=SIGN_IN_WINDOW_S, lockout_s=SIGN_IN_LOCKOUT_S,
                 clock=time.monotonic):
        self.attempts, self.window_s, self.lockout_s, self.clock = attempts, window_s, lockout_s, clock
        self._failures = {}
        self._locked_until = {}
        self._lock = threading.Lock()

    def wait_s(self, who):
        """Seconds until ``who`` may try again (0 when it may now)."""
        with self._lock:
            return max(0.0, self._locked_until.get(who, 0.0) - self.clock())

    def check(self, who, given, expected):
        """Check a password; returns ``"ok"``, ``"wrong"`` or ``"locked"`` (not even compared)."""
        with self._lock:
            now = self.clock()
            if self._locked_until.get(who, 0.0) > now:
                return "locked"
            if passwords_match(given, expected):
                self._failures.pop(who, None)
                return "ok"
            failures = self._failures.setdefault(who, deque())
            failures.append(now)
            while failures and failures[0] <= now - self.window_s:
                failures.popleft()
            if len(failures) >= self.attempts:
                self._locked_until[who] = now + self.lockout_s
                failures.clear()
                return "locked"
            return "wrong"


def refusal(address, environment=os.environ):
    """The one-line reason the app must not start on ``address``, or None when it may."""
    if is_network_address(address) and not environment.get(PASSWORD_VARIABLE):
        shown = "every interface" if not str(address or "").strip() or address in ("0.0.0.0", "::") else address
        return (f"not starting: listening on the network ({shown}) needs a password: set {PASSWORD_VARIABLE} "
                "(and serve over TLS, see README), or listen on 127.0.0.1")
    return None


def address_from_arguments(arguments):
    """``server.address`` as ``streamlit run`` would use it: the flag, else Streamlit's config (config.toml,
    ``STREAMLIT_SERVER_ADDRESS``)."""
    for index, argument in enumerate(arguments):
        if argument == "--server.address" and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith("--server.address="):
            return argument.split("=", 1)[1]
    from streamlit import config

    config.get_config_options(force_reparse=True)
    return config.get_option("server.address")


def main(arguments=None):
    """Exit 2 with a one-line message when ``streamlit run`` with these options must not start."""
    reason = refusal(address_from_arguments(sys.argv[1:] if arguments is None else arguments))
    if reason:
        print(f"skinscan: {reason}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
