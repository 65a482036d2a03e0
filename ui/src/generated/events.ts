// Generated from src-tauri/src/events.rs by
// `UPDATE_TS=1 cargo test -p licence-app --lib events`. Do not edit.

import type { InboxMessageView } from './types'

export type OutboxChanged = null;

export type InboxMessage = InboxMessageView;

export type ElicenceChanged = null;

/** Each event's name, by its payload type. */
export const EVENTS = {
  OutboxChanged: 'outbox-changed',
  InboxMessage: 'inbox-message',
  ElicenceChanged: 'elicence-changed',
} as const

/** Each event's payload, by its name. */
export type EventPayloads = {
  'outbox-changed': OutboxChanged,
  'inbox-message': InboxMessage,
  'elicence-changed': ElicenceChanged,
}
