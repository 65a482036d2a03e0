//! The camera as a [`FrameSource`]: the desktop app's nokhwa adapter implements it in
//! `src-tauri`; [`PhotoPlayer`] plays photographs instead (for machines without a camera, and
//! for tests of the camera path with real pictures).

use crate::ClientError;

/// One camera frame, RGB, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

pub trait FrameSource {
    /// The next frame; waits for it when the camera is slower than the caller.
    fn next_frame(&mut self) -> Result<Frame, ClientError>;
}

/// Plays photographs (JPEG or PNG bytes) as frames, in a loop.
pub struct PhotoPlayer {
    frames: Vec<Frame>,
    next: usize,
}

impl PhotoPlayer {
    pub fn new(photos: &[Vec<u8>]) -> Result<PhotoPlayer, ClientError> {
        let frames = photos
            .iter()
            .map(|bytes| {
                let img = image::load_from_memory(bytes)
                    .map_err(|e| ClientError::Unexpected(format!("not a photograph: {e}")))?
                    .to_rgb8();
                Ok(Frame {
                    width: img.width(),
                    height: img.height(),
                    rgb: img.into_raw(),
                })
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        if frames.is_empty() {
            return Err(ClientError::Unexpected("no photographs to play".into()));
        }
        Ok(PhotoPlayer { frames, next: 0 })
    }
}

impl FrameSource for PhotoPlayer {
    fn next_frame(&mut self) -> Result<Frame, ClientError> {
        let frame = self.frames[self.next % self.frames.len()].clone();
        self.next += 1;
        Ok(frame)
    }
}

/// The platform takes 1 to 8 liveness frames.
pub const MAX_LIVENESS_FRAMES: usize = 8;

/// Takes `count` frames (1-8) and encodes each as JPEG, for face-sign.
pub fn liveness_frames(
    source: &mut dyn FrameSource,
    count: usize,
) -> Result<Vec<Vec<u8>>, ClientError> {
    (0..count.clamp(1, MAX_LIVENESS_FRAMES))
        .map(|_| {
            let frame = source.next_frame()?;
            let expected = frame.width as usize * frame.height as usize * 3;
            if frame.rgb.len() != expected || expected == 0 {
                return Err(ClientError::Unexpected(format!(
                    "a {}×{} frame with {} bytes",
                    frame.width,
                    frame.height,
                    frame.rgb.len()
                )));
            }
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
                .encode(
                    &frame.rgb,
                    frame.width,
                    frame.height,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(|e| ClientError::Unexpected(e.to_string()))?;
            Ok(jpeg)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;
    impl FrameSource for Broken {
        fn next_frame(&mut self) -> Result<Frame, ClientError> {
            Ok(Frame {
                width: 4,
                height: 4,
                rgb: vec![0; 5],
            })
        }
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(w, h, image::Rgb([200, 100, 50]))
            .write_to(
                &mut std::io::Cursor::new(&mut out),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        out
    }

    #[test]
    fn photos_play_in_a_loop_and_come_out_as_jpeg_frames() {
        let mut player = PhotoPlayer::new(&[jpeg(32, 24), jpeg(16, 16)]).unwrap();
        let frames = liveness_frames(&mut player, 3).unwrap();
        let sizes: Vec<(u32, u32)> = frames
            .iter()
            .map(|f| {
                let img = image::load_from_memory(f).unwrap();
                (img.width(), img.height())
            })
            .collect();
        assert_eq!(sizes, [(32, 24), (16, 16), (32, 24)]);
        // The platform's bounds: at least one, at most eight.
        assert_eq!(liveness_frames(&mut player, 0).unwrap().len(), 1);
        assert_eq!(liveness_frames(&mut player, 50).unwrap().len(), 8);
    }

    #[test]
    fn bad_pictures_and_frames_are_errors_not_panics() {
        assert_eq!(
            PhotoPlayer::new(&[b"GIF89a".to_vec()])
                .err()
                .unwrap()
                .code(),
            "unexpected_answer"
        );
        assert!(PhotoPlayer::new(&[]).is_err());
        let err = liveness_frames(&mut Broken, 1).unwrap_err();
        assert!(err.to_string().contains("4×4 frame with 5 bytes"), "{err}");
    }
}
