"""A real CredVault server for the suite: started once per test run, stopped at exit.

The binary is $CREDVAULT_BIN, or built with ``go build`` from the repository
root when that is unset. The database is SQLite in a temporary directory, or,
when $CREDVAULT_TEST_DATABASE_URL names a PostgreSQL server, a new database
created on it for this run (with psql) and dropped afterwards.
"""

import atexit
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
SDK_ROOT = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(os.path.dirname(SDK_ROOT))
if SDK_ROOT not in sys.path:
    sys.path.insert(0, SDK_ROOT)

from credvault import CredVault  # noqa: E402

ADMIN_EMAIL = "platform-admin@example.com"
ADMIN_PASSWORD = "platform admin password 1"
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running server and what the tests need to reach it."""

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="credvault-py-sdk-")
        self.proc: Optional[subprocess.Popen] = None
        self.pg_admin_url: Optional[str] = None
        self.pg_database: Optional[str] = None
        self.log_path = os.path.join(self.tmp, "server.log")
        self._operations: Optional[Dict[str, str]] = None
        try:
            self.backend, db_url = self._database()
            self.binary = self._binary()
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self._start(db_url)
        except BaseException:
            self.stop()
            raise

    # -- set-up ---------------------------------------------------------------------------

    def _binary(self) -> str:
        path = os.environ.get("CREDVAULT_BIN")
        if path:
            if not os.access(path, os.X_OK):
                raise RuntimeError(f"CREDVAULT_BIN={path} is not an executable")
            return path
        out = os.path.join(self.tmp, "credvault")
        sys.stderr.write(f"building the server: go build -o {out} . (set CREDVAULT_BIN to skip)\n")
        subprocess.run(["go", "build", "-o", out, "."], cwd=REPO_ROOT, check=True)
        return out

    def _database(self) -> "tuple[str, str]":
        base = os.environ.get("CREDVAULT_TEST_DATABASE_URL", "").strip()
        if not base:
            return "sqlite", "sqlite://" + os.path.join(self.tmp, "credvault.db")
        if not base.startswith(("postgres://", "postgresql://")):
            raise RuntimeError("CREDVAULT_TEST_DATABASE_URL must be a postgres:// URL")
        if shutil.which("psql") is None:
            raise RuntimeError("psql is needed to create the suite's PostgreSQL database")
        name = "cv_sdk_py_" + secrets.token_hex(6)
        self.pg_admin_url = base
        _psql(base, f"CREATE DATABASE {name}")
        self.pg_database = name
        u = urllib.parse.urlsplit(base)
        return "postgres", urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))

    def _start(self, db_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREDVAULT_")}
        env.update(
            CREDVAULT_ADDR=f"127.0.0.1:{self.port}",
            CREDVAULT_DATABASE_URL=db_url,
            CREDVAULT_ENV="development",
            CREDVAULT_MASTER_KEY_FILE=os.path.join(self.tmp, "master.key"),
            CREDVAULT_ALLOW_SIGNUP="true",
            # Limits on, but far away: the retry test gives a key a tiny limit of its own.
            CREDVAULT_RATE_LIMITS="free=1000000/h,pro=1000000/h,enterprise=1000000/h",
            CREDVAULT_ADMIN_EMAIL=ADMIN_EMAIL,
            CREDVAULT_ADMIN_PASSWORD=ADMIN_PASSWORD,
            CREDVAULT_WEBHOOK_ALLOW_PRIVATE="true",
            CREDVAULT_WEBHOOK_RETRY_SCHEDULE="1s,1s,1s",
            CREDVAULT_LOG_LEVEL="warn",
        )
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "serve"], env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.tmp
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not become healthy in 90 s:\n{self.log()}")

    def log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if self.pg_database and self.pg_admin_url:
            try:
                _psql(self.pg_admin_url, f"DROP DATABASE IF EXISTS {self.pg_database}")
            except Exception as e:  # noqa: BLE001 - best effort at exit
                sys.stderr.write(f"could not drop {self.pg_database}: {e}\n")
            self.pg_database = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers for tests ---------------------------------------------------------------

    def operations(self) -> Dict[str, str]:
        """The live OpenAPI document's operations: operationId -> "METHOD /path"."""
        if self._operations is None:
            with urllib.request.urlopen(self.url + "/api/v1/openapi.json", timeout=30) as r:
                doc = json.load(r)
            self._operations = {
                op["operationId"]: f"{method.upper()} {path}"
                for path, item in doc["paths"].items()
                for method, op in item.items()
                if isinstance(op, dict) and "operationId" in op
            }
        return self._operations

    def require(self, test: Any, *operation_ids: str) -> None:
        """Skip test when this server predates an operation (the SDK may be newer than it)."""
        lacking = [op for op in operation_ids if op not in self.operations()]
        if lacking:
            test.skipTest(f"this server has no {', '.join(lacking)}")

    def new_tenant(self, prefix: str = "py") -> "Tenant":
        """Sign up a fresh tenant; its owner's client and an all-scopes API key's client."""
        suffix = secrets.token_hex(4)
        anon = CredVault(self.url)
        session = anon.auth.register(f"{prefix} {suffix}", f"owner-{suffix}@example.com", PASSWORD, name="Owner")
        owner = anon.with_token(session.access_token)
        key = owner.api_keys.create(f"{prefix}-all-scopes")
        assert key.key is not None
        return Tenant(session=session, owner=owner, key=key.key, key_id=key.id, client=anon.with_api_key(key.key))

    def admin(self) -> CredVault:
        """A platform admin's client (the admin the server created at start-up)."""
        anon = CredVault(self.url)
        return anon.with_token(anon.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD).access_token)

    def raw(self, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Any:
        """A request outside the SDK, for checking what it does; returns (status, headers, json)."""
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers.items()), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers.items()), json.loads(e.read() or b"null")


class Tenant:
    def __init__(self, session: Any, owner: CredVault, key: str, key_id: str, client: CredVault) -> None:
        self.session = session
        self.owner = owner
        self.key = key
        self.key_id = key_id
        self.client = client
        self.tenant_id = session.tenant.id


def _psql(url: str, sql: str) -> None:
    subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


_server: Optional[Server] = None
_lock = threading.Lock()


def server() -> Server:
    """The suite's server, started on first use and stopped when the interpreter exits."""
    global _server
    with _lock:
        if _server is None:
            _server = Server()
            atexit.register(_server.stop)
            sys.stderr.write(f"credvault server on {_server.url} ({_server.backend})\n")
        return _server
