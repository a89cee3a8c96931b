//! Per-user tasks: the resource that shows ownership enforcement.
//!
//! Every operation takes the authenticated owner's id and scopes its query to it, so a
//! task of another user is indistinguishable from one that does not exist.

use crate::AuthError;
use crate::clock::Clock;
use crate::db::Database;
use crate::input::is_uuid;
use crate::store::Store;
pub use crate::store::Task;

/// The longest title, in characters.
pub(crate) const TITLE_MAX_CHARS: usize = 200;
/// The longest description, in characters.
pub(crate) const DESCRIPTION_MAX_CHARS: usize = 2000;
/// The largest page of a listing.
pub(crate) const MAX_PAGE: u32 = 100;
/// The page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 50;

/// Which page of a listing, optionally filtered by completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// From 1 to 100.
    pub limit: u32,
    /// Tasks skipped.
    pub offset: u32,
    /// Only tasks with this completion state.
    pub completed: Option<bool>,
}

impl Default for Page {
    fn default() -> Page {
        Page { limit: DEFAULT_PAGE, offset: 0, completed: None }
    }
}

/// A change to a task; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patch {
    /// A new title.
    pub title: Option<String>,
    /// A new description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// A new completion state.
    pub completed: Option<bool>,
}

fn title(raw: &str) -> Result<String, AuthError> {
    let title = raw.trim();
    match title.chars().count() {
        0 => Err(AuthError::invalid("title", "must not be empty")),
        n if n > TITLE_MAX_CHARS => Err(AuthError::invalid("title", "must be at most 200 characters")),
        _ => Ok(title.to_owned()),
    }
}

fn description(raw: Option<&str>) -> Result<Option<String>, AuthError> {
    match raw {
        Some(text) if text.chars().count() > DESCRIPTION_MAX_CHARS => {
            Err(AuthError::invalid("description", "must be at most 2000 characters"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

impl Page {
    /// Checks the bounds.
    pub fn validated(self) -> Result<Page, AuthError> {
        if (1..=MAX_PAGE).contains(&self.limit) {
            Ok(self)
        } else {
            Err(AuthError::invalid("limit", "must be from 1 to 100"))
        }
    }
}

/// The tasks of one owner (see [`Accounts::tasks`](crate::Accounts::tasks)).
pub struct Tasks<'a, D> {
    store: Store<D>,
    owner: &'a str,
    clock: &'a dyn Clock,
}

impl<'a, D: Database> Tasks<'a, D> {
    /// Tasks of `owner`, who must already be authenticated and authorised, in `db`; changes
    /// are stamped with `clock`'s time.
    pub(crate) fn of(db: D, owner: &'a str, clock: &'a dyn Clock) -> Tasks<'a, D> {
        Tasks { store: Store::new(db), owner, clock }
    }

    /// Newest first (by insertion order).
    pub fn list(&self, page: Page) -> Result<Vec<Task>, AuthError> {
        let page = page.validated()?;
        Ok(self.store.list_tasks(self.owner, page.completed, page.limit, page.offset)?)
    }

    /// Creates a task.
    pub fn create(&self, raw_title: &str, raw_description: Option<&str>) -> Result<Task, AuthError> {
        let now = self.clock.now();
        let task = Task {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: self.owner.to_owned(),
            title: title(raw_title)?,
            description: description(raw_description)?,
            completed: false,
            created_at: now.to_rfc3339(),
            updated_at: now.to_rfc3339(),
        };
        self.store.insert_task(&task, now)?;
        Ok(task)
    }

    /// One task, or [`AuthError::NotFound`] when the owner has no such task.
    pub fn get(&self, id: &str) -> Result<Task, AuthError> {
        if !is_uuid(id) {
            return Err(AuthError::NotFound);
        }
        self.store.task(self.owner, id)?.ok_or(AuthError::NotFound)
    }

    /// Applies `patch` (validated first) and returns the task as stored.
    pub fn update(&self, id: &str, patch: Patch) -> Result<Task, AuthError> {
        let title = patch.title.as_deref().map(title).transpose()?;
        let description = patch.description.map(|d| description(d.as_deref())).transpose()?;
        let current = self.get(id)?;
        if title.is_none() && description.is_none() && patch.completed.is_none() {
            return Ok(current);
        }
        let title = title.unwrap_or(current.title);
        let description = description.unwrap_or(current.description);
        let completed = patch.completed.unwrap_or(current.completed);
        let updated =
            self.store.update_task(self.owner, id, &title, description.as_deref(), completed, self.clock.now())?;
        updated.ok_or(AuthError::NotFound)
    }

    /// Deletes a task.
    pub fn delete(&self, id: &str) -> Result<(), AuthError> {
        if !is_uuid(id) {
            return Err(AuthError::NotFound);
        }
        if self.store.delete_task(self.owner, id)? { Ok(()) } else { Err(AuthError::NotFound) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::WallClock;

    fn database() -> rusqlite::Connection {
        let db = crate::schema::migrated_in_memory().expect("migrates");
        for id in ["alice", "bob"] {
            db.execute(
                "INSERT INTO users (id, email, password_hash, name, created_at, updated_at) \
                 VALUES (?1, ?1 || '@x.co', 'h', NULL, 't', 't')",
                [id],
            )
            .expect("user");
        }
        db
    }

    #[test]
    fn owners_see_only_their_tasks_newest_first() {
        let db = database();
        let alice = Tasks::of(&db, "alice", &WallClock);
        let first = alice.create("first", None).expect("creates");
        let second = alice.create(" second ", Some("details")).expect("creates");
        assert_eq!(second.title, "second");
        let listed: Vec<String> = alice.list(Page::default()).expect("lists").into_iter().map(|t| t.id).collect();
        assert_eq!(listed, [second.id.clone(), first.id.clone()]);
        let bob = Tasks::of(&db, "bob", &WallClock);
        assert_eq!(bob.get(&first.id), Err(AuthError::NotFound));
        assert_eq!(
            bob.update(&first.id, Patch { completed: Some(true), ..Patch::default() }),
            Err(AuthError::NotFound)
        );
        assert_eq!(bob.delete(&first.id), Err(AuthError::NotFound));
        assert!(bob.list(Page::default()).expect("lists").is_empty());
    }

    #[test]
    fn pages_filter_and_bounds() {
        let db = database();
        let alice = Tasks::of(&db, "alice", &WallClock);
        for n in 0..5 {
            let task = alice.create(&format!("t{n}"), None).expect("creates");
            if n % 2 == 0 {
                alice.update(&task.id, Patch { completed: Some(true), ..Patch::default() }).expect("updates");
            }
        }
        let page = |limit, offset, completed| alice.list(Page { limit, offset, completed });
        assert_eq!(page(2, 0, None).expect("lists").len(), 2);
        assert_eq!(page(2, 4, None).expect("lists").len(), 1);
        assert_eq!(page(100, 0, Some(true)).expect("lists").len(), 3);
        assert_eq!(page(100, 0, Some(false)).expect("lists").len(), 2);
        assert_eq!(page(0, 0, None), Err(AuthError::invalid("limit", "must be from 1 to 100")));
        assert!(page(101, 0, None).is_err());
    }

    #[test]
    fn patches_validate_and_clear() {
        let db = database();
        let alice = Tasks::of(&db, "alice", &WallClock);
        let task = alice.create("t", Some("d")).expect("creates");
        let cleared = alice.update(&task.id, Patch { description: Some(None), ..Patch::default() }).expect("updates");
        assert_eq!(cleared.description, None);
        assert_eq!(cleared.title, "t");
        let too_long = Patch { title: Some("x".repeat(201)), ..Patch::default() };
        assert!(
            matches!(alice.update(&task.id, too_long), Err(AuthError::InvalidInput { field, .. }) if field == "title")
        );
        assert!(matches!(alice.create("", None), Err(AuthError::InvalidInput { field, .. }) if field == "title"));
        assert!(alice.create("t", Some(&"d".repeat(2001))).is_err());
        alice.delete(&task.id).expect("deletes");
        assert_eq!(alice.get(&task.id), Err(AuthError::NotFound));
    }
}
