//! API keys: loaded from a file and/or the `PASSERELLE_API_KEYS` environment variable, kept
//! only as SHA-256 digests, and compared in constant time (`subtle`), so neither the time
//! taken nor the answer tells a client which key, which byte or which part of the header
//! was wrong.
//!
//! A client sends its key as `authorization: Bearer <key>` or `x-api-key: <key>` metadata.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// Shortest key accepted, in bytes (a key is a shared secret, not a password to remember).
pub const MIN_KEY_BYTES: usize = 16;

/// Longest key accepted, in bytes: gRPC servers (this one included, through hyper) refuse a
/// call whose metadata is over 16 KiB, so a longer key could be configured but never sent.
pub const MAX_KEY_BYTES: usize = 4096;

/// The accepted API keys (their SHA-256 digests; never printed).
#[derive(Clone)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys, redacted)", self.digests.len())
    }
}

/// Why the API keys cannot be loaded. Messages name the source and line, never the key.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The key file cannot be read.
    #[error("api_keys_file {file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A key is too short or has characters that cannot travel in gRPC metadata.
    #[error("{origin}: {position}: {reason}")]
    BadKey {
        /// `api_keys_file <path>` or `PASSERELLE_API_KEYS`.
        origin: String,
        /// `line <n>` of the file or `key <n>` of the variable (1-based).
        position: String,
        /// What is wrong (never the key itself).
        reason: String,
    },
    /// Keys were configured (a file or the variable is set) but none is usable: refusing to
    /// start is safer than serving without authentication.
    #[error("{origin} is set but holds no key (blank or comments only): refusing to serve without authentication")]
    NoKeys {
        /// `api_keys_file <path>` and/or `PASSERELLE_API_KEYS`.
        origin: String,
    },
}

fn check_key(key: &str) -> Result<(), String> {
    if key.len() < MIN_KEY_BYTES {
        return Err(format!("shorter than {MIN_KEY_BYTES} bytes"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "{} bytes, longer than {MAX_KEY_BYTES} (gRPC metadata is limited to 16 KiB per call: no client could send it)",
            key.len()
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("only visible ASCII characters (no spaces) can be sent in gRPC metadata".into());
    }
    Ok(())
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

impl ApiKeys {
    /// Keys from `file` (one per line; blank lines and `#` comments skipped) and from `env`
    /// (the value of `PASSERELLE_API_KEYS`, comma-separated). `Ok(None)` when neither is
    /// given: authentication is then off.
    ///
    /// # Errors
    /// [`ApiKeyError`] naming the file and line, or the variable and entry;
    /// [`ApiKeyError::NoKeys`] when a file or the variable is given but holds no key.
    pub fn load(file: Option<&Path>, env: Option<&str>) -> Result<Option<ApiKeys>, ApiKeyError> {
        let mut digests = Vec::new();
        // Where each key was read (`api_keys_file keys.txt line 2`), to name a repeated one.
        let mut seen: Vec<String> = Vec::new();
        // Checks `key` and keeps its digest. A key given twice was counted twice (`api_keys=2`
        // for one key): most likely one key pasted where another was meant, so two clients
        // would share it unknowingly.
        let mut add = |key: &str, origin: String, position: String| {
            if let Err(reason) = check_key(key) {
                return Err(ApiKeyError::BadKey { origin, position, reason });
            }
            let d = digest(key.as_bytes());
            if let Some(first) = digests.iter().position(|k| *k == d) {
                return Err(ApiKeyError::BadKey {
                    reason: format!("the same key as {}; give each key once", seen[first]),
                    origin,
                    position,
                });
            }
            seen.push(format!("{origin} {position}"));
            digests.push(d);
            Ok(())
        };
        if let Some(path) = file {
            let bytes = std::fs::read(path).map_err(|source| ApiKeyError::Read { file: path.to_path_buf(), source })?;
            // A byte-order mark (an editor's "UTF-8 with BOM") is never part of a key.
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                // Read line by line so that a byte that is not UTF-8 is named by its line.
                let line = std::str::from_utf8(line).map_err(|_| ApiKeyError::BadKey {
                    origin: format!("api_keys_file {}", path.display()),
                    position: format!("line {}", i + 1),
                    reason: "not valid UTF-8 (keys are visible ASCII characters)".into(),
                })?;
                let key = line.trim();
                if key.is_empty() || key.starts_with('#') {
                    continue;
                }
                add(key, format!("api_keys_file {}", path.display()), format!("line {}", i + 1))?;
            }
        }
        if let Some(value) = env {
            for (i, key) in value.split(',').map(str::trim).enumerate().filter(|(_, k)| !k.is_empty()) {
                add(key, crate::settings::API_KEYS_ENV.to_string(), format!("key {}", i + 1))?;
            }
        }
        if digests.is_empty() {
            let mut origins: Vec<String> = file.map(|p| format!("api_keys_file {}", p.display())).into_iter().collect();
            origins.extend(env.map(|_| crate::settings::API_KEYS_ENV.to_string()));
            if !origins.is_empty() {
                return Err(ApiKeyError::NoKeys { origin: origins.join(" and ") });
            }
            return Ok(None);
        }
        Ok(Some(ApiKeys { digests }))
    }

    /// The value of `PASSERELLE_API_KEYS` as text (`raw` from [`std::env::var_os`]). A value
    /// that is not UTF-8 is refused naming its entry: read as unset (`env::var(..).ok()`), it
    /// turned authentication off.
    ///
    /// # Errors
    /// [`ApiKeyError::BadKey`] on the first entry that is not UTF-8.
    pub fn env_value(raw: Option<std::ffi::OsString>) -> Result<Option<String>, ApiKeyError> {
        let Some(raw) = raw else { return Ok(None) };
        raw.into_string().map(Some).map_err(|raw| {
            // Numbered as `load` numbers the entries (empty ones counted).
            let lossy = raw.to_string_lossy();
            let i = lossy.split(',').position(|k| k.contains('\u{FFFD}')).unwrap_or(0);
            ApiKeyError::BadKey {
                origin: crate::settings::API_KEYS_ENV.to_string(),
                position: format!("key {}", i + 1),
                reason: "not valid UTF-8 (keys are visible ASCII characters)".into(),
            }
        })
    }

    /// How many keys are accepted.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Always false: an empty key set is represented by `None`.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the keys. Every key is compared, in constant time over
    /// fixed-length digests (the key's length does not leak either).
    pub fn accepts(&self, presented: &[u8]) -> bool {
        let d = digest(presented);
        let mut found = Choice::from(0u8);
        for k in &self.digests {
            found |= k.ct_eq(&d);
        }
        found.into()
    }

    /// Whether the request headers carry an accepted key, as `authorization: Bearer <key>`
    /// or `x-api-key: <key>`.
    pub fn authorizes(&self, headers: &http::HeaderMap) -> bool {
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .and_then(|v| v.strip_prefix(b"Bearer ").or_else(|| v.strip_prefix(b"bearer ")));
        let api_key = headers.get("x-api-key").map(|v| v.as_bytes());
        // Both are checked whatever the first gives, so timing does not say which was tried.
        let a = bearer.is_some_and(|k| self.accepts(k));
        let b = api_key.is_some_and(|k| self.accepts(k));
        a | b
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const K1: &str = "k1-0123456789abcdef";
    const K2: &str = "k2-fedcba9876543210";

    #[test]
    fn keys_from_file_and_env_are_accepted_and_others_not() {
        let dir = tempfile::Builder::new().prefix("passerelle-keys-").tempdir().unwrap();
        let file = dir.path().join("keys.txt");
        std::fs::write(&file, format!("# comment\n\n  {K1}  \n")).unwrap();
        let keys = ApiKeys::load(Some(&file), Some(&format!(" {K2} ,"))).unwrap().unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.accepts(K1.as_bytes()));
        assert!(keys.accepts(K2.as_bytes()));
        assert!(!keys.accepts(b"k1-0123456789abcde"));
        assert!(!keys.accepts(b""));
        assert_eq!(format!("{keys:?}"), "ApiKeys(2 keys, redacted)");
    }

    /// A key given twice was accepted and counted twice (`api_keys=2` in the start log).
    #[test]
    fn a_repeated_key_is_refused_naming_both_places_not_the_key() {
        let dir = tempfile::Builder::new().prefix("passerelle-keys-dup-").tempdir().unwrap();
        let file = dir.path().join("keys.txt");
        std::fs::write(&file, format!("{K1}\n# second client\n  {K1}\n")).unwrap();
        let err = ApiKeys::load(Some(&file), None).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "api_keys_file {0}: line 3: the same key as api_keys_file {0} line 1; give each key once",
                file.display()
            )
        );
        std::fs::write(&file, format!("{K1}\n")).unwrap();
        let err = ApiKeys::load(Some(&file), Some(&format!("{K2},{K1}"))).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "PASSERELLE_API_KEYS: key 2: the same key as api_keys_file {} line 1; give each key once",
                file.display()
            )
        );
        assert!(!err.contains(K1), "{err}");
        let err = ApiKeys::load(None, Some(&format!("{K2},{K2}"))).unwrap_err().to_string();
        assert_eq!(err, "PASSERELLE_API_KEYS: key 2: the same key as PASSERELLE_API_KEYS key 1; give each key once");
    }

    #[test]
    fn no_key_means_authentication_off() {
        assert!(ApiKeys::load(None, None).unwrap().is_none());
        // Set but empty (a missing secret): fail closed, never serve without keys.
        let err = ApiKeys::load(None, Some(" , ")).unwrap_err().to_string();
        assert_eq!(
            err,
            "PASSERELLE_API_KEYS is set but holds no key (blank or comments only): refusing to serve without authentication"
        );
        let dir = tempfile::Builder::new().prefix("passerelle-nokeys-").tempdir().unwrap();
        let file = dir.path().join("keys");
        std::fs::write(&file, "# none yet\n\n").unwrap();
        assert!(matches!(ApiKeys::load(Some(&file), None), Err(ApiKeyError::NoKeys { .. })));
    }

    /// A `PASSERELLE_API_KEYS` that is not UTF-8 was read as unset: the server started with
    /// authentication off.
    #[cfg(unix)]
    #[test]
    fn an_env_value_that_is_not_utf8_is_refused_naming_its_entry() {
        use std::os::unix::ffi::OsStringExt;
        let raw = std::ffi::OsString::from_vec([K1.as_bytes(), b",,abc\xe9defghijklmnop"].concat());
        let err = ApiKeys::env_value(Some(raw)).unwrap_err().to_string();
        assert_eq!(err, "PASSERELLE_API_KEYS: key 3: not valid UTF-8 (keys are visible ASCII characters)");
        assert_eq!(ApiKeys::env_value(None).unwrap(), None);
        assert_eq!(ApiKeys::env_value(Some(K1.into())).unwrap().as_deref(), Some(K1));
    }

    #[test]
    fn short_key_is_refused_naming_the_line_not_the_key() {
        let dir = tempfile::Builder::new().prefix("passerelle-keys-short-").tempdir().unwrap();
        let file = dir.path().join("keys.txt");
        std::fs::write(&file, format!("{K1}\nshort\n")).unwrap();
        let err = ApiKeys::load(Some(&file), None).unwrap_err().to_string();
        assert_eq!(err, format!("api_keys_file {}: line 2: shorter than 16 bytes", file.display()));
        let err = ApiKeys::load(None, Some(&format!("{K1},with space inside it"))).unwrap_err().to_string();
        assert!(err.starts_with("PASSERELLE_API_KEYS: key 2: only visible ASCII"), "{err}");
    }

    /// A 100,000-byte key was accepted at start, but the server itself refuses a call with
    /// that much metadata (HTTP 431, or an HTTP/2 error): no client could ever use it.
    #[test]
    fn a_key_too_long_to_send_is_refused_naming_the_line() {
        let dir = tempfile::Builder::new().prefix("passerelle-keys-long-").tempdir().unwrap();
        let file = dir.path().join("keys.txt");
        std::fs::write(&file, format!("{K1}\n{}\n", "k".repeat(100_000))).unwrap();
        let err = ApiKeys::load(Some(&file), None).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "api_keys_file {}: line 2: 100000 bytes, longer than 4096 (gRPC metadata is limited to 16 KiB per \
                 call: no client could send it)",
                file.display()
            )
        );
        let err = ApiKeys::load(None, Some(&"k".repeat(MAX_KEY_BYTES + 1))).unwrap_err().to_string();
        assert!(err.starts_with("PASSERELLE_API_KEYS: key 1: 4097 bytes, longer than 4096 "), "{err}");
        let longest = "k".repeat(MAX_KEY_BYTES);
        assert!(ApiKeys::load(None, Some(&longest)).unwrap().unwrap().accepts(longest.as_bytes()));
    }

    #[test]
    fn key_file_with_a_byte_order_mark_and_crlf_loads_and_bad_bytes_name_their_line() {
        let dir = tempfile::Builder::new().prefix("passerelle-keys-bom-").tempdir().unwrap();
        let file = dir.path().join("keys.txt");
        // As saved by an editor in "UTF-8 with BOM" with Windows line endings.
        std::fs::write(&file, format!("\u{feff}{K1}\r\n# comment\r\n{K2}\r\n")).unwrap();
        let keys = ApiKeys::load(Some(&file), None).unwrap().unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.accepts(K1.as_bytes()));
        assert!(keys.accepts(K2.as_bytes()));
        let mut bytes = format!("{K1}\n\n").into_bytes();
        bytes.extend_from_slice(b"k3-0123456789abc\xffdef\n");
        std::fs::write(&file, bytes).unwrap();
        let err = ApiKeys::load(Some(&file), None).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("api_keys_file {}: line 3: not valid UTF-8 (keys are visible ASCII characters)", file.display())
        );
    }

    #[test]
    fn bearer_and_x_api_key_headers() {
        let keys = ApiKeys::load(None, Some(K1)).unwrap().unwrap();
        let mut h = http::HeaderMap::new();
        assert!(!keys.authorizes(&h));
        h.insert("authorization", format!("Bearer {K1}").parse().unwrap());
        assert!(keys.authorizes(&h));
        h.insert("authorization", K1.parse().unwrap());
        assert!(!keys.authorizes(&h), "without the Bearer scheme");
        h.insert("x-api-key", K1.parse().unwrap());
        assert!(keys.authorizes(&h));
        h.insert("x-api-key", K2.parse().unwrap());
        assert!(!keys.authorizes(&h));
    }
}
