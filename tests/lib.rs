//! Shared test vocabulary lives in the test binaries; this library is intentionally empty.
