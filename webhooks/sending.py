"""One HTTP POST of a delivery: short timeouts, no redirects, no proxies from the environment,
and the SSRF check on the address actually connected to (webhooks.guard)."""

import socket
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from .guard import TargetRefused, addresses_checked

TIMEOUT = (5, 5)  # connect, read (seconds)
EXCERPT_BYTES = 2000
USER_AGENT = "learning-crm-webhooks/1"


class _Guarded:
    """Resolves the host, checks every address (webhooks.guard), connects to a checked one:
    nothing between the check and the connect can swap the address (DNS rebinding)."""

    host: str
    port: int
    timeout: float | None
    source_address: tuple | None
    socket_options: list | None

    def _new_conn(self) -> socket.socket:
        answers = addresses_checked(self.host, self.port)  # raises TargetRefused
        last: OSError | None = None
        for family, kind, proto, _, sockaddr in answers:
            sock = socket.socket(family, kind, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if self.timeout is not None:
                    sock.settimeout(self.timeout)
                sock.connect(sockaddr)
                return sock
            except OSError as error:
                sock.close()
                last = error
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")  # type: ignore[arg-type]


class GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None
    error: str
    excerpt: str


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST and say how it went; never raises for what the receiver or the network does."""
    try:
        with (
            _session() as session,
            session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
                timeout=TIMEOUT,
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            excerpt = _excerpt(response)
            code = response.status_code
    except TargetRefused as error:
        return Outcome(False, None, f"refused: {error}", "")
    except requests.RequestException as error:
        refused = _refusal_in(error)
        if refused is not None:
            return Outcome(False, None, f"refused: {refused}", "")
        return Outcome(False, None, f"{type(error).__name__}: {error}"[:500], "")
    if 200 <= code < 300:
        return Outcome(True, code, "", excerpt)
    return Outcome(False, code, f"HTTP {code}", excerpt)


def _refusal_in(error: BaseException) -> TargetRefused | None:
    """urllib3 wraps what the connection raised; find the guard's refusal inside."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TargetRefused):
            return current
        for inner in current.args:
            if isinstance(inner, BaseException):
                found = _refusal_in(inner)
                if found is not None:
                    return found
        current = current.__cause__ or current.__context__
    return None


def _excerpt(response: requests.Response) -> str:
    try:
        raw = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
    except Exception:  # an excerpt is a courtesy: a broken body does not change the outcome
        return ""
    return raw.decode("utf-8", errors="replace").replace("\x00", "")
