//! What the credential's tests share: the moment they are set at.
#![allow(dead_code)] // each test file uses its own part

/// 2026-11-24 10:00:00 +08:00.
pub const NOW: i64 = 1_795_485_600;
pub const DAY: i64 = 86_400;
