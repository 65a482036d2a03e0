//! The world an app test runs in: the real platform (`licence-server` with drivers seeded,
//! the sandbox), a display, and photographs to pick or to play as the camera. Shared by the
//! end-to-end tests and the budgets example.
#![allow(dead_code)] // each user takes its part

use std::path::{Path, PathBuf};

use licence_e2e::webdriver::Browser;
use licence_e2e::xvfb::Xvfb;
use licence_loadgen::{sample_photo, seed, server_binary, sibling_binary, Server};
use licence_server::store::{RegistryStore, SqliteStore};

/// The real platform, a display, and photographs to pick or to play as the camera.
pub struct World {
    pub server: Server,
    pub sandbox: String,
    pub dir: tempfile::TempDir,
    pub xvfb: Xvfb,
}

impl World {
    pub fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = licence_loadgen::Database::sqlite(&dir.path().join("platform.sqlite"));
        seed(&db, 2).unwrap();
        let sandbox = licence_sandbox::start_in_background().unwrap();
        let mut args: Vec<String> = ["--identity-url", "--sms-url", "--alipay-url"]
            .iter()
            .flat_map(|flag| [(*flag).to_owned(), sandbox.clone()])
            .collect();
        // A change in a licence's standing is seen at the app's next refresh; no automatic
        // approval is drawn for a reviewer at random.
        args.extend(["--status-list-every".to_owned(), "0".to_owned()]);
        args.extend(["--review-sample-percent".to_owned(), "0".to_owned()]);
        let server = Server::start(&server_binary(), &db, &args).unwrap();
        std::fs::write(dir.path().join("no-face.jpg"), sample_photo()).unwrap();
        let portrait = licence_photo::testdata::encode(
            &licence_photo::testdata::portrait(2.0).0,
            image::ImageFormat::Jpeg,
        );
        std::fs::write(dir.path().join("portrait.jpg"), portrait).unwrap();
        World {
            server,
            sandbox,
            dir,
            xvfb: Xvfb::start().unwrap(),
        }
    }

    pub fn photo(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Puts made-up person `i` (a licence, no account yet) into the registry.
    pub fn newcomer(&self, i: usize) -> (String, String, String) {
        let entry = licence_loadgen::synthetic_person(i).unwrap();
        let registry = SqliteStore::open(&self.dir.path().join("platform.sqlite")).unwrap();
        registry.put_registry_entry(&entry).unwrap();
        (
            entry.name.as_str().to_owned(),
            entry.id_number.to_string(),
            entry.reserved_mobile.as_str().to_owned(),
        )
    }

    /// Gives made-up person `i` a good photo on file in the registry.
    pub fn photo_on_file(&self, i: usize) {
        let mut entry = licence_loadgen::synthetic_person(i).unwrap();
        entry.photo = Some(licence_photo::testdata::encode(
            &licence_photo::testdata::portrait(2.0).0,
            image::ImageFormat::Jpeg,
        ));
        SqliteStore::open(&self.dir.path().join("platform.sqlite"))
            .unwrap()
            .put_registry_entry(&entry)
            .unwrap();
    }

    /// The next `times` requests to the sandbox's `service` get `outcome` (pass, fail, …).
    pub fn script(&self, service: &str, outcome: &str, times: usize) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/sandbox/outcomes", self.sandbox))
            .json(&serde_json::json!({"service": service, "outcome": outcome, "times": times}))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }

    /// The six-digit code of the last text message to `mobile`.
    pub fn last_code(&self, mobile: &str) -> String {
        let list: serde_json::Value =
            reqwest::blocking::get(format!("{}/sandbox/sms/messages?to={mobile}", self.sandbox))
                .unwrap()
                .json()
                .unwrap();
        let text = list.as_array().unwrap().last().expect("a message")["text"]
            .as_str()
            .unwrap()
            .to_owned();
        text.split(|c: char| !c.is_ascii_digit())
            .find(|s| s.len() == 6)
            .expect("a six-digit code")
            .to_owned()
    }

    /// The app on a device of its own (`phone` names its data folder).
    pub fn app(&self, phone: &str) -> Browser {
        self.app_at(&debug_app(), phone)
    }

    /// The app binary `app` on a device of its own.
    pub fn app_at(&self, app: &Path, phone: &str) -> Browser {
        self.app_with_camera(app, phone, &self.photo("portrait.jpg"))
    }

    /// The app on a device of its own whose camera sees the picture at `view` (read each
    /// time the camera opens, so a test can change what it sees).
    pub fn app_with_camera(&self, app: &Path, phone: &str, view: &Path) -> Browser {
        Browser::app(
            app,
            &self.xvfb.display,
            &[
                ("LICENCE_SERVER", format!("http://{}", self.server.address)),
                ("LICENCE_APP_DATA", path(&self.dir.path().join(phone))),
                // The development trust root the platform made beside its database.
                (
                    "LICENCE_TRUST_ROOT",
                    path(&self.dir.path().join("platform.trust-root.pub")),
                ),
                ("LICENCE_CAMERA_PHOTOS", path(view)),
                // The Alipay app's stand-in is the sandbox.
                ("LICENCE_ALIPAY_APP", self.sandbox.clone()),
                // Under Xvfb there is no key store: the documented fallback file.
                ("LICENCE_KEY_STORE", "file".into()),
            ],
        )
    }

    /// From a signed-in driver's home page: applies with the portrait from the album, checked
    /// on the device, and waits until the submission is confirmed.
    pub fn apply_with_album_portrait(&self, app: &Browser) {
        app.click("[data-test=go-apply]");
        app.click("[data-test=source-album]");
        app.type_into(
            "[data-test=album] input[type=file]",
            &path(&self.photo("portrait.jpg")),
        );
        app.wait_for_text("[data-test=photo-verdict]", "照片检查通过");
        app.click("[data-test=submit-application]");
        app.find("[data-test=submitted]");
    }

    /// The platform's address, for a browser on the console.
    pub fn base(&self) -> String {
        format!("http://{}", self.server.address)
    }

    /// A member of the console's staff, made as an operator does; password [`STAFF_PASSWORD`].
    pub fn add_staff(&self, username: &str, name: &str, role: &str) {
        licence_e2e::add_staff(
            &server_binary(),
            &self.dir.path().join("platform.sqlite"),
            username,
            name,
            role,
            STAFF_PASSWORD,
        )
        .unwrap();
    }

    /// The registry's systems change made-up person `i`'s licence record.
    pub fn update_licence(
        &self,
        i: usize,
        change: impl FnOnce(&mut licence_core::licence::LicenceRecord),
    ) {
        let db = licence_loadgen::Database::sqlite(&self.dir.path().join("platform.sqlite"));
        licence_loadgen::update_licence(&db, i, change).unwrap();
    }
}

/// The console staff's password in these tests.
pub const STAFF_PASSWORD: &str = "Station2026";

/// The debug build of the app, which `cargo xtask test app` makes before these tests.
pub fn debug_app() -> PathBuf {
    sibling_binary("licence-app").expect(
        "target/debug/licence-app is not built: run `cargo xtask test app`, which builds \
         the UI and the app before these tests",
    )
}

/// On the registration form with the person typed in: the SMS code, a password, the camera
/// for the liveness check, consent, and registration; then the greeting.
pub fn finish_face_sign(world: &World, app: &Browser, name: &str, mobile: &str) {
    app.click("[data-test=send-code]");
    app.wait_for_text("[data-test=code-sent]", "验证码已发送");
    let code = world.last_code(mobile);
    app.type_into("[data-test=code] input", &code);
    app.type_into("[data-test=new-password] input", "Licence2026");
    // The camera: here photographs played as frames, previewed within the framing guide.
    app.click("[data-test=camera-open]");
    app.find("[data-test=camera-preview]");
    app.click("[data-test=consent]");
    app.screenshot("app-04-register-face-sign");
    app.click("[data-test=finish]");
    app.wait_for_text("[data-test=greeting]", name);
}

/// The language switch names each language in itself: 中文 stays Chinese in English.
pub const LANGUAGE_ENDONYM: &str = "中文";

/// A Han character (CJK unified ideographs, their extensions and compatibility forms).
fn is_han(c: char) -> bool {
    matches!(u32::from(c),
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// The lines of `text` that still have Han characters once every `allowed` string (the
/// person's name and address, the issuing authority: data, not the app's words) is taken out.
pub fn han_outside(text: &str, allowed: &[&str]) -> Vec<String> {
    let mut rest = text.to_owned();
    // Longest first, so that a name inside an address does not break the address up.
    let mut allowed = allowed.to_vec();
    allowed.sort_by_key(|a| std::cmp::Reverse(a.chars().count()));
    for a in allowed.iter().filter(|a| !a.is_empty()) {
        rest = rest.replace(a, "");
    }
    rest.lines()
        .filter(|line| line.chars().any(is_han))
        .map(str::to_owned)
        .collect()
}

/// The screen in English: saved as `target/e2e-screenshots/en-SCREEN.png`, and its visible
/// text (the whole page, banners included) has no Chinese outside `allowed` and the language
/// switch's own name.
pub fn english_screen(app: &Browser, screen: &str, allowed: &[&str]) {
    // Let the screen's data arrive and the page settle before reading it.
    std::thread::sleep(std::time::Duration::from_millis(400));
    let shot = app.screenshot(&format!("en-{screen}"));
    let text = app.text("body");
    let mut allowed = allowed.to_vec();
    allowed.push(LANGUAGE_ENDONYM);
    let chinese = han_outside(&text, &allowed);
    assert!(
        chinese.is_empty(),
        "{screen} in English still shows Chinese ({}): {chinese:?}",
        shot.display()
    );
}

/// Goes to a route of the app (`/licence`), as the router does.
pub fn go(app: &Browser, route: &str) {
    app.execute(&format!("location.hash = '#{route}'"));
}

/// Switches the app to English from 我的, wherever it is.
pub fn to_english(app: &Browser) {
    go(app, "/me");
    app.click("[data-test=lang-en]");
    app.wait_for_text("[data-test=tab-home]", "Home");
}

pub fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn han_is_found_outside_what_is_allowed() {
        let page = "Name 王小明\nAddress 北京市朝阳区压测路1号\nStatus 正常\n中文 English";
        assert_eq!(
            han_outside(page, &["王小明", "北京市朝阳区压测路1号", LANGUAGE_ENDONYM]),
            vec!["Status 正常".to_owned()]
        );
        // Punctuation is not Han; names inside addresses come out whole.
        assert!(han_outside("Points：0（A）", &[]).is_empty());
        assert!(han_outside("王小明 · 北京市王小明路", &["王小明", "北京市王小明路"]).is_empty());
    }
}
