//! Whole-system tests drive real programs over the W3C WebDriver protocol: the console in
//! headless Chromium (chromedriver) and the driver's app (tauri-driver in front of
//! WebKitWebDriver, under Xvfb). This crate is the client both use: open pages, type, click,
//! read text, wait, and save screenshots under `target/e2e-screenshots/` for a person to see.

pub mod webdriver;
pub mod xvfb;
