//! The driver's session: signing in and out, and the account (我的) it is for.

use licence_api::endpoint;

use crate::api::Session;
use crate::app::{not_signed_in, now, Cached, DriverApp};
use crate::views::{AccountView, AppError};
use crate::ClientError;

impl DriverApp {
    /// The session, while it has not ended; else "please sign in".
    pub(crate) fn session(&self) -> Result<Session, AppError> {
        match self.stored_session()? {
            Some(s) if s.expires_at > now() => Ok(s),
            _ => Err(not_signed_in()),
        }
    }

    /// The stored session with its token opened (tokens rest sealed, see [`crate::sealed`]).
    /// One that does not open is forgotten: the person signs in again.
    fn stored_session(&self) -> Result<Option<Session>, AppError> {
        let Some(mut session) = self.store.session()? else {
            return Ok(None);
        };
        match self.token_seal()?.open(&session.token) {
            Ok(token) => {
                session.token = token;
                Ok(Some(session))
            }
            Err(_) => {
                self.store.clear_session()?;
                Ok(None)
            }
        }
    }

    /// The session ended on the platform (expired, signed out elsewhere): forget it here.
    pub(crate) fn forget_if_unauthorised(&self, e: ClientError) -> AppError {
        if matches!(e, ClientError::Server { status: 401, .. }) {
            if let Err(store) = self.store.clear_session() {
                return store.into();
            }
            return not_signed_in();
        }
        e.into()
    }

    /// Signs in with an ID or mobile number and the password.
    pub async fn sign_in(&self, login: &str, password: &str) -> Result<AccountView, AppError> {
        if login.trim().is_empty() || password.is_empty() {
            return Err(AppError::new(
                "missing_credentials",
                "请输入证件号码或手机号，以及密码",
                "Enter your ID or mobile number and your password",
            ));
        }
        let session = self.api.sign_in(login.trim(), password).await?;
        self.signed_in(session).await
    }

    /// Keeps a new session (from a sign-in or a registration) and fetches its account.
    pub(crate) async fn signed_in(&self, session: Session) -> Result<AccountView, AppError> {
        if self.store.session()?.map(|s| s.account_id) != Some(session.account_id) {
            // Another person's data must not show under this account.
            self.store.clear_session()?;
        }
        let sealed = Session {
            token: self.token_seal()?.seal(&session.token),
            ..session.clone()
        };
        self.store.save_session(&sealed)?;
        self.keep(Cached::SignedInAt, &now())?;
        self.fetch_account(&session).await
    }

    /// Signs out here and on the platform, of this session or (`everywhere`) of every
    /// session of the account, on every device (best effort: without a network, only here).
    pub async fn sign_out(&self, everywhere: bool) -> Result<(), AppError> {
        if let Some(session) = self.stored_session()? {
            let _ = if everywhere {
                self.api
                    .exchange_with(&endpoint::SignOutEverywhere, Some(&session.token))
                    .await
            } else {
                self.api
                    .exchange_with(&endpoint::SignOut, Some(&session.token))
                    .await
            };
        }
        Ok(self.store.clear_session()?)
    }

    /// 我的: the account, from the platform (or as last fetched without a network).
    pub async fn account(&self) -> Result<AccountView, AppError> {
        let session = self.session()?;
        match self.fetch_account(&session).await {
            Err(e) if e.code == "network" => self.cached(Cached::Account)?.ok_or(e),
            other => other,
        }
    }

    pub(crate) async fn fetch_account(&self, session: &Session) -> Result<AccountView, AppError> {
        let account = self
            .api
            .request(&endpoint::Me, Some(&session.token))
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        self.keep_account(account)
    }

    /// The platform's account answer, kept for showing without a network.
    pub(crate) fn keep_account(&self, account: AccountView) -> Result<AccountView, AppError> {
        self.keep(Cached::Account, &account)?;
        Ok(account)
    }
}
