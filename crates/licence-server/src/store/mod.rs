//! Storage behind narrow interfaces, one per aggregate of the domain, with two backends:
//! SQLite ([`SqliteStore`], one file: the default, for one machine and for tests) and
//! PostgreSQL ([`PostgresStore`], shared by several instances of the platform). The pieces
//! speak in domain records, never in SQL.
//!
//! | piece | owns |
//! |---|---|
//! | [`RegistryStore`] | the police registry, platform accounts (persons and units), ID-card reviews |
//! | [`StaffStore`] | console staff, their sessions, the audit log |
//! | [`AccessStore`] | limit events, one-time SMS codes, bearer sessions, device keys |
//! | [`ApplicationStore`] | e-licence applications with their history, status-list positions |
//! | [`MessageStore`] | the SMS outbox and the in-app inbox |
//!
//! [`Store`] is all of them: code that holds an `Arc<dyn Store>` calls any piece's methods
//! directly; code that holds a concrete store (a `SqliteStore`) imports the pieces it uses.

/// Declares an enum that is stored as text, with its spelling derived by strum in snake_case
/// (`SignIn` is `sign_in`): `as_str()` and `Display` give it, `FromStr` reads it back,
/// `VARIANTS` lists every one. Databases hold these spellings: never rename a variant
/// without a migration.
macro_rules! stored_as_text {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident,)+ }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            strum::AsRefStr,
            strum::Display,
            strum::EnumString,
            strum::IntoStaticStr,
            strum::VariantArray,
        )]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

mod access;
mod applications;
mod group_commit;
mod messages;
mod postgres;
mod registry;
mod sqlite;
mod staff;

pub use access::{AccessStore, CodePurpose, Device, Limit, Session, SmsChallenge};
pub use applications::{
    ApplicantStanding, Application, ApplicationStore, DeskCounts, PhotoCheckRecord, Resubmitted,
    SignedInApplicant, Submitted,
};
pub use messages::{Effects, InboxMessage, MessageStore, Notice, OutboxMessage};
pub use postgres::PostgresStore;
pub use registry::{
    Account, AccountId, IdCardReview, KindUpgrade, NewAccount, RegistryEntry, RegistryStore,
    ReviewState, UnitPapers,
};
pub use sqlite::SqliteStore;
pub use staff::{AuditEntry, Staff, StaffRole, StaffSession, StaffSessionKind, StaffStore};

/// A count of rows asked for, as SQL's LIMIT takes it (no count a caller can ask for is
/// beyond what a database holds: the largest stands for "all").
fn row_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Test helpers of the pieces for tests elsewhere in the crate (the workers').
#[cfg(test)]
pub(crate) mod testing {
    pub(crate) use super::applications::tests::application;
    pub(crate) use super::registry::tests::unit;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (an account for this ID number already exists, …).
    #[error("already exists: {0}")]
    Duplicate(&'static str),
    #[error("database: {0}")]
    Database(String),
    /// The database cannot be reached now (a PostgreSQL restart or failover, no free
    /// connection in time): nothing was done, and the same request a moment later may
    /// succeed. The API answers 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored row no longer parses: a bug or a hand edit, never the user's fault.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
}

/// Every storage operation the platform needs: all the pieces, behind one object.
pub trait Store:
    RegistryStore + StaffStore + AccessStore + ApplicationStore + MessageStore + Send + Sync + 'static
{
}

impl<T> Store for T where
    T: RegistryStore
        + StaffStore
        + AccessStore
        + ApplicationStore
        + MessageStore
        + Send
        + Sync
        + 'static
{
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    /// Every variant spelled as `expected` says, read back as itself, and nothing else read.
    fn assert_spelled<T>(expected: &[&str])
    where
        T: VariantArray + Copy + PartialEq + std::fmt::Debug + std::fmt::Display,
        T: AsRef<str> + Into<&'static str> + std::str::FromStr,
    {
        let spelled: Vec<&str> = T::VARIANTS.iter().map(|v| (*v).into()).collect();
        assert_eq!(spelled, expected);
        for v in T::VARIANTS {
            assert_eq!(v.to_string(), v.as_ref());
            assert!(
                v.as_ref().parse::<T>().is_ok_and(|back| back == *v),
                "{v:?}"
            );
            assert!(v.as_ref().to_uppercase().parse::<T>().is_err(), "{v:?}");
        }
        assert!("".parse::<T>().is_err());
    }

    #[test]
    fn enums_keep_their_stored_spelling() {
        assert_spelled::<CodePurpose>(&["registration", "sign_in", "mobile_check"]);
        assert_spelled::<ReviewState>(&["pending", "approved", "rejected"]);
        assert_spelled::<StaffRole>(&["clerk", "reviewer", "admin", "officer"]);
        assert_eq!(StaffRole::parse("admin"), Some(StaffRole::Admin));
        assert_eq!(StaffRole::parse("Admin"), None);
    }
}
