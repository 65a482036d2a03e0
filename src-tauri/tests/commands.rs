//! The commands as the window calls them, on tauri's mock runtime: the wiring (names,
//! argument names, the state) and the error JSON the UI receives.

use licence_app::camera::Camera;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

struct Window {
    // Dropped last: the app's database lives here.
    _dir: tempfile::TempDir,
    _app: tauri::App<tauri::test::MockRuntime>,
    window: WebviewWindow<tauri::test::MockRuntime>,
}

/// The app with no platform reachable (a closed port) and a camera of `photos`.
fn app(photos: &str) -> Window {
    let dir = tempfile::tempdir().unwrap();
    let state = licence_app::shared(
        dir.path().to_owned(),
        "http://127.0.0.1:9",
        Camera::playing(photos),
    )
    .unwrap();
    let app = mock_builder()
        .manage(state)
        .invoke_handler(licence_app::handlers())
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Window {
        _dir: dir,
        _app: app,
        window,
    }
}

fn invoke(w: &Window, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        &w.window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[test]
fn typed_fields_are_checked_with_bilingual_messages() {
    let w = app("");
    let problem = invoke(
        &w,
        "check_field",
        json!({"field": "id_number", "value": "110105194912310021"}),
    )
    .unwrap();
    assert_eq!(problem["code"], "id_check_mismatch");
    assert!(problem["message"].as_str().unwrap().contains("校验码"));
    assert!(!problem["message_en"].as_str().unwrap().is_empty());
    let fine = invoke(
        &w,
        "check_field",
        json!({"field": "mobile", "value": "13800138000"}),
    )
    .unwrap();
    assert_eq!(fine, Value::Null);
    // A field the app does not have: refused by the command's argument types.
    assert!(invoke(
        &w,
        "check_field",
        json!({"field": "shoe_size", "value": "42"})
    )
    .is_err());
}

#[test]
fn without_the_platform_errors_arrive_as_code_and_messages() {
    let w = app("");
    let error = invoke(
        &w,
        "sign_in",
        json!({"login": "13800138000", "password": "whatever-1"}),
    )
    .unwrap_err();
    assert_eq!(error["code"], "network");
    assert_eq!(error["message"], "无法连接交管平台，请检查网络后重试");
    assert_eq!(error["retry_after"], Value::Null);
    assert_eq!(error["next"], Value::Null);

    // Signed out, the home page needs no network.
    let home = invoke(&w, "home", json!({})).unwrap();
    assert_eq!(home["step"], "register");
    assert_eq!(home["account"], Value::Null);
    assert_eq!(home["server"], "http://127.0.0.1:9");

    let error = invoke(&w, "my_licence", json!({})).unwrap_err();
    assert_eq!(error["code"], "not_signed_in");
    assert_eq!(invoke(&w, "outbox", json!({})).unwrap(), json!([]));
}

#[test]
fn a_photo_that_is_not_one_is_refused_before_any_check() {
    let w = app("");
    let error = invoke(
        &w,
        "check_photo",
        json!({"source": "album", "photoBase64": "%%% not base64 %%%"}),
    )
    .unwrap_err();
    assert_eq!(error["code"], "photo_unreadable");
    let verdict = invoke(
        &w,
        "check_photo",
        json!({"source": "album", "photoBase64": "R0lGODlh"}),
    )
    .unwrap();
    assert_eq!(verdict["compliant"], false);
    assert_eq!(verdict["crop_jpeg_base64"], Value::Null);
    assert!(!verdict["problems"].as_array().unwrap().is_empty());
}

#[test]
fn a_camera_that_cannot_be_opened_says_so() {
    let w = app("/nonexistent/frame.jpg");
    let error = invoke(&w, "camera_capture", json!({})).unwrap_err();
    assert_eq!(error["code"], "camera_unavailable");
    assert!(!error["message"].as_str().unwrap().is_empty());
}

#[test]
fn the_elicence_and_the_officer_commands_answer_without_the_platform() {
    let w = app("");
    // Signed out: nothing to show, and the refresh has nothing to do.
    assert_eq!(
        invoke(&w, "elicence", json!({})).unwrap_err()["code"],
        "not_signed_in"
    );
    let refresh = invoke(&w, "refresh_elicence", json!({})).unwrap();
    assert_eq!(
        refresh,
        json!({"changed": false, "issued": false, "problem": null})
    );

    // No officer signed in on this device: verifying is refused with the way in.
    let officer = invoke(&w, "officer", json!({})).unwrap();
    assert_eq!(officer["signed_in"], false);
    assert_eq!(officer["trust_list_at"], Value::Null);
    let error = invoke(&w, "verify_picture", json!({"pictureBase64": "R0lGODlh"})).unwrap_err();
    assert_eq!(error["code"], "officer_sign_in_required");
    assert!(error["message"].as_str().unwrap().contains("执勤民警"));
    let error = invoke(
        &w,
        "officer_sign_in",
        json!({"username": "", "password": ""}),
    )
    .unwrap_err();
    assert_eq!(error["code"], "missing_credentials");
    let error = invoke(
        &w,
        "officer_sign_in",
        json!({"username": "police01", "password": "whatever-1"}),
    )
    .unwrap_err();
    assert_eq!(error["code"], "network");
    assert!(!error["message_en"].as_str().unwrap().is_empty());
}
