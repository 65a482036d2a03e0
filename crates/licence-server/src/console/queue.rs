//! The one handler for the queues of the two review desks (`/console/reviews`,
//! `/console/applications`): each desk says what waits, its columns and how a row reads; this
//! shows them as a table with a link to each, overdue rows flagged.

use askama::Template;
use axum::extract::State;

use super::{
    registry_entry_of, render, store, Console, ConsoleError, Decided, Figure, Flash, Layout, Page,
    Refusal, Reviewing,
};
use crate::store::{Account, AccountId, RegistryEntry, Store, StoreError};
use crate::AppState;

/// A review desk's queue.
pub(super) trait Queue: 'static {
    type Item: Send + 'static;
    const TITLE: &'static str;
    /// Where the queue is; item `id` is at `{PATH}/{id}`, its pictures below that.
    const PATH: &'static str;
    /// The table's `id` and the class of its links (what the browser tests look for).
    const TABLE_ID: &'static str;
    const LINK_CLASS: &'static str;
    /// The column headings, the link's column aside.
    const HEADINGS: &'static [&'static str];

    /// Refused when the item asked for is not there.
    const MISSING: Refusal;

    /// What waits, in the order shown.
    fn waiting(s: &dyn Store) -> Result<Vec<Self::Item>, StoreError>;
    /// Item `id`, waiting or decided.
    fn find(s: &dyn Store, id: i64) -> Result<Option<Self::Item>, StoreError>;
    fn account_of(item: &Self::Item) -> AccountId;
    fn row(item: Self::Item, account: Option<Account>) -> Row;
}

/// One waiting item as the queue shows it.
pub(super) struct Row {
    pub cells: Vec<String>,
    /// Where the reviewer opens it.
    pub href: String,
    pub overdue: bool,
}

/// The person an item under review belongs to, as its page shows them.
pub(super) struct Person {
    pub name: String,
    /// In full: the reviewer compares it with the pictures.
    pub id_number: String,
}

/// An item opened from the queue, with its person and their registry entry.
pub(super) struct Opened<T> {
    pub item: T,
    pub person: Person,
    pub entry: Option<RegistryEntry>,
}

/// Opens item `id` of queue `Q` (refused when it, or its account, is not there).
pub(super) async fn open<Q: Queue>(
    state: &AppState,
    console: &Console<Reviewing>,
    id: i64,
) -> Result<Opened<Q::Item>, ConsoleError> {
    let found = store(state, move |s| {
        let Some(item) = Q::find(s, id)? else {
            return Ok(None);
        };
        let account = s.account(Q::account_of(&item))?;
        let entry = registry_entry_of(s, account.as_ref())?;
        Ok(account.map(|a| (item, a, entry)))
    })
    .await?;
    let (item, account, entry) = found.ok_or_else(|| console.refuse(Q::MISSING))?;
    let person = Person {
        name: account.name,
        id_number: account
            .id_number
            .map(|id| id.to_string())
            .unwrap_or_default(),
    };
    Ok(Opened {
        item,
        person,
        entry,
    })
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    layout: Layout,
    table_id: &'static str,
    link_class: &'static str,
    headings: &'static [&'static str],
    rows: Vec<Row>,
}

pub(super) async fn serve<Q: Queue>(
    State(state): State<AppState>,
    console: Console<Reviewing>,
) -> Page {
    let rows = store(&state, |s| {
        Q::waiting(s)?
            .into_iter()
            .map(|item| {
                let account = s.account(Q::account_of(&item))?;
                Ok(Q::row(item, account))
            })
            .collect()
    })
    .await?;
    render(QueuePage {
        layout: console.layout(Q::TITLE),
        table_id: Q::TABLE_ID,
        link_class: Q::LINK_CLASS,
        headings: Q::HEADINGS,
        rows,
    })
}

/// Picture `name` of item `id` of queue `Q`, as its page shows it.
pub(super) fn figure<Q: Queue>(
    id: i64,
    name: &str,
    alt: &'static str,
    caption: &'static str,
) -> Figure {
    Figure {
        src: format!("{}/{id}/{name}", Q::PATH),
        alt,
        caption,
    }
}

/// The page after a decision on queue `Q`: whose application, what became of it, and the
/// way back to the queue.
pub(super) fn after_decision<Q: Queue>(
    console: &Console<Reviewing>,
    name: &str,
    outcome: &str,
) -> Page {
    render(Decided {
        layout: console
            .layout(Q::TITLE)
            .with_flash(Some(Flash::Done(format!(
                "{name} 的申请{outcome}。申请人将收到短信通知。"
            )))),
        back: Q::PATH,
    })
}
