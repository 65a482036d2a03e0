"""Schemathesis hooks for the platform's contract run (`cargo xtask test contract`).

The OpenAPI document names string formats for rules JSON Schema cannot state, and this
file teaches the generator to draw values that follow them, so that "schema-valid" means what
the server accepts:

- `gb11643`: an 18-character resident ID number whose check character is right (GB 11643),
  with a province code and a real date of birth;
- `licence-password`: 8-32 characters with at least one letter and one digit;
- and the others crates/licence-api/src/formats.rs lists (mobile numbers, sign-in names,
  ID-card periods, pictures, device keys).

It also signs the run in as the demo driver (LICENCE_DRIVER_LOGIN / LICENCE_DRIVER_PASSWORD),
and gives `DELETE /sessions/current` a session of its own, so that signing out does not end
the session every other operation uses; should that session end anyway, the next case signs in
again (`after_call`).
"""

import base64
import datetime
import io
import json
import os
import urllib.request

import schemathesis
from hypothesis import strategies as st

PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43,
             44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def check_character(body: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


@st.composite
def id_numbers(draw):
    province = draw(st.sampled_from(PROVINCES))
    district = draw(st.integers(min_value=0, max_value=9999))
    born = draw(st.dates(min_value=datetime.date(1930, 1, 1),
                         max_value=datetime.date(2008, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    body = f"{province:02d}{district:04d}{born:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


@st.composite
def passwords(draw):
    alphabet = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
    middle = draw(st.text(alphabet=alphabet, min_size=6, max_size=30))
    letter = draw(st.sampled_from("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"))
    digit = draw(st.sampled_from("0123456789"))
    return letter + middle + digit


# The mainland prefixes licence-core accepts (licence_core::phone::is_mobile_prefix).
MOBILE_PREFIXES = [p for p in (f"1{b}{c}" for b in range(10) for c in range(10))
                   if (p[1] in "38") or (p[1] == "4" and p[2] in "56789")
                   or (p[1] == "5" and p[2] != "4") or (p[1] == "6" and p[2] in "2567")
                   or (p[1] == "7" and p[2] != "9") or (p[1] == "9" and p[2] != "4")]


@st.composite
def mobiles(draw):
    prefix = draw(st.sampled_from(MOBILE_PREFIXES))
    return prefix + f"{draw(st.integers(min_value=0, max_value=99_999_999)):08d}"


def logins():
    return st.one_of(id_numbers(), mobiles())


def today() -> datetime.date:
    # The platform's calendar is China's (UTC+8).
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()


def add_years(start: datetime.date, years: int) -> datetime.date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February: the card ends on 28 February
        return start.replace(year=start.year + years, day=28)


@st.composite
def card_validities(draw):
    """起始日期至终止日期 with a 5/10/20-year term that is in force today, or 至长期."""
    now = today()
    term = draw(st.sampled_from([5, 10, 20, None]))
    if term is None:
        start = draw(st.dates(min_value=datetime.date(1990, 1, 1),
                              max_value=now - datetime.timedelta(days=2)))
        return f"{start:%Y-%m-%d}至长期"
    # In force: issued after (today - term) and at least two days ago.
    earliest = add_years(now, -term) + datetime.timedelta(days=3)
    start = draw(st.dates(min_value=earliest, max_value=now - datetime.timedelta(days=2)))
    return f"{start:%Y-%m-%d}至{add_years(start, term):%Y-%m-%d}"


def image(kind: str):
    """A small picture (no face: the sandbox and the checks decide on content, not the
    tester), base64."""
    @st.composite
    def draw_image(draw):
        from PIL import Image  # pillow, installed with the tools
        width = draw(st.integers(min_value=8, max_value=64))
        height = draw(st.integers(min_value=8, max_value=64))
        colour = tuple(draw(st.integers(min_value=0, max_value=255)) for _ in range(3))
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), colour).save(buffer, format=kind)
        return base64.b64encode(buffer.getvalue()).decode()
    return draw_image()


@st.composite
def p256_public_keys(draw):
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    secret = draw(st.integers(min_value=1, max_value=2**255))
    point = ec.derive_private_key(secret, ec.SECP256R1()).public_key()
    form = draw(st.sampled_from([PublicFormat.CompressedPoint, PublicFormat.UncompressedPoint]))
    return base64.b64encode(point.public_bytes(Encoding.X962, form)).decode()


schemathesis.openapi.format("gb11643", id_numbers())
schemathesis.openapi.format("cn-mobile", mobiles())
schemathesis.openapi.format("licence-password", passwords())
schemathesis.openapi.format("licence-login", logins())
schemathesis.openapi.format("id-card-validity", card_validities())
schemathesis.openapi.format("jpeg-base64", image("JPEG"))
schemathesis.openapi.format("image-base64", st.one_of(image("JPEG"), image("PNG")))
schemathesis.openapi.format("p256-public-key", p256_public_keys())


def sign_in() -> str:
    base = os.environ["LICENCE_API_BASE"]
    body = json.dumps({
        "login": os.environ["LICENCE_DRIVER_LOGIN"],
        "password": os.environ["LICENCE_DRIVER_PASSWORD"],
    }).encode()
    request = urllib.request.Request(
        f"{base}/sessions", data=body, method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)["token"]


# The driver's session every operation uses; None until signed in, and again after the
# platform said it had ended (a sign-out the run made with it), so the next case signs in anew.
SESSION = {"token": None}


@schemathesis.auth(refresh_interval=None)
class DriverSession:
    """The demo driver's session; a throwaway one for signing out."""

    def get(self, case, context):
        if case.method.upper() == "DELETE" and case.path.endswith("/sessions/current"):
            return sign_in()
        if SESSION["token"] is None:
            SESSION["token"] = sign_in()
        return SESSION["token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def after_call(context, case, response):
    """A 401 that says the driver's session is gone: sign in again for the next case."""
    if response.status_code != 401 or SESSION["token"] is None:
        return
    sent = (case.headers or {}).get("Authorization", "")
    if sent != f"Bearer {SESSION['token']}":
        return
    try:
        code = json.loads(response.content or b"{}").get("code")
    except (ValueError, AttributeError):
        return
    if code in ("not_signed_in", "session_expired"):
        SESSION["token"] = None
