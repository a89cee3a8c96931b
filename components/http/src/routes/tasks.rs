//! `/api/{user_id}/tasks[/{task_id}]`: the caller's tasks, and nobody else's.
//!
//! Order of checks: a token (`401`), then the path's `user_id` is the token's user (`403`),
//! then the task belongs to them (`404`, never revealing other users' ids).

use itsor_accounts::db::Database;
use itsor_accounts::tasks::{DEFAULT_PAGE, Page, Patch};
use itsor_accounts::{Accounts, AuthError, Task, User};
use serde_json::json;

use super::auth::required_token;
use crate::body::{Accept, Fields};
use crate::{ApiError, Request, Response};

fn owner<D: Database>(request: &Request, accounts: &Accounts<D>, user_id: &str) -> Result<User, ApiError> {
    Ok(accounts.authorize(required_token(request, accounts)?, user_id)?)
}

/// `GET` (list) and `POST` (create).
pub fn collection<D: Database>(request: &Request, accounts: &Accounts<D>, user_id: &str) -> Result<Response, ApiError> {
    let owner = owner(request, accounts, user_id)?;
    let tasks = accounts.tasks(&owner);
    if request.method == "POST" {
        let fields = Fields::read(request, Accept::Json)?;
        let task = tasks.create(fields.string("title")?, fields.optional_string("description")?)?;
        return Ok(Response::json(201, &task_json(&task)));
    }
    let listed = tasks.list(page(request)?)?;
    Ok(Response::json(200, &serde_json::Value::Array(listed.iter().map(task_json).collect())))
}

/// `GET`, `PUT` (replace), `PATCH` (any subset) and `DELETE`.
pub fn item<D: Database>(
    request: &Request,
    accounts: &Accounts<D>,
    user_id: &str,
    task_id: &str,
) -> Result<Response, ApiError> {
    let owner = owner(request, accounts, user_id)?;
    let tasks = accounts.tasks(&owner);
    let task = match request.method.as_str() {
        "PUT" => {
            let fields = Fields::read(request, Accept::Json)?;
            let replacement = Patch {
                title: Some(fields.string("title")?.to_owned()),
                description: Some(fields.optional_string("description")?.map(str::to_owned)),
                completed: Some(fields.optional_bool("completed")?.unwrap_or(false)),
            };
            tasks.update(task_id, replacement)?
        }
        "PATCH" => {
            let fields = Fields::read(request, Accept::Json)?;
            let patch = Patch {
                title: fields.optional_string("title")?.map(str::to_owned),
                description: fields.nullable_string("description")?.map(|d| d.map(str::to_owned)),
                completed: fields.optional_bool("completed")?,
            };
            tasks.update(task_id, patch)?
        }
        "DELETE" => {
            tasks.delete(task_id)?;
            return Ok(Response::empty(204));
        }
        _ => tasks.get(task_id)?,
    };
    Ok(Response::json(200, &task_json(&task)))
}

/// `limit` (1–100, default 50), `offset` (default 0) and `completed` (`true`/`false`).
fn page(request: &Request) -> Result<Page, ApiError> {
    let query = Fields::urlencoded(request.query.as_deref().unwrap_or_default())?;
    let number = |name: &str, default: u32| -> Result<u32, AuthError> {
        query
            .optional_string(name)?
            .map_or(Ok(default), |text| text.parse().map_err(|_| AuthError::invalid(name, "must be a whole number")))
    };
    let completed = match query.optional_string("completed")? {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(AuthError::invalid("completed", "must be true or false").into()),
    };
    Ok(Page { limit: number("limit", DEFAULT_PAGE)?, offset: number("offset", 0)?, completed }.validated()?)
}

fn task_json(task: &Task) -> serde_json::Value {
    json!({
        "id": task.id,
        "user_id": task.user_id,
        "title": task.title,
        "description": task.description,
        "completed": task.completed,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    })
}
