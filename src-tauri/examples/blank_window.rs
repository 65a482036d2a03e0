//! A Tauri window showing one line of Chinese text and nothing else: the memory floor of any
//! Tauri app on this platform (the webview's processes, the GL driver, the CJK font), against
//! which `cargo xtask bench-app` sets the app's own memory. The page is served by a protocol
//! of the window's own, as the app's pages are.

const PAGE: &str = "<!doctype html><meta charset=utf-8><h1>电子驾驶证</h1>";

fn main() {
    tauri::Builder::default()
        .register_uri_scheme_protocol("blank", |_, _| {
            tauri::http::Response::builder()
                .header("content-type", "text/html; charset=utf-8")
                .body(PAGE.as_bytes().to_vec())
                .expect("a fixed response")
        })
        .setup(|app| {
            let url = tauri::WebviewUrl::External("blank://localhost/".parse()?);
            tauri::WebviewWindowBuilder::new(app, "main", url)
                .title("blank")
                .inner_size(420.0, 860.0)
                .build()?;
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the blank window runs");
}
