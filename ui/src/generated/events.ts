// Generated from src-tauri/src/events.rs by
// `UPDATE_TS=1 cargo test -p licence-app --lib events`. Do not edit.

import type { InboxMessageView, PreviewFrame, Progress, ScanOutcome } from './types'

export type AppEvent = { "kind": "outbox-changed" } | { "kind": "inbox-message", "payload": InboxMessageView } | { "kind": "elicence-changed" } | { "kind": "progress", "payload": Progress } | { "kind": "preview-frame", "payload": PreviewFrame } | { "kind": "scan-outcome", "payload": ScanOutcome };

export type EventBatch = { 
/**
 * The events after the one asked from, oldest first.
 */
events: Array<AppEvent>, 
/**
 * The number of the newest event: ask from it next time.
 */
last: number, 
/**
 * Events after the one asked from were let go before the window asked (it was away for
 * long): whatever it shows may be stale and should be loaded again.
 */
missed: boolean, };
