//! Secret key hex and key files.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use tally_identity::{KeyFileError, SecretKey, MAX_KEY_FILE_BYTES};

/// A path in the temp directory no other test or run uses; removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(label: &str) -> TempPath {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        TempPath(std::env::temp_dir().join(format!(
            "tally-identity-test-{}-{nanos}-{n}-{label}.key",
            std::process::id()
        )))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn hex_round_trip() {
    let secret = SecretKey::from_seed([0x42; 32]);
    assert_eq!(secret.to_hex(), "42".repeat(32));
    let back = SecretKey::from_hex(&secret.to_hex()).unwrap();
    assert_eq!(back.public_key(), secret.public_key());
}

#[test]
fn malformed_hex_messages() {
    let err = SecretKey::from_hex("abc").unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret key is not valid: expected 64 hex characters, found 3 (a secret key is a 32-byte Ed25519 seed in hex)"
    );
    let err = SecretKey::from_hex(&"g".repeat(64)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret key is not valid: character 'g' at position 0 is not a lower-case hex digit (a secret key is a 32-byte Ed25519 seed in hex)"
    );
}

#[test]
fn file_round_trip() {
    let path = TempPath::new("round-trip");
    let secret = SecretKey::from_seed([7; 32]);
    secret.write_file(&path.0).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path.0).unwrap(),
        format!("{}\n", secret.to_hex())
    );
    let back = SecretKey::read_file(&path.0).unwrap();
    assert_eq!(back.public_key(), secret.public_key());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path.0).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn an_existing_key_file_is_not_overwritten() {
    let path = TempPath::new("exists");
    SecretKey::from_seed([1; 32]).write_file(&path.0).unwrap();
    let err = SecretKey::from_seed([2; 32])
        .write_file(&path.0)
        .unwrap_err();
    assert!(matches!(err, KeyFileError::Io { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("key file {}: ", path.0.display())),
        "{message}"
    );
    let kept = SecretKey::read_file(&path.0).unwrap();
    assert_eq!(
        kept.public_key(),
        SecretKey::from_seed([1; 32]).public_key()
    );
}

#[test]
fn crlf_and_surrounding_whitespace_are_accepted() {
    let path = TempPath::new("crlf");
    let secret = SecretKey::from_seed([9; 32]);
    std::fs::write(&path.0, format!("  {}\r\n", secret.to_hex())).unwrap();
    assert_eq!(
        SecretKey::read_file(&path.0).unwrap().public_key(),
        secret.public_key()
    );
}

/// Writes `contents` and returns the error message of reading it back.
fn read_error(label: &str, contents: &[u8]) -> (String, String) {
    let path = TempPath::new(label);
    std::fs::write(&path.0, contents).unwrap();
    let err = SecretKey::read_file(&path.0).unwrap_err();
    assert!(matches!(err, KeyFileError::Malformed { .. }), "{err:?}");
    (err.to_string(), path.0.display().to_string())
}

#[test]
fn malformed_key_file_messages_name_the_path_and_the_problem() {
    let (message, path) = read_error("short", b"abcd\n");
    assert_eq!(
        message,
        format!("key file {path}: expected 64 hex characters, found 4 (a secret key is a 32-byte Ed25519 seed in hex)")
    );

    let mut text = "0".repeat(64);
    text.replace_range(10..11, "x");
    let (message, path) = read_error("bad-char", text.as_bytes());
    assert_eq!(
        message,
        format!("key file {path}: character 'x' at position 10 is not a lower-case hex digit (a secret key is a 32-byte Ed25519 seed in hex)")
    );

    let (message, path) = read_error("empty", b"\n");
    assert_eq!(
        message,
        format!("key file {path}: file is empty; expected 64 hex characters")
    );

    let (message, path) = read_error("binary", &[0xff, 0xfe, 0x00, 0x80]);
    assert_eq!(
        message,
        format!("key file {path}: file is not text; expected 64 hex characters")
    );

    let big = vec![b'a'; MAX_KEY_FILE_BYTES as usize + 1];
    let (message, path) = read_error("big", &big);
    assert_eq!(
        message,
        format!("key file {path}: file is larger than 1024 bytes; a key file holds 64 hex characters and a newline")
    );
}

#[test]
fn missing_key_file_names_the_path() {
    let path = TempPath::new("missing");
    let err = SecretKey::read_file(&path.0).unwrap_err();
    match &err {
        KeyFileError::Io { path: p, source } => {
            assert_eq!(p, &path.0);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with(&format!("key file {}: ", path.0.display())));
}
