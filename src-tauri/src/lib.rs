//! The driver's app (电子驾驶证): the window, thin commands over
//! [`licence_client::app::DriverApp`], the camera, the device key's place in the OS key store,
//! and three background loops — one sends the outbox when it is due, one long-polls the inbox
//! and shows a desktop notification when a review result arrives, one keeps the e-licence and
//! the verifier's lists fresh while there is a network. What they change reaches the window
//! as [`events`], which the window asks for.
//!
//! Configuration, from the environment:
//! - `LICENCE_SERVER`: the platform's address (default `https://127.0.0.1:8080`, which
//!   `cargo xtask run` serves);
//! - `LICENCE_CA_CERT`: a PEM file of CA certificates to trust besides the one the build names;
//! - `LICENCE_TRUST_ROOT`: the trust root's public key file, besides the one the build names
//!   (the trust list is taken only when that root signed it);
//! - `LICENCE_APP_DATA`: where the app keeps its database (default: the OS's app-data folder);
//! - `LICENCE_ALIPAY_APP`: where the Alipay app's development stand-in answers (the
//!   sandbox); without it the Alipay path says Alipay is not available on this device;
//! - `LICENCE_CAMERA_PHOTOS`: photographs (paths separated by `:`) to play as the camera, for
//!   machines without one and for the end-to-end tests;
//! - `LICENCE_KEY_STORE=file`: keep the device key in the app's data folder even where the
//!   OS has a key store (see [`keystore`]).
//!
//! Desktop and mobile: tauri's build script sets the `desktop` or the `mobile` cfg. The
//! device camera (nokhwa) and the OS key store (keyring) are desktop parts; on Android and
//! iOS their counterparts say plainly that they are not in this build yet (docs/app.md names
//! what they will be), and the rest of the app is the same.

pub mod camera;
#[cfg(desktop)]
mod camera_device;
#[cfg(any(mobile, test))]
mod camera_mobile;
#[cfg(mobile)]
use camera_mobile as camera_device;
mod commands;
pub mod events;
pub mod keystore;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub mod memory;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use licence_client::app::DriverApp;
use licence_client::outbox::Delivery;
use tauri::{Manager, Runtime};

use events::{AppEvent, Events};

pub use commands::handlers;

/// The app's state, shared by the commands and the background loops.
pub struct Shared {
    pub app: DriverApp,
    pub camera: camera::Camera,
    /// What the window is told.
    pub events: Arc<Events>,
}

/// The platform's address.
pub fn server_url() -> String {
    std::env::var("LICENCE_SERVER").unwrap_or_else(|_| "https://127.0.0.1:8080".into())
}

/// Opens the app's state in `data_dir`, talking to `server`, with `camera`.
pub fn shared(
    data_dir: PathBuf,
    server: &str,
    camera: camera::Camera,
) -> Result<Arc<Shared>, licence_client::views::AppError> {
    let mut app = DriverApp::open(&data_dir, server)?
        .with_key_vault(Box::new(keystore::DeviceVault::new(&data_dir)));
    if let Ok(alipay) = std::env::var("LICENCE_ALIPAY_APP") {
        app = app.with_alipay_app(&alipay)?;
    }
    Ok(Arc::new(Shared {
        app,
        camera,
        events: Arc::new(Events::new()),
    }))
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    #[cfg(target_os = "linux")]
    interpreted_javascript();
    let builder = tauri::Builder::default();
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_notification::init());
    let result = builder
        .setup(|app| {
            #[cfg(desktop)]
            photo_models_beside_the_app(app);
            let data_dir = match std::env::var_os("LICENCE_APP_DATA") {
                Some(dir) => PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            let webview_data = data_dir.join("webview");
            let state = shared(data_dir, &server_url(), camera::Camera::from_env())
                .map_err(|e| format!("{} / {} ({})", e.message, e.message_en, e.code))?;
            // Managed before the window exists, so that no command can arrive without it.
            app.manage(state.clone());
            // The window's own storage (the UI's language choice) lives with the app's data,
            // so that two data folders are two devices. (Size and title mean nothing on a phone.)
            tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::default())
                .title("电子驾驶证")
                .inner_size(420.0, 860.0)
                .min_inner_size(360.0, 600.0)
                .data_directory(webview_data)
                .build()?;
            background(app.handle().clone(), state);
            Ok(())
        })
        .invoke_handler(handlers())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("电子驾驶证 could not start: {e}");
        std::process::exit(1);
    }
}

/// The photo check reads its models from the files shipped beside the app (`bundle.resources`
/// in tauri.conf.json; cargo's build puts them beside the binary too), not from the copies
/// compiled in: a copy compiled in stays resident once read, about 4 MiB against the app's
/// memory budget (docs/performance.md). Without usable files the compiled-in copies serve,
/// and the log says why. Desktop only: a phone's resources are inside its package, where
/// `std::fs` cannot read them, so mobile builds keep the compiled-in copies.
#[cfg(desktop)]
fn photo_models_beside_the_app<R: Runtime>(app: &tauri::App<R>) {
    let dir = match app.path().resource_dir() {
        Ok(resources) => resources.join("models"),
        Err(e) => {
            eprintln!("photo check: no resource folder ({e}); the compiled-in models serve");
            return;
        }
    };
    licence_photo::read_models_with(move |name| std::fs::read(dir.join(name)));
    // Reading and hashing the files only to log is not start-up's work.
    std::thread::spawn(|| {
        if let Err(e) = licence_photo::model_files_usable() {
            eprintln!("photo check: {e}; the compiled-in models serve");
        }
    });
}

/// WebKitGTK's JavaScriptCore runs the UI's script in its interpreter, without its JIT
/// compilers: the UI is forms and lists, which the interpreter serves well within a frame,
/// while the JIT's code and profiles cost the web process about 10 MiB after the apply flow
/// (docs/performance.md). Set before the window exists: the web process WebKit starts for it
/// inherits the environment. A value already in the environment is kept (`JSC_useJIT=true`
/// brings the JIT back). The phones' system webviews manage their own.
#[cfg(target_os = "linux")]
fn interpreted_javascript() {
    if std::env::var_os("JSC_useJIT").is_none() {
        std::env::set_var("JSC_useJIT", "false");
    }
}

/// The outbox sender and the inbox listener; each tells the window what changed.
fn background<R: Runtime>(handle: tauri::AppHandle<R>, state: Arc<Shared>) {
    let outbox = state.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            if let Ok(deliveries) = outbox.app.send_outbox().await {
                if deliveries
                    .iter()
                    .any(|d| matches!(d, Delivery::Sent { .. } | Delivery::Failed { .. }))
                {
                    outbox.events.send(AppEvent::OutboxChanged);
                }
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    });
    let lists = state.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            refresh_elicence(&lists).await;
            tokio::time::sleep(ELICENCE_REFRESH).await;
        }
    });
    tauri::async_runtime::spawn(async move {
        loop {
            // Under the API client's 15 s timeout, so that a quiet inbox is not an error.
            match state.app.new_messages(10).await {
                Ok(new) => {
                    for message in &new {
                        state.events.send(AppEvent::InboxMessage(message.clone()));
                        notify(&handle, &message.title, &message.body);
                    }
                    // An approval: fetch the e-licence now, not at the next round.
                    if !new.is_empty() {
                        refresh_elicence(&state).await;
                    }
                }
                // Signed out, or no network: look again shortly.
                Err(_) => tokio::time::sleep(Duration::from_secs(3)).await,
            }
        }
    });
}

/// How often the e-licence's status and credential (and an officer's lists) are refreshed
/// while there is a network: a change of standing reaches the QR within this.
const ELICENCE_REFRESH: Duration = Duration::from_secs(20);

/// Refreshes the e-licence for a signed-in driver, or the lists for an officer; tells the
/// window when what it shows changed.
async fn refresh_elicence(state: &Shared) {
    let driver = state.app.store().session().ok().flatten().is_some();
    let changed = if driver {
        state.app.refresh_elicence().await.is_ok_and(|r| r.changed)
    } else if state.app.officer().is_ok_and(|o| o.signed_in) {
        state.app.refresh_verifier_data().await.is_ok_and(|c| c)
    } else {
        false
    };
    if changed {
        state.events.send(AppEvent::ElicenceChanged);
    }
}

/// A notification of the system's; where there is no notification service, the in-app
/// message list still has it.
#[cfg(mobile)]
fn notify<R: Runtime>(handle: &tauri::AppHandle<R>, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    let _ = handle
        .notification()
        .builder()
        .title(title)
        .body(body)
        .show();
}

/// A desktop notification (org.freedesktop.Notifications on Linux), sent off the async
/// runtime: the D-Bus call blocks until the notification service answers or times out.
#[cfg(desktop)]
fn notify<R: Runtime>(_handle: &tauri::AppHandle<R>, title: &str, body: &str) {
    let (title, body) = (title.to_owned(), body.to_owned());
    tauri::async_runtime::spawn_blocking(move || {
        let _ = notify_rust::Notification::new()
            .appname("电子驾驶证")
            .summary(&title)
            .body(&body)
            .show();
    });
}
