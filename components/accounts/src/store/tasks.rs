//! The `tasks` table: every statement is scoped to the owner's id, so a task of another
//! user is indistinguishable from one that does not exist (see [`crate::tasks`]).

use serde::Serialize;

use super::Store;
use crate::clock::Timestamp;
use crate::db::{Database, DbError, Row, Value};

/// A task as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// UUID.
    pub id: String,
    /// The owner's id.
    pub user_id: String,
    /// 1 to 200 characters.
    pub title: String,
    /// Up to 2000 characters.
    pub description: Option<String>,
    /// Done or not.
    pub completed: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
}

const COLUMNS: &str = "id, user_id, title, description, completed, created_at, updated_at";

fn task_from(row: &Row) -> Result<Task, DbError> {
    Ok(Task {
        id: row.text(0)?,
        user_id: row.text(1)?,
        title: row.text(2)?,
        description: row.opt_text(3)?,
        completed: row.boolean(4)?,
        created_at: row.text(5)?,
        updated_at: row.text(6)?,
    })
}

impl<D: Database> Store<D> {
    /// The owner's tasks, newest first (by insertion order), only those whose completion is
    /// `completed` when given: at most `limit` of them after skipping `offset`.
    pub fn list_tasks(
        &self,
        owner: &str,
        completed: Option<bool>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Task>, DbError> {
        let (filter, mut params) = match completed {
            Some(done) => (" AND completed = ?", vec![Value::uuid(owner), Value::from(done)]),
            None => ("", vec![Value::uuid(owner)]),
        };
        params.extend([Value::Integer(i64::from(limit)), Value::Integer(i64::from(offset))]);
        let sql = format!(
            "SELECT {COLUMNS} FROM tasks WHERE user_id = ?{filter} \
             ORDER BY seq DESC LIMIT ? OFFSET ?"
        );
        self.db.query(&sql, &params)?.iter().map(task_from).collect()
    }

    /// Stores a new task, created and updated at `now`.
    pub fn insert_task(&self, task: &Task, now: Timestamp) -> Result<(), DbError> {
        self.db.query(
            &format!("INSERT INTO tasks ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
            &[
                Value::uuid(&task.id),
                Value::uuid(&task.user_id),
                task.title.as_str().into(),
                task.description.as_deref().into(),
                task.completed.into(),
                now.into(),
                now.into(),
            ],
        )?;
        Ok(())
    }

    /// The owner's task `id` (a UUID), if there is one.
    pub fn task(&self, owner: &str, id: &str) -> Result<Option<Task>, DbError> {
        let rows = self.db.query(
            &format!("SELECT {COLUMNS} FROM tasks WHERE id = ? AND user_id = ?"),
            &[Value::uuid(id), Value::uuid(owner)],
        )?;
        rows.first().map(task_from).transpose()
    }

    /// Overwrites the owner's task `id` with these fields, updated at `now`; the task as
    /// stored, or `None` if the owner has no such task.
    pub fn update_task(
        &self,
        owner: &str,
        id: &str,
        title: &str,
        description: Option<&str>,
        completed: bool,
        now: Timestamp,
    ) -> Result<Option<Task>, DbError> {
        let rows = self.db.query(
            &format!(
                "UPDATE tasks SET title = ?, description = ?, completed = ?, updated_at = ? \
                 WHERE id = ? AND user_id = ? RETURNING {COLUMNS}"
            ),
            &[title.into(), description.into(), completed.into(), now.into(), Value::uuid(id), Value::uuid(owner)],
        )?;
        rows.first().map(task_from).transpose()
    }

    /// Deletes the owner's task `id`; `false` if the owner has no such task.
    pub fn delete_task(&self, owner: &str, id: &str) -> Result<bool, DbError> {
        let rows = self.db.query(
            "DELETE FROM tasks WHERE id = ? AND user_id = ? RETURNING id",
            &[Value::uuid(id), Value::uuid(owner)],
        )?;
        Ok(!rows.is_empty())
    }
}
