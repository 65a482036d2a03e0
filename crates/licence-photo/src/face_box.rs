//! The box of a face: where the head's geometry is measured from.

/// A face box in the coordinates of the picture that was analysed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub score: f64,
}

impl FaceBox {
    pub fn centre_x(&self) -> f64 {
        self.x + self.width / 2.0
    }

    /// Intersection over union: how much two boxes are one.
    pub fn iou(&self, other: &FaceBox) -> f64 {
        let iw = ((self.x + self.width).min(other.x + other.width) - self.x.max(other.x)).max(0.0);
        let ih =
            ((self.y + self.height).min(other.y + other.height) - self.y.max(other.y)).max(0.0);
        let inter = iw * ih;
        let union = self.width * self.height + other.width * other.height - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}
