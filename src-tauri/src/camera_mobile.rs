//! The device camera on Android and iOS: not in this build yet. nokhwa has no mobile
//! backend; the way there is a camera plugin of the platform's own, and for the officer's
//! scan tauri-plugin-barcode-scanner (docs/app.md). Until then opening the camera says so,
//! with the way round it (a photo from the album, a picture of the QR code), rather than
//! pretending to show a preview.

use licence_client::camera::FrameSource;
use licence_client::views::AppError;

/// Always the same answer: no camera in this build.
pub fn open() -> Result<Box<dyn FrameSource + Send>, AppError> {
    Err(AppError::new(
        "camera_unavailable",
        "此版本的手机应用暂不支持摄像头：请改为从相册选择照片（民警核验可从图片识别）",
        "The camera is not available on this platform yet: choose a photo from the album \
         (officers: read the QR code from a picture)",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_camera_says_it_is_not_there_yet() {
        let err = super::open().err().expect("no camera on a phone build yet");
        assert_eq!(err.code, "camera_unavailable");
        assert!(err
            .message_en
            .contains("not available on this platform yet"));
        assert!(err.message.contains("相册"));
    }
}
