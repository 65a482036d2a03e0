//! The device's camera through nokhwa (V4L2 on Linux). The nokhwa camera lives on a thread
//! of its own (its handle is not `Send`), which hands RGB frames over a channel of one.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Duration;

use licence_client::camera::{Frame, FrameSource};
use licence_client::views::AppError;
use licence_client::ClientError;

/// The first camera of the device, streaming.
pub struct DeviceCamera {
    frames: Receiver<Result<Frame, String>>,
}

fn no_camera(detail: &str) -> AppError {
    AppError::new(
        "camera_unavailable",
        "无法打开摄像头：请检查摄像头是否连接、是否被其他应用占用，或改为从相册选择照片",
        &format!(
            "The camera cannot be opened ({detail}): check that it is connected and not in use, or choose a photo from the album"
        ),
    )
}

pub fn open() -> Result<Box<dyn FrameSource + Send>, AppError> {
    let (tx, rx) = sync_channel(1);
    let (ready_tx, ready_rx) = sync_channel(1);
    std::thread::Builder::new()
        .name("camera".into())
        .spawn(move || stream(tx, ready_tx))
        .map_err(|e| no_camera(&e.to_string()))?;
    match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => Ok(Box::new(DeviceCamera { frames: rx })),
        Ok(Err(detail)) => Err(no_camera(&detail)),
        Err(_) => Err(no_camera("no answer from the camera in 10 s")),
    }
}

fn stream(frames: SyncSender<Result<Frame, String>>, ready: SyncSender<Result<(), String>>) {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};
    let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::AbsoluteHighestResolution);
    let mut camera = match nokhwa::Camera::new(CameraIndex::Index(0), format)
        .and_then(|mut c| c.open_stream().map(|()| c))
    {
        Ok(camera) => camera,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    loop {
        let frame = camera
            .frame()
            .and_then(|buffer| buffer.decode_image::<RgbFormat>())
            .map(|img| Frame {
                width: img.width(),
                height: img.height(),
                rgb: img.into_raw(),
            })
            .map_err(|e| e.to_string());
        // The reader is gone: the camera is closed by dropping it here.
        if frames.send(frame).is_err() {
            break;
        }
    }
}

impl FrameSource for DeviceCamera {
    fn next_frame(&mut self) -> Result<Frame, ClientError> {
        match self.frames.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(detail)) => Err(ClientError::Unexpected(format!("camera: {detail}"))),
            Err(_) => Err(ClientError::Unexpected(
                "the camera stopped sending frames".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    /// Needs a real camera: `cargo test -p licence-app -- --ignored camera`.
    #[test]
    #[ignore = "needs a camera device"]
    fn the_device_camera_gives_frames() {
        let mut camera = super::open().expect("a camera");
        let frame = camera.next_frame().unwrap();
        assert_eq!(frame.rgb.len(), (frame.width * frame.height * 3) as usize);
    }
}
