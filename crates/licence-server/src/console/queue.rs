//! The one handler for the queues of the two review desks (`/console/reviews`,
//! `/console/applications`): each desk says what waits, its columns and how a row reads; this
//! shows them as a table with a link to each, overdue rows flagged.

use askama::Template;
use axum::extract::{Path, State};

use super::{
    registry_entry_of, render, store, Console, ConsoleError, Decided, Decision, DecisionForm,
    Figure, Flash, Layout, Page, Refusal, Reviewing, Submitted,
};
use crate::store::{Account, AccountId, RegistryEntry, Store, StoreError};
use crate::AppState;

/// A review desk's queue. Declared with [`review_queue!`], which says each desk in a few lines.
pub(super) trait Queue: 'static {
    type Item: Send + 'static;
    const TITLE: &'static str;
    /// Where the queue is; item `id` is at `{PATH}/{id}`, its pictures below that.
    const PATH: &'static str;
    /// The class of the links that open an item (what the browser tests look for).
    const LINK_CLASS: &'static str;
    /// The column headings, the link's column aside.
    const HEADINGS: &'static [&'static str];

    /// Refused when the item asked for is not there.
    const MISSING: Refusal;

    /// The first `limit` of what waits, in the order shown.
    fn waiting(s: &dyn Store, limit: usize) -> Result<Vec<Self::Item>, StoreError>;
    /// The desk's figures for its team lead (label, value), above the queue.
    fn summary(s: &dyn Store) -> Result<Vec<(&'static str, String)>, StoreError>;
    /// Item `id`, waiting or decided.
    fn find(s: &dyn Store, id: i64) -> Result<Option<Self::Item>, StoreError>;
    fn account_of(item: &Self::Item) -> AccountId;
    fn id_of(item: &Self::Item) -> i64;
    fn row(item: Self::Item, account: Option<Account>) -> Row;
    /// The page of item `id`, once opened.
    fn show(opened: Opened<Self::Item>, console: &Console<Reviewing>, id: i64) -> Page;
    /// Records a reviewer's decision, tells the person, and says what became of it.
    fn decide(posted: Posted) -> impl std::future::Future<Output = Page> + Send;
}

/// A decision posted on an item of a desk's queue.
pub(super) struct Posted {
    pub state: AppState,
    pub console: Console<Reviewing>,
    pub id: i64,
    pub form: DecisionForm,
}

/// `review_queue!(Desk: Item at PATH, titled TITLE, links CLASS, columns [..],
/// unknown REFUSAL, waiting FN, summary FN, one STORE_CALL, row FN, page FN, decide FN)`: desk
/// `Desk`'s queue of `Item`s (each has an `account`): what waits and the desk's figures (each
/// a function of the store), the store's call for item `id`, how a waiting item reads as a
/// row, its page, and how a decision is taken.
macro_rules! review_queue {
    ($desk:ident: $item:ident at $path:literal, titled $title:expr, links $link:literal,
     columns $headings:expr, unknown $missing:ident, waiting $waiting:path,
     summary $summary:path, one $find:ident,
     row $row:path, page $show:path, decide $decide:path) => {
        impl $crate::console::queue::Queue for $desk {
            type Item = $item;
            const TITLE: &'static str = $title;
            const PATH: &'static str = $path;
            const LINK_CLASS: &'static str = $link;
            const HEADINGS: &'static [&'static str] = &$headings;
            const MISSING: $crate::console::Refusal = $crate::console::Refusal::$missing;

            fn waiting(
                s: &dyn $crate::store::Store,
                limit: usize,
            ) -> Result<Vec<$item>, $crate::store::StoreError> {
                $waiting(s, limit)
            }

            fn summary(
                s: &dyn $crate::store::Store,
            ) -> Result<Vec<(&'static str, String)>, $crate::store::StoreError> {
                $summary(s)
            }

            fn find(
                s: &dyn $crate::store::Store,
                id: i64,
            ) -> Result<Option<$item>, $crate::store::StoreError> {
                s.$find(id)
            }

            fn account_of(item: &$item) -> $crate::store::AccountId {
                item.account
            }

            fn id_of(item: &$item) -> i64 {
                item.id
            }

            fn row(
                item: $item,
                account: Option<$crate::store::Account>,
            ) -> $crate::console::queue::Row {
                $row(item, account)
            }

            fn show(
                opened: $crate::console::queue::Opened<$item>,
                console: &$crate::console::Console<$crate::console::Reviewing>,
                id: i64,
            ) -> $crate::console::Page {
                $show(opened, console, id)
            }

            fn decide(
                posted: $crate::console::queue::Posted,
            ) -> impl std::future::Future<Output = $crate::console::Page> + Send {
                $decide(posted)
            }
        }
    };
}
pub(super) use review_queue;

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

/// The page of item `id` of desk `Q`: opened (refused when it, or its account, is not
/// there), then shown as the desk shows it.
pub(super) async fn page<Q: Queue>(
    State(state): State<AppState>,
    console: Console<Reviewing>,
    Path(id): Path<i64>,
) -> Page {
    let opened = open::<Q>(&state, &console, id).await?;
    Q::show(opened, &console, id)
}

/// A decision on item `id` of desk `Q`, posted with the session's form token.
pub(super) async fn decide<Q: Queue>(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Submitted { console, form }: Submitted<Reviewing, DecisionForm>,
) -> Page {
    Q::decide(Posted {
        state,
        console,
        id,
        form,
    })
    .await
}

/// Opens item `id` of queue `Q` (refused when it, or its account, is not there).
async fn open<Q: Queue>(
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

/// How many waiting items a queue lists (the first in its order); a desk's figures count
/// them all.
const QUEUE_SHOWN: usize = 50;

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    layout: Layout,
    summary: Vec<(&'static str, String)>,
    link_class: &'static str,
    headings: &'static [&'static str],
    rows: Vec<Row>,
}

pub(super) async fn serve<Q: Queue>(
    State(state): State<AppState>,
    console: Console<Reviewing>,
) -> Page {
    let (summary, rows) = store(&state, |s| {
        let rows = Q::waiting(s, QUEUE_SHOWN)?
            .into_iter()
            .map(|item| {
                let account = s.account(Q::account_of(&item))?;
                Ok(Q::row(item, account))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((Q::summary(s)?, rows))
    })
    .await?;
    render(QueuePage {
        layout: console.layout(Q::TITLE),
        summary,
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

/// The decision form of item `id` of desk `Q`: its labels (the reason, the note, the reject
/// button) and the reasons offered, (code, words) each.
pub(super) fn decision_form<Q: Queue>(
    id: i64,
    [reason_label, note_label, reject_label]: [&'static str; 3],
    reasons: Vec<(String, String)>,
) -> Decision {
    Decision {
        action: format!("{}/{id}", Q::PATH),
        reason_label,
        note_label,
        reject_label,
        reasons,
    }
}

/// The page after a decision on queue `Q`: whose application, what became of it, the next
/// one waiting (Alt+N opens it, so a reviewer goes through the queue from the keyboard), and
/// the way back to the queue.
pub(super) async fn after_decision<Q: Queue>(
    state: &AppState,
    console: &Console<Reviewing>,
    name: &str,
    outcome: &str,
) -> Page {
    let next = store(state, |s| {
        Ok(Q::waiting(s, 1)?
            .first()
            .map(|item| format!("{}/{}", Q::PATH, Q::id_of(item))))
    })
    .await?;
    render(Decided {
        layout: console
            .layout(Q::TITLE)
            .with_flash(Some(Flash::Done(format!(
                "{name} 的申请{outcome}。申请人将收到短信通知。"
            )))),
        next,
        back: Q::PATH,
    })
}
