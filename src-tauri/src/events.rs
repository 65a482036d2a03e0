//! The events the app sends the window, each named once, here: a payload type with its event
//! name. The UI's side, `ui/src/generated/events.ts` (the names, the payload types and the map
//! from one to the other), is generated from these by
//! `UPDATE_TS=1 cargo test -p licence-app --lib events`, as the views are from licence-client.

use licence_client::views::InboxMessageView;
use serde::Serialize;
use tauri::{Emitter, Runtime};
use ts_rs::TS;

/// A payload the app sends the window, and the name it goes under.
pub trait AppEvent: Serialize + Clone {
    const NAME: &'static str;
}

/// The outbox sent an application, or gave up on one, in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct OutboxChanged;

impl AppEvent for OutboxChanged {
    const NAME: &'static str = "outbox-changed";
}

/// A review result arrived through the inbox listener (a newtype: serialized as the message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct InboxMessage(pub InboxMessageView);

impl AppEvent for InboxMessage {
    const NAME: &'static str = "inbox-message";
}

/// What the e-licence page (or an officer's list freshness) shows changed in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct ElicenceChanged;

impl AppEvent for ElicenceChanged {
    const NAME: &'static str = "elicence-changed";
}

/// Sends `event` to every window; a window that is gone is no one's problem.
pub fn emit<R: Runtime, E: AppEvent>(handle: &tauri::AppHandle<R>, event: E) {
    let _ = handle.emit(E::NAME, event);
}

/// One event for the generated file: its name, its payload type's name and declaration.
struct Declared {
    name: &'static str,
    payload: String,
    decl: String,
}

fn declared<E: AppEvent + TS>(cfg: &ts_rs::Config) -> Declared {
    Declared {
        name: E::NAME,
        payload: E::name(cfg),
        decl: E::decl(cfg),
    }
}

/// Every event, in one TypeScript file: the payload types, `EVENTS` (the names, by payload
/// type) and `EventPayloads` (the payload of each name), for `backend.ts` to listen with.
pub fn typescript_declarations() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let events = [
        declared::<OutboxChanged>(&cfg),
        declared::<InboxMessage>(&cfg),
        declared::<ElicenceChanged>(&cfg),
    ];
    let mut out = String::from(
        "// Generated from src-tauri/src/events.rs by\n\
         // `UPDATE_TS=1 cargo test -p licence-app --lib events`. Do not edit.\n\n\
         import type { InboxMessageView } from './types'\n",
    );
    for e in &events {
        out.push_str("\nexport ");
        out.push_str(&e.decl);
        out.push('\n');
    }
    out.push_str("\n/** Each event's name, by its payload type. */\nexport const EVENTS = {\n");
    for e in &events {
        out.push_str(&format!("  {}: '{}',\n", e.payload, e.name));
    }
    out.push_str(
        "} as const\n\n/** Each event's payload, by its name. */\nexport type EventPayloads = {\n",
    );
    for e in &events {
        out.push_str(&format!("  '{}': {},\n", e.name, e.payload));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UI's copy is what these types say; `UPDATE_TS=1` rewrites it after a change.
    #[test]
    fn the_ui_events_are_generated_from_these() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/generated/events.ts");
        licence_client::views::generated_file_is_current(
            &path,
            &typescript_declarations(),
            "UPDATE_TS=1 cargo test -p licence-app --lib events",
        )
        .unwrap();
    }

    #[test]
    fn names_are_unique_and_payloads_are_what_the_window_reads() {
        let names = [
            OutboxChanged::NAME,
            InboxMessage::NAME,
            ElicenceChanged::NAME,
        ];
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        // The signals carry nothing; a message is the message itself, not wrapped.
        assert_eq!(
            serde_json::to_value(OutboxChanged).unwrap(),
            serde_json::Value::Null
        );
        let message = InboxMessageView {
            id: 7,
            title: "审核结果".into(),
            body: "您的申请已通过".into(),
            created_at: 1_700_000_000,
            read: false,
        };
        let json = serde_json::to_value(InboxMessage(message)).unwrap();
        assert_eq!(json["id"], 7);
        assert_eq!(json["title"], "审核结果");
    }
}
