"""Embeds the itsor component in Python through wasmtime-py's component model API.

The host side is written here in Python:

* `spin:sqlite/sqlite@3.0.0` on the standard library's `sqlite3` (a real SQLite file with
  `migrations/*.sql` applied), including the host-defined `connection` resource;
* `spin:postgres/postgres@4.0.0` as a stub whose `open` always fails with
  `connection-failed` (the component imports it, and calls it only when its `database_url`
  variable is a postgres:// URL; Python's PostgreSQL drivers are no part of this test);
* `fermyon:spin/variables@2.0.0` from a plain dict;
* WASI 0.2 (and the `wasi:http/types` the HTTP export needs) from wasmtime itself.

The tests then drive the typed `itsor:auth/accounts@0.2.0` export end to end.

Value mapping (wasmtime-py 50): a WIT `record` comes back as a `wasmtime.component.Record`
whose attributes are the field names as spelled in WIT (`created-at`, so read with
`getattr`); a `variant` whose cases can't be told apart by Python type is a
`wasmtime.component.Variant(tag, payload)`; `result`, `option` and variants whose cases
have distinct Python types are "untagged": the value itself (an `ok` record, `None`, a
string...) or, for `result`, the `err` value. `Accounts` below turns that into a return
value or a raised `AuthError`, after checking once that the two sides are distinguishable.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import pytest
import wasmtime
from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import (
    Component,
    Linker,
    Record,
    RecordType,
    ResourceAny,
    ResourceHost,
    ResourceType,
    ResultType,
    Variant,
    VariantType,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def component_path() -> Path:
    """$ITSOR_COMPONENT, else ${CARGO_TARGET_DIR:-<repo>/target}/wasm32-wasip2/component/
    itsor_auth.wasm (the same rule as tests/js); relative paths are taken from the cwd."""
    if os.environ.get("ITSOR_COMPONENT"):
        return Path(os.environ["ITSOR_COMPONENT"]).resolve()
    target = Path(os.environ["CARGO_TARGET_DIR"]).resolve() if os.environ.get("CARGO_TARGET_DIR") else REPO / "target"
    return target / "wasm32-wasip2" / "component" / "itsor_auth.wasm"


COMPONENT = component_path()
MIGRATIONS = REPO / "migrations"

SQLITE = "spin:sqlite/sqlite@3.0.0"
POSTGRES = "spin:postgres/postgres@4.0.0"
VARIABLES = "fermyon:spin/variables@2.0.0"
ACCOUNTS = "itsor:auth/accounts@0.2.0"

# The host's identifiers of the `connection` resource types (any u32 unique to this host).
CONNECTION_TYPE = 1
PG_CONNECTION_TYPE = 2


# --------------------------------------------------------------------------------------
# The host: spin:sqlite on sqlite3, fermyon:spin/variables on a dict.
# --------------------------------------------------------------------------------------


def sqlite_error(tag: str, message: Optional[str] = None) -> Variant:
    """A `spin:sqlite` `error` (a tagged variant: several cases carry no payload)."""
    return Variant(tag, message)


class SqliteHost:
    """`spin:sqlite/sqlite@3.0.0` over one SQLite file; `connection`s are integer reps."""

    def __init__(self, path: Path):
        # Autocommit: every statement commits on its own, like the Rust host.
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.connections: Dict[int, Dict[str, int]] = {}
        self.next_rep = 1
        self.opened = 0
        self.dropped = 0

    def apply_migrations(self) -> None:
        for sql in sorted(MIGRATIONS.glob("*.sql")):
            self.db.executescript(sql.read_text())

    def _state(self, store: Any, conn: ResourceAny) -> Optional[Dict[str, int]]:
        # A `borrow<connection>` arrives as a ResourceAny. Converting it with `to_host` is
        # also what ends wasmtime's borrow tracking for it: a host function that returns
        # without doing so fails the guest's call with "borrow handles still remain at the
        # end of the call".
        host = conn.to_host(store)
        if host.type != CONNECTION_TYPE:
            return None
        return self.connections.get(host.rep)

    # [static]connection.open: func(database: string) -> result<connection, error>
    def open(self, store: Any, database: str) -> Any:
        if database != "default":
            return sqlite_error("no-such-database")
        rep = self.next_rep
        self.next_rep += 1
        self.connections[rep] = {"changes": 0, "last_insert_rowid": 0}
        self.opened += 1
        return ResourceHost.own(rep, CONNECTION_TYPE)

    # [method]connection.execute: func(statement, parameters: list<value>)
    #     -> result<query-result, error>
    def execute(self, store: Any, conn: ResourceAny, statement: str, parameters: list) -> Any:
        state = self._state(store, conn)
        if state is None:
            return sqlite_error("invalid-connection")
        return self.run(state, statement, parameters)

    def run(self, state: Dict[str, int], statement: str, parameters: list) -> Any:
        """Runs one statement for a connection whose bookkeeping is `state`."""
        before = self.db.total_changes
        try:
            cursor = self.db.execute(statement, parameters)
            rows = cursor.fetchall()
        except sqlite3.Error as err:
            return sqlite_error("io", str(err))
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
            return sqlite_error("io", "transactions are not supported by this host")
        if self.db.total_changes != before:
            state["changes"] = self.db.total_changes - before
            state["last_insert_rowid"] = cursor.lastrowid or state["last_insert_rowid"]
        else:
            state["changes"] = 0
        result = Record()
        result.columns = [d[0] for d in cursor.description or []]
        result.rows = []
        for row in rows:
            row_result = Record()
            # `value` is an untagged variant here: int, float, str, bytes or None.
            row_result.values = list(row)
            result.rows.append(row_result)
        return result

    # [method]connection.last-insert-rowid: func() -> s64
    def last_insert_rowid(self, store: Any, conn: ResourceAny) -> int:
        state = self._state(store, conn)
        return state["last_insert_rowid"] if state else 0

    # [method]connection.changes: func() -> u64
    def changes(self, store: Any, conn: ResourceAny) -> int:
        state = self._state(store, conn)
        return state["changes"] if state else 0

    # The resource's destructor: the guest dropped its `connection`.
    def drop(self, store: Any, rep: int) -> None:
        if self.connections.pop(rep, None) is not None:
            self.dropped += 1

    def define(self, linker: Linker) -> None:
        with linker.root() as root:
            with root.add_instance(SQLITE) as sqlite:
                sqlite.add_resource("connection", ResourceType.host(CONNECTION_TYPE), self.drop)
                sqlite.add_func("[static]connection.open", self.open)
                sqlite.add_func("[method]connection.execute", self.execute)
                sqlite.add_func("[method]connection.last-insert-rowid", self.last_insert_rowid)
                sqlite.add_func("[method]connection.changes", self.changes)


class PostgresStub:
    """`spin:postgres/postgres@4.0.0`, refusing every connection; records the addresses."""

    def __init__(self) -> None:
        self.opened: list = []

    # [static]connection.open: func(address: string) -> result<connection, error>
    def open(self, store: Any, address: str) -> Any:
        self.opened.append(address)
        return Variant("connection-failed", "PostgreSQL is not available in this embedding")

    # query/execute: unreachable without a connection.
    def unreachable(self, store: Any, conn: ResourceAny, statement: str, params: list) -> Any:
        return Variant("other", "unreachable: no connection can be opened")

    def drop(self, store: Any, rep: int) -> None:
        pass

    def define(self, linker: Linker) -> None:
        with linker.root() as root:
            with root.add_instance(POSTGRES) as postgres:
                postgres.add_resource("connection", ResourceType.host(PG_CONNECTION_TYPE), self.drop)
                postgres.add_func("[static]connection.open", self.open)
                postgres.add_func("[method]connection.query", self.unreachable)
                postgres.add_func("[method]connection.execute", self.unreachable)


class VariablesHost:
    """`fermyon:spin/variables@2.0.0` from a dict."""

    def __init__(self, values: Dict[str, str]):
        self.values = dict(values)
        self.asked: list = []

    # get: func(name: string) -> result<string, error>
    def get(self, store: Any, name: str) -> Any:
        self.asked.append(name)
        if name in self.values:
            return self.values[name]
        return Variant("undefined", name)

    def define(self, linker: Linker) -> None:
        with linker.root() as root:
            with root.add_instance(VARIABLES) as variables:
                variables.add_func("get", self.get)


# --------------------------------------------------------------------------------------
# The guest: typed calls into itsor:auth/accounts.
# --------------------------------------------------------------------------------------


class AuthError(Exception):
    """An `itsor:auth/types.error` returned as `err`."""

    def __init__(self, variant: Variant):
        super().__init__(f"{variant.tag}: {variant.payload!r}")
        self.code = variant.tag
        self.payload = variant.payload


class Accounts:
    """The five functions of `itsor:auth/accounts@0.2.0` on one instance."""

    NAMES = ("signup", "login", "authenticate", "authorize", "logout")

    def __init__(self, store: Store, instance: Any):
        self.store = store
        interface = instance.get_export_index(store, ACCOUNTS)
        assert interface is not None, f"the component does not export {ACCOUNTS}"
        self.funcs = {}
        for name in self.NAMES:
            index = instance.get_export_index(store, name, interface)
            func = instance.get_func(store, index) if index is not None else None
            assert func is not None, f"{ACCOUNTS} has no function {name}"
            result = func.type(store).result
            # result<record | _, error>: `ok` is a Record or None and `err` a tagged Variant,
            # so the untagged Python value says which side it is.
            assert isinstance(result, ResultType), name
            assert result.ok is None or isinstance(result.ok, RecordType), name
            assert isinstance(result.err, VariantType) and result.err._tagged(), name
            self.funcs[name] = func

    def _call(self, name: str, *args: Any) -> Any:
        value = self.funcs[name](self.store, *args)
        if isinstance(value, Variant):
            raise AuthError(value)
        return value

    def signup(self, email: str, password: str, name: Optional[str] = None) -> Record:
        return self._call("signup", email, password, name)

    def login(self, email: str, password: str) -> Record:
        return self._call("login", email, password)

    def authenticate(self, token: str) -> Record:
        return self._call("authenticate", token)

    def authorize(self, token: str, owner_id: str) -> Record:
        return self._call("authorize", token, owner_id)

    def logout(self, token: str) -> None:
        return self._call("logout", token)


class Embedded:
    """One store and instance of the component over a fresh, migrated database."""

    def __init__(self, engine: Engine, component: Component, directory: Path, variables: Dict[str, str]):
        self.db_path = directory / "itsor.db"
        self.sqlite = SqliteHost(self.db_path)
        self.sqlite.apply_migrations()
        self.variables = VariablesHost(variables)
        self.postgres = PostgresStub()

        linker = Linker(engine)
        linker.add_wasip2()
        linker.add_wasi_http()  # the component also exports wasi:http/incoming-handler
        self.sqlite.define(linker)
        self.postgres.define(linker)
        self.variables.define(linker)

        self.store = Store(engine)
        wasi = WasiConfig()
        wasi.inherit_stdout()
        wasi.inherit_stderr()
        self.store.set_wasi(wasi)
        self.store.set_wasi_http()
        self.instance = linker.instantiate(self.store, component)
        self.accounts = Accounts(self.store, self.instance)

    def query(self, sql: str, *params: Any) -> list:
        return self.sqlite.db.execute(sql, params).fetchall()


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------

SETTINGS = {
    "backend_env": "test",
    "jwt_secret": "python-embedding-secret-0123456789abcdef",
    "jwt_issuer": "itsor-python",
    "jwt_access_seconds": "120",
}
PASSWORD = "SecurePass123!"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture(scope="module")
def component(engine: Engine) -> Component:
    if not COMPONENT.is_file():
        how = (
            "ITSOR_COMPONENT names a file that does not exist"
            if os.environ.get("ITSOR_COMPONENT")
            else "build it first (from the repo root: `make component`, with the same "
            "CARGO_TARGET_DIR), or point ITSOR_COMPONENT at the .wasm"
        )
        pytest.fail(f"component not found: {COMPONENT}: {how}")
    return Component.from_file(engine, COMPONENT)


@pytest.fixture
def make(engine: Engine, component: Component, tmp_path: Path) -> Callable[..., Embedded]:
    def build(variables: Dict[str, str] = SETTINGS) -> Embedded:
        directory = Path(tempfile.mkdtemp(dir=tmp_path))
        return Embedded(engine, component, directory, variables)

    return build


def jwt_part(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jwt_header(token: str) -> dict:
    return jwt_part(token, 0)


def jwt_claims(token: str) -> dict:
    return jwt_part(token, 1)


def error_of(call: Callable[[], Any]) -> AuthError:
    with pytest.raises(AuthError) as caught:
        call()
    return caught.value


def test_imports_are_what_the_host_provides(component: Component, engine: Engine) -> None:
    imports = component.type.imports(engine)
    assert SQLITE in imports and VARIABLES in imports
    sqlite_funcs = set(imports[SQLITE].ty.exports(engine))
    assert {"connection", "[static]connection.open", "[method]connection.execute"} <= sqlite_funcs
    assert ACCOUNTS in component.type.exports(engine)


def test_full_flow(make: Callable[..., Embedded]) -> None:
    host = make()
    api = host.accounts

    user = api.signup("  Test@Example.COM ", PASSWORD, "Test User")
    assert isinstance(user, Record)
    assert user.email == "test@example.com"
    assert user.name == "Test User"
    assert len(user.id) == 36
    assert getattr(user, "created-at").endswith("Z")
    # Really stored, with a password hash and not the password.
    [(stored_email, password_hash)] = host.query(
        "SELECT email, password_hash FROM users WHERE id = ?", user.id
    )
    assert stored_email == "test@example.com"
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash

    # Duplicate sign-up (any spelling of the address) is the typed `email-taken`.
    taken = error_of(lambda: api.signup("test@example.com", "AnotherPass456!", None))
    assert taken.code == "email-taken" and taken.payload is None

    wrong = error_of(lambda: api.login("test@example.com", "wrong-password"))
    assert wrong.code == "invalid-credentials"

    login = api.login("test@example.com", PASSWORD)
    token = getattr(login, "access-token")
    assert getattr(login, "token-type") == "bearer"
    assert getattr(login, "expires-in") == 120  # jwt_access_seconds from the dict
    assert login.user.id == user.id
    claims = jwt_claims(token)
    # jwt_algorithm is not in the dict: `undefined(name)` makes the component use its default.
    assert "jwt_algorithm" in host.variables.asked
    assert jwt_header(token)["alg"] == "HS256"
    assert claims["iss"] == "itsor-python"  # jwt_issuer from the dict
    assert claims["sub"] == user.id

    me = api.authenticate(token)
    assert me.id == user.id and me.email == "test@example.com"

    # Ownership: the token's own user is allowed; another user's id is `forbidden`.
    assert api.authorize(token, user.id).id == user.id
    other = api.signup("other@example.com", PASSWORD, None)
    assert other.name is None
    forbidden = error_of(lambda: api.authorize(token, other.id))
    assert forbidden.code == "forbidden"

    assert api.logout(token) is None
    [(revoked_at,)] = host.query("SELECT revoked_at FROM sessions WHERE user_id = ?", user.id)
    assert revoked_at is not None
    assert api.logout(token) is None  # revoking a revoked session succeeds

    revoked = error_of(lambda: api.authenticate(token))
    assert revoked.code == "invalid-token" and revoked.payload is None
    assert error_of(lambda: api.authorize(token, user.id)).code == "invalid-token"

    # Every `connection` the guest opened was dropped again through the resource dtor.
    assert host.sqlite.opened > 0
    assert host.sqlite.dropped == host.sqlite.opened
    assert host.sqlite.connections == {}


def test_typed_errors_with_payloads(make: Callable[..., Embedded]) -> None:
    api = make().accounts

    invalid = error_of(lambda: api.signup("not-an-email", PASSWORD, None))
    assert invalid.code == "invalid-input"
    assert isinstance(invalid.payload, Record) and invalid.payload.field == "email"

    short = error_of(lambda: api.signup("short@example.com", "short", None))
    assert short.code == "invalid-input" and short.payload.field == "password"

    assert error_of(lambda: api.authenticate("not.a.jwt")).code == "invalid-token"


def test_variables_come_from_the_dict(make: Callable[..., Embedded]) -> None:
    # Outside local/dev/test a short secret is refused with the typed `misconfigured`.
    host = make({"backend_env": "production", "jwt_secret": "too-short"})
    err = error_of(lambda: host.accounts.signup("a@example.com", PASSWORD, None))
    assert err.code == "misconfigured"
    # The payload is the caller-safe text (components/auth/src/typed.rs), never the secret.
    assert isinstance(err.payload, str) and "too-short" not in err.payload
    assert {"database_url", "backend_env", "jwt_secret"} <= set(host.variables.asked)
    assert host.query("SELECT COUNT(*) FROM users") == [(0,)]


def test_a_postgres_database_url_goes_to_spin_postgres(make: Callable[..., Embedded]) -> None:
    url = "postgresql://itsor:pw@db.invalid/itsor"
    host = make({**SETTINGS, "database_url": url})
    err = error_of(lambda: host.accounts.signup("a@example.com", PASSWORD, None))
    assert err.code == "unavailable"
    assert isinstance(err.payload, str) and "pw@" not in err.payload
    assert host.postgres.opened == [url], "the component opened exactly the configured address"
    assert host.query("SELECT COUNT(*) FROM users") == [(0,)], "nothing went to SQLite"


def test_sqlite_host_errors_reach_the_guest(make: Callable[..., Embedded]) -> None:
    host = make()
    host.accounts.signup("db@example.com", PASSWORD, None)
    host.sqlite.db.execute("DROP TABLE sessions")
    err = error_of(lambda: host.accounts.login("db@example.com", PASSWORD))
    assert err.code == "internal"


# The itsor build imports only `open` and `execute` of `connection`. This small component
# (written for this test) imports the two other methods and re-exports them, so the Python
# definitions of `last-insert-rowid` and `changes` are linked and called through the
# component model too. It drops the borrowed handle before returning, as the ABI requires.
CONNECTION_METHODS_WAT = r"""
(component
  (import "spin:sqlite/sqlite@3.0.0" (instance $sqlite
    (export "connection" (type $c (sub resource)))
    (export "[method]connection.last-insert-rowid" (func (param "self" (borrow $c)) (result s64)))
    (export "[method]connection.changes" (func (param "self" (borrow $c)) (result u64)))))
  (alias export $sqlite "connection" (type $connection))
  (alias export $sqlite "[method]connection.last-insert-rowid" (func $rowid))
  (alias export $sqlite "[method]connection.changes" (func $changes))
  (core func $rowid-lower (canon lower (func $rowid)))
  (core func $changes-lower (canon lower (func $changes)))
  (core func $drop (canon resource.drop $connection))
  (core module $m
    (import "host" "rowid" (func $rowid (param i32) (result i64)))
    (import "host" "changes" (func $changes (param i32) (result i64)))
    (import "host" "drop" (func $drop (param i32)))
    (func (export "rowid") (param $h i32) (result i64)
      (call $rowid (local.get $h))
      (call $drop (local.get $h)))
    (func (export "changes") (param $h i32) (result i64)
      (call $changes (local.get $h))
      (call $drop (local.get $h))))
  (core instance $i (instantiate $m (with "host" (instance
    (export "rowid" (func $rowid-lower))
    (export "changes" (func $changes-lower))
    (export "drop" (func $drop))))))
  (func (export "last-insert-rowid") (param "c" (borrow $connection)) (result s64)
    (canon lift (core func $i "rowid")))
  (func (export "changes") (param "c" (borrow $connection)) (result u64)
    (canon lift (core func $i "changes"))))
"""


def test_connection_methods_through_a_component(engine: Engine, tmp_path: Path) -> None:
    sqlite = SqliteHost(tmp_path / "methods.db")
    sqlite.apply_migrations()
    linker = Linker(engine)
    sqlite.define(linker)
    store = Store(engine)
    instance = linker.instantiate(store, Component(engine, CONNECTION_METHODS_WAT))
    last_insert_rowid = instance.get_func(store, "last-insert-rowid")
    changes = instance.get_func(store, "changes")

    rep = sqlite.open(None, "default").rep
    state = sqlite.connections[rep]
    conn = lambda: ResourceHost.borrow(rep, CONNECTION_TYPE)  # noqa: E731
    assert (last_insert_rowid(store, conn()), changes(store, conn())) == (0, 0)

    insert = "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?, ?, 'x', 't', 't')"
    assert isinstance(sqlite.run(state, insert, ["u1", "one@example.com"]), Record)
    assert isinstance(sqlite.run(state, insert, ["u2", "two@example.com"]), Record)
    assert (last_insert_rowid(store, conn()), changes(store, conn())) == (2, 1)

    sqlite.run(state, "UPDATE users SET name = 'n'", [])
    assert (last_insert_rowid(store, conn()), changes(store, conn())) == (2, 2)

    failed = sqlite.run(state, insert, ["u3", "one@example.com"])
    assert isinstance(failed, Variant) and failed.tag == "io" and "UNIQUE" in failed.payload
    assert sqlite.run(state, "SELECT 1 WHERE 0", []).rows == []
    assert changes(store, conn()) == 0


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-v"]))
