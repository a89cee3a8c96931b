//! The host's `spin:postgres` provider against a real server, called as the guest calls
//! it: as strict as Spin 4.0.2's outbound PostgreSQL (so SQL that works on `itsor` works
//! under Spin), confined to the configured database, and refusing what would outlive a
//! statement on a pooled connection.

use std::time::Duration;

use itsor::bindings::spin::postgres::postgres::{DbValue, Error, HostConnection, ParameterValue, QueryError, RowSet};
use itsor::{PostgresHost, PostgresPool};

use crate::support::postgres;

/// A provider over a fresh database with one table of every type the logic uses.
fn provider(runtime: &tokio::runtime::Runtime) -> (PostgresHost, String) {
    let url = postgres::shared().create_database();
    runtime.block_on(async {
        let client = itsor::connect_postgres(&url).await.expect("connect");
        client
            .batch_execute(
                "CREATE TABLE t (id UUID PRIMARY KEY, n BIGINT, small INT, label TEXT, v VARCHAR(10), \
                 at TIMESTAMP, at_tz TIMESTAMPTZ, flag BOOLEAN)",
            )
            .await
            .expect("create the table");
    });
    let pool = PostgresPool::new(&url, 2, Duration::from_secs(5)).expect("a pool");
    (PostgresHost::new(Some(pool)), url)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

#[allow(clippy::result_large_err)] // the WIT error, as the provider returns it
fn query(
    runtime: &tokio::runtime::Runtime,
    host: &mut PostgresHost,
    url: &str,
    sql: &str,
    params: Vec<ParameterValue>,
) -> Result<RowSet, Error> {
    runtime.block_on(async {
        let conn = host.open(url.to_owned()).await.expect("open the configured database");
        host.query(conn, sql.to_owned(), params).await
    })
}

const ID: &str = "6f1c0c3e-2b7a-4d4e-9a39-3f1f4f9a0b11";

#[test]
fn parameters_bind_only_to_columns_of_their_own_type_as_under_spin() {
    let rt = runtime();
    let (mut host, url) = provider(&rt);
    let insert = "INSERT INTO t (id, n, label, v, at, flag) VALUES ($1, $2, $3, $4, $5, $6)";
    let good = vec![
        ParameterValue::Uuid(ID.into()),
        ParameterValue::Int64(7),
        ParameterValue::Str("label".into()),
        ParameterValue::Str("short".into()),
        ParameterValue::Datetime((2026, 1, 22, 10, 30, 0, 0)),
        ParameterValue::Boolean(true),
    ];
    query(&rt, &mut host, &url, insert, good.clone()).expect("typed parameters bind");
    // Each of these is refused by Spin's outbound PostgreSQL, and so here.
    let refused = [
        (0, ParameterValue::Str(ID.into())),                    // text for a uuid
        (1, ParameterValue::Int32(7)),                          // int32 for a bigint
        (4, ParameterValue::Str("2026-01-22 10:30:00".into())), // text for a timestamp
        (5, ParameterValue::Int64(1)),                          // an integer for a boolean
    ];
    for (index, value) in refused {
        let mut params = good.clone();
        params[index] = value.clone();
        let err = query(&rt, &mut host, &url, insert, params).expect_err("must not bind");
        assert!(matches!(err, Error::QueryFailed(QueryError::Text(_))), "{value:?}: {err:?}");
    }
    // `CAST($1 AS uuid)` makes the parameter itself a uuid, which text still cannot bind
    // to; a cast of a text parameter can (and the typed `uuid` case needs none).
    let text_id = || vec![ParameterValue::Str(ID.into())];
    query(&rt, &mut host, &url, "SELECT n FROM t WHERE id = CAST($1 AS uuid)", text_id())
        .expect_err("the parameter is a uuid");
    let rows = query(&rt, &mut host, &url, "SELECT id::text, n FROM t WHERE id = CAST($1::text AS uuid)", text_id())
        .expect("cast in SQL");
    assert!(
        matches!(rows.rows.as_slice(), [row] if matches!(&row[..], [DbValue::Str(id), DbValue::Int64(7)] if id == ID))
    );
}

#[test]
fn a_timestamptz_column_fails_the_query_as_under_spin() {
    let rt = runtime();
    let (mut host, url) = provider(&rt);
    let err = query(&rt, &mut host, &url, "SELECT now()", vec![]).expect_err("timestamptz cannot be read");
    assert!(matches!(err, Error::QueryFailed(QueryError::Text(_))), "{err:?}");
    let rows = query(&rt, &mut host, &url, "SELECT now() AT TIME ZONE 'UTC', now()::text, 1 = 1", vec![])
        .expect("timestamp and text can");
    assert!(
        matches!(&rows.rows[0][..], [DbValue::Datetime(_), DbValue::Str(_), DbValue::Boolean(true)]),
        "{:?}",
        rows.rows
    );
}

#[test]
fn errors_carry_the_servers_code_and_the_component_drops_their_detail() {
    let rt = runtime();
    let (mut host, url) = provider(&rt);
    let insert = "INSERT INTO t (id, label) VALUES ($1, $2)";
    let params = vec![ParameterValue::Uuid(ID.into()), ParameterValue::Str("secret-row-value".into())];
    query(&rt, &mut host, &url, insert, params.clone()).expect("first insert");
    let err = query(&rt, &mut host, &url, insert, params).expect_err("duplicate key");
    let Error::QueryFailed(QueryError::DbError(db)) = err else { panic!("a database error: {err:?}") };
    assert_eq!(db.code, "23505");
    // As under Spin, `detail` quotes the row: the component must (and does) keep only the
    // code and the message (components/auth/src/platform.rs, `postgres_error`).
    assert!(db.detail.is_some_and(|d| d.contains(ID)));
    assert!(!db.message.contains("secret-row-value"), "{}", db.message);
}

#[test]
fn only_the_configured_database_and_single_data_statements() {
    let rt = runtime();
    let (mut host, url) = provider(&rt);
    rt.block_on(async {
        let other = url.replace("/itsor_", "/postgres?x=");
        assert!(matches!(host.open(other).await, Err(Error::ConnectionFailed(_))), "another address is refused");
        let mut none = PostgresHost::new(None);
        assert!(matches!(none.open(url.clone()).await, Err(Error::ConnectionFailed(_))), "no database configured");
    });
    for sql in
        ["BEGIN", "SET statement_timeout = 0", "RESET ALL", "SAVEPOINT s", "CREATE TABLE x (a int)", "COPY t TO STDOUT"]
    {
        let err = query(&rt, &mut host, &url, sql, vec![]).expect_err(sql);
        assert!(matches!(err, Error::Other(_)), "{sql}: {err:?}");
    }
    let err = query(&rt, &mut host, &url, "SELECT 1; SELECT 2", vec![]).expect_err("two statements");
    assert!(matches!(err, Error::QueryFailed(_)), "{err:?}");
}

#[test]
fn a_statement_past_the_deadline_is_abandoned() {
    let rt = runtime();
    let (mut host, url) = provider(&rt);
    host.set_deadline(std::time::Instant::now() + Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = query(&rt, &mut host, &url, "SELECT pg_sleep(5)", vec![]).expect_err("abandoned");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(matches!(err, Error::ConnectionFailed(ref t) if t.contains("deadline")), "{err:?}");
    // The abandoned connection is not handed to the next statement, which would wait
    // behind the sleep still running on it.
    host.set_deadline(std::time::Instant::now() + Duration::from_secs(2));
    for _ in 0..2 {
        let started = std::time::Instant::now();
        query(&rt, &mut host, &url, "SELECT 1", vec![]).expect("a fresh connection answers");
        assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    }
}
