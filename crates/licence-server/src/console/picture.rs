//! The one handler for the pictures the review desks show (`/console/{desk}/{id}/{picture}`):
//! each desk says where its named pictures are kept; this serves them to reviewers only, never
//! cached (personal data).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::queue::Queue;
use super::{store, Console, ConsoleError, Refusal, Reviewing};
use crate::store::{AccountId, Store, StoreError};
use crate::AppState;

/// A review desk's pictures.
pub(super) trait Pictures: Queue {
    /// The item's picture called `name`, if it has one.
    fn picture(s: &dyn Store, item: Self::Item, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// The registry's photo of the person an account belongs to (`on-file`).
pub(super) fn on_file(s: &dyn Store, account: AccountId) -> Result<Option<Vec<u8>>, StoreError> {
    let account = s.account(account)?;
    Ok(super::registry_entry_of(s, account.as_ref())?.and_then(|e| e.photo))
}

/// The picture's type by its first bytes: PNG, or else JPEG (what the platform stores).
fn content_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

pub(super) async fn serve<D: Pictures>(
    State(state): State<AppState>,
    console: Console<Reviewing>,
    Path((id, name)): Path<(i64, String)>,
) -> Result<Response, ConsoleError> {
    let bytes = store(&state, move |s| match D::find(s, id)? {
        Some(item) => D::picture(s, item, &name),
        None => Ok(None),
    })
    .await?
    .ok_or_else(|| console.refuse(Refusal::NoSuchPicture))?;
    let headers = [
        (header::CONTENT_TYPE, content_type(&bytes)),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_typed_by_their_bytes() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n"), "image/png");
        assert_eq!(content_type(&[0xFF, 0xD8, 0xFF]), "image/jpeg");
    }
}
