//! The camera: a live preview sent to the window, a capture for the application photo, the
//! liveness frames of a face-sign, and the officer's scan of a QR code. The frames come from a
//! [`licence_client::camera::FrameSource`]: photographs played in a loop when
//! `LICENCE_CAMERA_PHOTOS` names them (machines without a camera, the end-to-end tests),
//! otherwise the device's camera.

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use licence_client::camera::{Frame, FrameSource, PhotoPlayer};
use licence_client::views::{AppError, PreviewFrame};

type Source = Box<dyn FrameSource + Send>;

/// Preview frames are at most this wide: enough to frame a face, small enough for 10 a second.
const PREVIEW_WIDTH: u32 = 360;
const PREVIEW_INTERVAL: Duration = Duration::from_millis(100);
/// The framing advice is renewed every this many preview frames (a face search takes longer
/// than one frame's interval on a phone).
const ADVICE_EVERY: u32 = 3;

#[derive(Default)]
pub struct Camera {
    photos: Option<String>,
    source: Arc<Mutex<Option<Source>>>,
    latest: Arc<Mutex<Option<Frame>>>,
    preview: Mutex<Option<Arc<AtomicBool>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn camera_error(code: &str, zh: &str, en: &str) -> AppError {
    AppError::new(code, zh, en)
}

impl Camera {
    pub fn from_env() -> Camera {
        Camera {
            photos: std::env::var("LICENCE_CAMERA_PHOTOS").ok(),
            ..Camera::default()
        }
    }

    /// A camera that plays these photographs (paths separated by `:`).
    pub fn playing(photos: &str) -> Camera {
        Camera {
            photos: Some(photos.to_owned()),
            ..Camera::default()
        }
    }

    fn open(&self) -> Result<Source, AppError> {
        match &self.photos {
            Some(list) => {
                let photos = list
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(std::fs::read)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        camera_error(
                            "camera_unavailable",
                            "无法读取模拟摄像头的照片",
                            &format!("The photographs played as the camera cannot be read: {e}"),
                        )
                    })?;
                Ok(Box::new(PhotoPlayer::new(&photos)?))
            }
            None => crate::camera_device::open(),
        }
    }

    fn with_source<T>(
        &self,
        f: impl FnOnce(&mut dyn FrameSource) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut source = lock(&self.source);
        if source.is_none() {
            *source = Some(self.open()?);
        }
        f(source.as_deref_mut().expect("opened above"))
    }

    /// Starts sending preview frames to `on_frame` until [`Camera::stop`].
    pub fn start(
        &self,
        on_frame: impl Fn(PreviewFrame) -> bool + Send + 'static,
    ) -> Result<(), AppError> {
        self.preview(on_frame, None)
    }

    /// The officer's scan: the live preview, and every frame searched for a QR code; the
    /// first code read goes to `on_code` and the camera stops.
    pub fn scan(
        &self,
        on_frame: impl Fn(PreviewFrame) -> bool + Send + 'static,
        on_code: impl FnOnce(String) + Send + 'static,
    ) -> Result<(), AppError> {
        self.preview(on_frame, Some(Box::new(on_code)))
    }

    fn preview(
        &self,
        on_frame: impl Fn(PreviewFrame) -> bool + Send + 'static,
        mut on_code: Option<Box<dyn FnOnce(String) + Send>>,
    ) -> Result<(), AppError> {
        self.stop();
        // Open now, so that "no camera" is the answer to start, not a silent preview.
        self.with_source(|_| Ok(()))?;
        let running = Arc::new(AtomicBool::new(true));
        *lock(&self.preview) = Some(running.clone());
        let (source, latest) = (self.source.clone(), self.latest.clone());
        std::thread::spawn(move || {
            // A face preview says what to change; a code scan does not look for faces.
            let mut guide = on_code.is_none().then(licence_photo::FramingGuide::new);
            let mut advice = None;
            let mut looked = 0u32;
            while running.load(Ordering::SeqCst) {
                let frame = match lock(&source).as_deref_mut().map(|s| s.next_frame()) {
                    Some(Ok(frame)) => frame,
                    _ => break,
                };
                let small = preview_image(&frame);
                // Every few frames: a face search costs more than a frame's interval.
                if let (Some(guide), Some(img)) = (guide.as_mut(), small.as_ref()) {
                    if looked % ADVICE_EVERY == 0 {
                        advice = Some(guide.advice(img).into());
                    }
                    looked = looked.wrapping_add(1);
                }
                let preview = small.and_then(|img| preview_frame(&img, advice.clone()));
                // The window is gone (or the channel closed): stop.
                if let Some(p) = preview {
                    if !on_frame(p) {
                        break;
                    }
                }
                if on_code.is_some() {
                    if let Some(text) = licence_client::officer::read_frame(&frame) {
                        running.store(false, Ordering::SeqCst);
                        *lock(&source) = None;
                        if let Some(found) = on_code.take() {
                            found(text);
                        }
                        break;
                    }
                }
                *lock(&latest) = Some(frame);
                std::thread::sleep(PREVIEW_INTERVAL);
            }
        });
        Ok(())
    }

    /// Stops the preview and lets the device go.
    pub fn stop(&self) {
        if let Some(running) = lock(&self.preview).take() {
            running.store(false, Ordering::SeqCst);
        }
        *lock(&self.source) = None;
        *lock(&self.latest) = None;
    }

    /// The picture to check: the frame on the preview now (or a fresh one), as JPEG.
    pub fn capture(&self) -> Result<Vec<u8>, AppError> {
        let frame = match lock(&self.latest).clone() {
            Some(frame) => frame,
            None => self.with_source(|s| Ok(s.next_frame()?))?,
        };
        encode(&frame, 92).ok_or_else(|| {
            camera_error(
                "camera_frame_invalid",
                "摄像头画面无效，请重试",
                "The camera gave an invalid frame; try again",
            )
        })
    }

    /// The liveness frames of a face-sign, from the camera.
    pub fn liveness(&self) -> Result<Vec<Vec<u8>>, AppError> {
        self.with_source(licence_client::app::DriverApp::liveness_frames)
    }
}

fn encode(frame: &Frame, quality: u8) -> Option<Vec<u8>> {
    let img = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb.clone())?;
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), quality)
        .encode_image(&img)
        .ok()?;
    Some(out)
}

/// The frame at preview size.
fn preview_image(frame: &Frame) -> Option<image::RgbImage> {
    let img = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb.clone())?;
    Some(if img.width() > PREVIEW_WIDTH {
        let h =
            (u64::from(img.height()) * u64::from(PREVIEW_WIDTH) / u64::from(img.width())) as u32;
        image::imageops::resize(
            &img,
            PREVIEW_WIDTH,
            h.max(1),
            image::imageops::FilterType::Triangle,
        )
    } else {
        img
    })
}

fn preview_frame(
    img: &image::RgbImage,
    advice: Option<licence_client::views::FramingAdviceView>,
) -> Option<PreviewFrame> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), 70)
        .encode_image(img)
        .ok()?;
    Some(PreviewFrame {
        jpeg_base64: base64::engine::general_purpose::STANDARD.encode(&out),
        width: img.width(),
        height: img.height(),
        advice,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(dir: &std::path::Path, name: &str, w: u32, h: u32) -> String {
        let path = dir.join(name);
        image::RgbImage::from_pixel(w, h, image::Rgb([90, 120, 200]))
            .save(&path)
            .unwrap();
        path.to_str().unwrap().to_owned()
    }

    #[test]
    fn previews_are_small_and_captures_are_full_size() {
        let dir = tempfile::tempdir().unwrap();
        let camera = Camera::playing(&photo(dir.path(), "a.jpg", 1280, 960));
        let (tx, rx) = std::sync::mpsc::channel();
        camera.start(move |f| tx.send(f).is_ok()).unwrap();
        let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((first.width, first.height), (360, 270));
        let captured = image::load_from_memory(&camera.capture().unwrap()).unwrap();
        assert_eq!((captured.width(), captured.height()), (1280, 960));
        camera.stop();
        assert_eq!(camera.liveness().unwrap().len(), 3);
    }

    #[test]
    fn a_scan_hands_over_the_first_code_it_reads_and_lets_the_camera_go() {
        let dir = tempfile::tempdir().unwrap();
        let blank = photo(dir.path(), "blank.png", 640, 480);
        let code = dir.path().join("code.png");
        licence_credential_qr("DL1:TEST").save(&code).unwrap();
        // A frame without a code first, as a camera pointed away would give.
        let camera = Camera::playing(&format!("{blank}:{}", code.display()));
        let (frames_tx, frames) = std::sync::mpsc::channel();
        let (codes_tx, codes) = std::sync::mpsc::channel();
        camera
            .scan(
                move |f| frames_tx.send(f).is_ok(),
                move |text| codes_tx.send(text).unwrap(),
            )
            .unwrap();
        assert_eq!(
            codes.recv_timeout(Duration::from_secs(10)).unwrap(),
            "DL1:TEST"
        );
        assert!(frames.try_iter().count() >= 2, "the preview ran meanwhile");
        assert!(lock(&camera.source).is_none(), "the camera is let go");
    }

    fn licence_credential_qr(text: &str) -> image::RgbImage {
        licence_client::elicence::qr_png(text, false)
            .map(|(png, _)| image::load_from_memory(&png).unwrap().to_rgb8())
            .map(|img| {
                image::imageops::resize(
                    &img,
                    img.width() * 4,
                    img.height() * 4,
                    image::imageops::FilterType::Nearest,
                )
            })
            .unwrap()
    }

    #[test]
    fn a_camera_that_cannot_be_read_says_so() {
        let camera = Camera::playing("/nonexistent/photo.jpg");
        let err = camera.start(|_| true).unwrap_err();
        assert_eq!(err.code, "camera_unavailable");
        assert!(camera.capture().is_err());
    }
}
