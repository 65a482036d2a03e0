//! The police staff who use the console, their console sessions, and the audit log of what
//! they did.

use super::StoreError;

stored_as_text! {
    /// What a member of staff may do at the console. Stored as `clerk`, `reviewer`, `admin`,
    /// `officer`.
    pub enum StaffRole {
        /// 窗口民警: counter face-sign and unit registration (R2.8, R2.9).
        Clerk,
        /// 审核民警: the manual ID-card reviews (R2.6).
        Reviewer,
        /// Everything, and the audit log.
        Admin,
        /// 执勤民警: checks e-licences at the roadside (online check), no console pages.
        Officer,
    }
}

impl StaffRole {
    /// The role spelled `s` (as stored), if there is one.
    pub fn parse(s: &str) -> Option<StaffRole> {
        s.parse().ok()
    }

    pub fn can_register(self) -> bool {
        matches!(self, StaffRole::Clerk | StaffRole::Admin)
    }

    pub fn can_review(self) -> bool {
        matches!(self, StaffRole::Reviewer | StaffRole::Admin)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub role: StaffRole,
    pub password_hash: String,
}

/// What a staff session opens: the console (a cookie) or the officer's API (a bearer token).
/// Each door takes only its own kind, so an officer's token, kept on a phone, never opens the
/// console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum StaffSessionKind {
    Console,
    Officer,
}

impl StaffSessionKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A staff session: who, the form token that proves a console POST came from our pages,
/// expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub staff: Staff,
    pub csrf: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// Staff, console sessions and the audit log.
pub trait StaffStore: Send + Sync {
    fn create_staff(&self, staff: &Staff) -> Result<i64, StoreError>;
    fn staff_by_username(&self, username: &str) -> Result<Option<Staff>, StoreError>;
    /// Every member of staff, by username.
    fn staff_list(&self) -> Result<Vec<Staff>, StoreError>;

    // Staff sessions of a kind, by the SHA-256 of the token.
    fn put_staff_session(
        &self,
        token_hash: &[u8],
        kind: StaffSessionKind,
        staff: i64,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// The session of this kind with this token; one of another kind is not found.
    fn staff_session(
        &self,
        token_hash: &[u8],
        kind: StaffSessionKind,
    ) -> Result<Option<StaffSession>, StoreError>;
    fn delete_staff_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;
    /// Ends every session of this kind of one member of staff (an officer's "all devices").
    fn delete_staff_sessions(&self, staff: i64, kind: StaffSessionKind) -> Result<u64, StoreError>;
    /// Removes staff sessions that expired before `expired_before`; how many went.
    fn purge_staff_sessions(&self, expired_before: i64) -> Result<u64, StoreError>;

    // The audit log.
    fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The latest `limit` entries, newest first.
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}
