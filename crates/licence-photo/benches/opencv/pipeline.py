"""The speed baseline of issue 18: an OpenCV-Python pipeline doing the photo check's job on one
photo, as one process, written to be as lean as OpenCV allows: decode (EXIF orientation
applied), find the one face (the bundled Haar cascade on a 320 px grey copy), the eyes in it
for the roll, the background beside the head, the hair top above it, the crop to 260x378 at
the spec's head length (area average), JPEG encode, and the re-check of the crop (decode, face
again). It checks less than `licence photo crop` does (no landmarks, no turned faces), so the
ratio flatters it. Prints a one-line verdict.

With --reduced it decodes at half size in the DCT domain (IMREAD_REDUCED_COLOR_2), as ours
does for a large JPEG, and decodes again at full size when the picture is then too small or
its head too small to fill the frame: the same trick on both sides, for the second ratio
docs/performance.md quotes.

Usage: pipeline.py PHOTO OUT.jpg [--reduced]   (run by `cargo xtask bench-photo`)"""
import math
import sys

import cv2
import numpy as np

HAAR = cv2.data.haarcascades
faces_model = cv2.CascadeClassifier(HAAR + "haarcascade_frontalface_default.xml")
eyes_model = cv2.CascadeClassifier(HAAR + "haarcascade_eye.xml")


def find_face(bgr, side):
    h, w = bgr.shape[:2]
    k = side / max(h, w)
    small = cv2.resize(bgr, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    found = faces_model.detectMultiScale(grey, 1.1, 5, minSize=(24, 24))
    return [tuple(v / k for v in f) for f in found], grey, k


def roll(grey, face, k):
    x, y, w, h = (round(v * k) for v in face)
    upper = grey[y : y + h // 2, x : x + w]
    eyes = eyes_model.detectMultiScale(upper, 1.1, 5)
    if len(eyes) < 2:
        return None
    (ax, ay, aw, ah), (bx, by, bw, bh) = sorted(eyes, key=lambda e: e[0])[:2]
    return math.degrees(math.atan2((by + bh / 2) - (ay + ah / 2), (bx + bw / 2) - (ax + aw / 2)))


def background(bgr, face):
    x, y, w, h = face
    H, W = bgr.shape[:2]
    sides = []
    for x0, x1 in ((x - 1.6 * w, x - 0.95 * w + w / 2), (x + w + 0.45 * w, x + 1.6 * w + w / 2)):
        x0, x1 = int(max(0, x0)), int(min(W, x1))
        y0, y1 = int(max(0, y - 0.3 * h)), int(min(H, y + 0.5 * h))
        if x1 - x0 > 4 and y1 - y0 > 4:
            sides.append(bgr[y0:y1, x0:x1].reshape(-1, 3))
    if not sides:
        return None
    px = np.concatenate(sides).astype(np.float32)
    return px.mean(axis=0), px.std()


def hair_top(bgr, face, bg):
    x, y, w, h = face
    cols = bgr[:, int(x + 0.3 * w) : int(x + 0.7 * w)].astype(np.float32)
    diff = np.abs(cols - bg).max(axis=2).max(axis=1)
    rows = np.nonzero(diff[: int(y + 0.3 * h)] > 28)[0]
    return int(rows[0]) if len(rows) else 0


def main(path, out, reduced=False):
    data = np.frombuffer(open(path, "rb").read(), np.uint8)
    flag = cv2.IMREAD_REDUCED_COLOR_2 if reduced else cv2.IMREAD_COLOR
    bgr = cv2.imdecode(data, flag)
    if bgr is None:
        print("unreadable")
        return 2
    if reduced and min(bgr.shape[:2]) < 1200:
        return main(path, out)
    faces, grey, k = find_face(bgr, 320)
    if len(faces) != 1:
        print("no_face" if not faces else "multiple_faces")
        return 1
    face = faces[0]
    r = roll(grey, face, k)
    bg = background(bgr, face)
    if bg is None or bg[0].mean() < 200:
        print("background_not_white")
        return 1
    top = hair_top(bgr, face, bg[0])
    chin = face[1] + 1.16 * face[3]
    if reduced and chin - top < 242.0:
        return main(path, out)
    scale = max((chin - top) / 242.0, 1.0)
    cx = face[0] + face[2] / 2
    x0, y0 = round(cx - 130 * scale), round(top - 15 * scale)
    window = bgr[max(0, y0) : y0 + round(378 * scale), max(0, x0) : x0 + round(260 * scale)]
    framed = cv2.resize(window, (260, 378), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", framed, [cv2.IMWRITE_JPEG_QUALITY, 90])
    open(out, "wb").write(jpeg.tobytes())
    again = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    refound, _, _ = find_face(again, 160)
    print(f"compliant={len(refound) == 1} roll={r} head={chin - top:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], reduced="--reduced" in sys.argv[3:]))
