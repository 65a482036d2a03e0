//! Without a display, `cargo xtask run` shows the app anyway: it runs under Xvfb through
//! tauri-driver, signs in as the demo driver, visits the main screens and saves a screenshot
//! of each under target/e2e-screenshots/run-*.png.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use licence_e2e::webdriver::Browser;
use licence_e2e::xvfb::Xvfb;

use crate::{needs, suites};

pub fn walk(
    app: &Path,
    server_url: &str,
    ca_cert: &str,
    trust_root: &str,
    app_data: &Path,
    mobile: &str,
    password: &str,
) -> Result<()> {
    needs::ensure(suites::APP_RUN_NEEDS)?;
    let xvfb = Xvfb::start().map_err(anyhow::Error::msg)?;
    let env = [
        ("LICENCE_SERVER", server_url.to_owned()),
        ("LICENCE_CA_CERT", ca_cert.to_owned()),
        ("LICENCE_TRUST_ROOT", trust_root.to_owned()),
        (
            "LICENCE_APP_DATA",
            app_data.to_str().context("a UTF-8 path")?.to_owned(),
        ),
    ];
    // The WebDriver client fails by panicking (it is a test tool): one error here instead.
    let shots = std::panic::catch_unwind(|| {
        screens(&Browser::app(app, &xvfb.display, &env), mobile, password)
    })
    .map_err(|p| {
        let why = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        anyhow::anyhow!("walking the app's screens failed: {why}")
    })?;
    println!("    Screenshots of the app:");
    for shot in shots {
        println!("      {}", shot.display());
    }
    Ok(())
}

fn screens(app: &Browser, mobile: &str, password: &str) -> Vec<PathBuf> {
    let mut shots = Vec::new();
    app.find("[data-test=home]");
    // A session kept from an earlier run: sign out first, to show the way in.
    if app.present("[data-test=greeting]") {
        app.click("[data-test=tab-me]");
        app.click("[data-test=sign-out]");
        app.find("[data-test=go-sign-in]");
    }
    shots.push(app.screenshot("run-01-home"));
    app.click("[data-test=go-sign-in]");
    app.type_into("[data-test=login] input", mobile);
    app.type_into("[data-test=password] input", password);
    shots.push(app.screenshot("run-02-sign-in"));
    app.click("[data-test=submit]");
    app.find("[data-test=greeting]");
    shots.push(app.screenshot("run-03-home-signed-in"));
    app.click("[data-test=go-licence]");
    app.find("[data-test=licence-name]");
    shots.push(app.screenshot("run-04-my-licence"));
    app.click(".van-nav-bar__left");
    for (tab, screen, name) in [
        ("tab-services", "services", "run-05-services"),
        ("tab-messages", "messages", "run-06-messages"),
        ("tab-me", "me", "run-07-me"),
    ] {
        app.click(&format!("[data-test={tab}]"));
        app.find(&format!("[data-test={screen}]"));
        shots.push(app.screenshot(name));
    }
    app.click("[data-test=tab-services]");
    app.click("[data-test=service-elicence]");
    app.find("[data-test=apply]");
    shots.push(app.screenshot("run-08-apply"));
    // The officer's entry (sign in with the demo officer printed above).
    app.click(".van-nav-bar__left");
    app.click("[data-test=tab-me]");
    app.click("[data-test=go-officer]");
    app.find("[data-test=officer]");
    shots.push(app.screenshot("run-09-officer"));
    shots
}
