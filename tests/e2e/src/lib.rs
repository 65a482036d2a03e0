//! Helpers for driving the app over WebDriver; the tests are in tests/.
