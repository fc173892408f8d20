//! API tokens: a member's short-lived, self-issued credential for a node's HTTP API.
//!
//! A member proves who it is to a node by sending an [`ApiToken`] it signed itself with its
//! member key, for one chain and a bounded time window. No server issues tokens, so no server
//! holds a secret: a node checks the signature against the member key the chain's committed
//! state certifies, then the window against its own clock. The token is signed under
//! [`Domain::Request`] and the chain id, so neither a transaction signature nor a token for
//! another chain can pass for it.
//!
//! The textual form is lower-case hex of an explicit, length-prefixed binary encoding
//! ([`ApiToken::encode`]); decoding ([`ApiToken::decode`]) bounds the input first, so an
//! oversized header costs nothing to refuse.

use std::fmt;

use thiserror::Error;

use crate::error::IdentityError;
use crate::keys::{
    Domain, PublicKey, SecretKey, Signature, MAX_CHAIN_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES,
};

/// Longest time a token may be valid, from `issued_ms` to `expires_ms`. A token is a bearer
/// credential: whoever copies it can read the books until it expires, and revoking the member
/// does not reach a copy already taken off the node (the node still refuses it once the
/// revocation is committed). A day covers a dashboard session; commands mint tokens of minutes.
pub const API_TOKEN_LIFETIME_MAX_MS: u64 = 24 * 60 * 60 * 1000;

/// How far a token's `issued_ms` may lie ahead of the checking node's clock: the member's and
/// the node's clocks differ by a little, and a token used right after it is minted must pass.
pub const API_TOKEN_CLOCK_SKEW_MAX_MS: u64 = 60 * 1000;

/// Version byte that opens every encoded token, so a later layout never decodes as this one.
pub const API_TOKEN_VERSION: u8 = 1;

/// Largest encoding of a token in bytes: version, chain id length and bytes (at most
/// [`MAX_CHAIN_ID_BYTES`]), member key, two times and the signature.
pub const API_TOKEN_ENCODED_BYTES_MAX: usize =
    1 + 1 + MAX_CHAIN_ID_BYTES + PUBLIC_KEY_BYTES + 8 + 8 + SIGNATURE_BYTES;

/// Longest textual (hex) token accepted; anything longer is refused before it is parsed.
pub const API_TOKEN_TEXT_BYTES_MAX: usize = 2 * API_TOKEN_ENCODED_BYTES_MAX;

/// A member's signed statement "I, `member`, use chain `chain` from `issued_ms` to
/// `expires_ms`". Built by [`ApiToken::issue`] or [`ApiToken::decode`]; whether it is valid for
/// a chain at a time is [`ApiToken::check`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ApiToken {
    /// The chain the token is for.
    pub chain: String,
    /// The member key that signed it.
    pub member: PublicKey,
    /// When the member issued it (Unix time in milliseconds).
    pub issued_ms: u64,
    /// Last millisecond (Unix time) the token is valid, inclusive.
    pub expires_ms: u64,
    /// The member's signature over [`ApiToken::signing_payload`] in [`Domain::Request`].
    pub signature: Signature,
}

/// Why a token was refused. Each message is written for the person holding the token.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The text is longer than any token.
    #[error("token is {len} characters long; a token has at most {API_TOKEN_TEXT_BYTES_MAX}")]
    TooLong {
        /// Length of the refused text.
        len: usize,
    },
    /// The text does not decode to a token.
    #[error("token is malformed: {reason}")]
    Malformed {
        /// What is wrong, for a person.
        reason: String,
    },
    /// The token names another chain than the one asked.
    #[error("token is for chain '{token}', this is chain '{expected}'")]
    WrongChain {
        /// The chain the token names.
        token: String,
        /// The chain it was checked for.
        expected: String,
    },
    /// The token's window is longer than [`API_TOKEN_LIFETIME_MAX_MS`] (or ends before it starts).
    #[error(
        "token is valid from {} to {}; a token may be valid for at most 24 hours",
        utc(*issued_ms),
        utc(*expires_ms)
    )]
    LifetimeTooLong {
        /// When it was issued.
        issued_ms: u64,
        /// When it expires.
        expires_ms: u64,
    },
    /// The token was issued further in the future than the allowed clock skew.
    #[error("token is not valid before {}; check the clock of the machine that made it", utc(*issued_ms))]
    NotYetValid {
        /// When it was issued.
        issued_ms: u64,
    },
    /// The token's window has passed.
    #[error("token expired at {}", utc(*expires_ms))]
    Expired {
        /// When it expired.
        expires_ms: u64,
    },
    /// The signature does not verify for the token's member key.
    #[error("token signature does not verify for member {member}")]
    BadSignature {
        /// The member the token names.
        member: PublicKey,
    },
}

impl ApiToken {
    /// Signs a token for `chain_id` valid from `issued_ms` to `expires_ms` (inclusive).
    /// Fails for a chain id longer than [`MAX_CHAIN_ID_BYTES`]; a window longer than
    /// [`API_TOKEN_LIFETIME_MAX_MS`] is signed but never passes [`ApiToken::check`].
    pub fn issue(
        key: &SecretKey,
        chain_id: &str,
        issued_ms: u64,
        expires_ms: u64,
    ) -> Result<ApiToken, IdentityError> {
        let mut token = ApiToken {
            chain: chain_id.to_owned(),
            member: key.public_key(),
            issued_ms,
            expires_ms,
            signature: Signature::from_bytes(&[0; SIGNATURE_BYTES]),
        };
        token.signature = key.try_sign(Domain::Request, chain_id, &token.signing_payload())?;
        Ok(token)
    }

    /// The bytes the member signs: the encoding without the signature.
    ///
    /// ```text
    /// version     u8 (API_TOKEN_VERSION)
    /// chain       u8 byte length || UTF-8 bytes (at most MAX_CHAIN_ID_BYTES)
    /// member      32 bytes
    /// issued_ms   u64 big-endian
    /// expires_ms  u64 big-endian
    /// ```
    pub fn signing_payload(&self) -> Vec<u8> {
        let chain = self.chain.as_bytes();
        let mut out = Vec::with_capacity(API_TOKEN_ENCODED_BYTES_MAX);
        out.push(API_TOKEN_VERSION);
        // A chain id longer than u8::MAX cannot be signed (MAX_CHAIN_ID_BYTES is below it), so
        // saturating here only affects tokens that fail to sign or verify anyway.
        out.push(u8::try_from(chain.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(chain);
        out.extend_from_slice(self.member.as_bytes());
        out.extend_from_slice(&self.issued_ms.to_be_bytes());
        out.extend_from_slice(&self.expires_ms.to_be_bytes());
        out
    }

    /// The textual token: lower-case hex of [`ApiToken::signing_payload`] then the signature.
    pub fn encode(&self) -> String {
        let mut bytes = self.signing_payload();
        bytes.extend_from_slice(self.signature.as_bytes());
        hex::encode(bytes)
    }

    /// Parses a textual token, checking its form only (not its signature, chain or time).
    pub fn decode(text: &str) -> Result<ApiToken, TokenError> {
        if text.len() > API_TOKEN_TEXT_BYTES_MAX {
            return Err(TokenError::TooLong { len: text.len() });
        }
        let malformed = |reason: &str| TokenError::Malformed {
            reason: reason.to_owned(),
        };
        if text
            .bytes()
            .any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(malformed("a token is lower-case hex"));
        }
        let bytes = hex::decode(text).map_err(|_| malformed("odd number of hex characters"))?;
        let mut reader = Reader { bytes: &bytes };
        let version = reader.take(1).ok_or_else(|| malformed("it is empty"))?[0];
        if version != API_TOKEN_VERSION {
            return Err(malformed(&format!(
                "version {version}; this node reads version {API_TOKEN_VERSION}"
            )));
        }
        let short = || malformed("it ends early");
        let chain_len = usize::from(reader.take(1).ok_or_else(short)?[0]);
        if chain_len > MAX_CHAIN_ID_BYTES {
            return Err(malformed("the chain id is too long"));
        }
        let chain = std::str::from_utf8(reader.take(chain_len).ok_or_else(short)?)
            .map_err(|_| malformed("the chain id is not UTF-8"))?
            .to_owned();
        let member: [u8; PUBLIC_KEY_BYTES] = reader.array().ok_or_else(short)?;
        let member = PublicKey::from_bytes(&member)
            .map_err(|_| malformed("the member key is not a valid Ed25519 key"))?;
        let issued_ms = u64::from_be_bytes(reader.array().ok_or_else(short)?);
        let expires_ms = u64::from_be_bytes(reader.array().ok_or_else(short)?);
        let signature: [u8; SIGNATURE_BYTES] = reader.array().ok_or_else(short)?;
        if !reader.bytes.is_empty() {
            return Err(malformed("bytes follow the signature"));
        }
        Ok(ApiToken {
            chain,
            member,
            issued_ms,
            expires_ms,
            signature: Signature::from_bytes(&signature),
        })
    }

    /// Checks that the token is for `chain_id`, then [`ApiToken::check_time`], then
    /// [`ApiToken::verify_signature`]. Cheap checks come first, so a stale or misdirected token
    /// costs no signature check. Whether the member may use the chain is the caller's question.
    pub fn check(&self, chain_id: &str, now_ms: u64) -> Result<(), TokenError> {
        if self.chain != chain_id {
            return Err(TokenError::WrongChain {
                token: self.chain.clone(),
                expected: chain_id.to_owned(),
            });
        }
        self.check_time(now_ms)?;
        self.verify_signature()
    }

    /// Checks that the token's window is at most [`API_TOKEN_LIFETIME_MAX_MS`] long and covers
    /// `now_ms`, allowing [`API_TOKEN_CLOCK_SKEW_MAX_MS`] before `issued_ms`. A caller that
    /// verified the signature of this very token before needs only this on later uses.
    pub fn check_time(&self, now_ms: u64) -> Result<(), TokenError> {
        let lifetime = self.expires_ms.checked_sub(self.issued_ms);
        if lifetime.is_none_or(|lifetime| lifetime > API_TOKEN_LIFETIME_MAX_MS) {
            return Err(TokenError::LifetimeTooLong {
                issued_ms: self.issued_ms,
                expires_ms: self.expires_ms,
            });
        }
        if self.issued_ms.saturating_sub(API_TOKEN_CLOCK_SKEW_MAX_MS) > now_ms {
            return Err(TokenError::NotYetValid {
                issued_ms: self.issued_ms,
            });
        }
        if now_ms > self.expires_ms {
            return Err(TokenError::Expired {
                expires_ms: self.expires_ms,
            });
        }
        Ok(())
    }

    /// Strictly verifies the member's signature over [`ApiToken::signing_payload`] under
    /// [`Domain::Request`] and the token's own chain id.
    pub fn verify_signature(&self) -> Result<(), TokenError> {
        self.member
            .verify(
                Domain::Request,
                &self.chain,
                &self.signing_payload(),
                &self.signature,
            )
            .map_err(|_| TokenError::BadSignature {
                member: self.member,
            })
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// Reads a byte slice front to back.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < count {
            return None;
        }
        let (head, tail) = self.bytes.split_at(count);
        self.bytes = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|bytes| bytes.try_into().ok())
    }
}

/// A Unix time in milliseconds as an RFC 3339 UTC time to the second, for messages.
pub fn utc(ms: u64) -> String {
    const MS_PER_DAY: u64 = 86_400_000;
    let day = tally_ledger::Date::from_unix_ms(ms);
    let seconds = (ms % MS_PER_DAY) / 1000;
    format!(
        "{day}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = "acme-books";
    /// 2026-12-02T10:00:00Z.
    const NOW: u64 = 1_796_205_600_000;
    const MINUTE: u64 = 60_000;

    fn key() -> SecretKey {
        SecretKey::from_seed([9; 32])
    }

    fn token() -> ApiToken {
        ApiToken::issue(&key(), CHAIN, NOW, NOW + 5 * MINUTE).unwrap()
    }

    #[test]
    fn round_trip() {
        let token = token();
        let text = token.encode();
        assert_eq!(ApiToken::decode(&text), Ok(token.clone()));
        assert_eq!(token.to_string(), text);
        assert_eq!(token.check(CHAIN, NOW), Ok(()));
        assert_eq!(token.member, key().public_key());
        assert_eq!(utc(NOW), "2026-12-02T10:00:00Z");
    }

    #[test]
    fn every_byte_is_bound_by_the_signature() {
        let text = token().encode();
        let bytes = hex::decode(&text).unwrap();
        for index in 0..bytes.len() {
            for flip in [0x01u8, 0x80] {
                let mut altered = bytes.clone();
                altered[index] ^= flip;
                // An altered byte either breaks the form or the check; it never passes.
                if let Ok(token) = ApiToken::decode(&hex::encode(&altered)) {
                    assert!(
                        token.check(CHAIN, NOW).is_err(),
                        "byte {index} flipped by {flip:#x} still checks"
                    );
                }
            }
        }
    }

    #[test]
    fn a_signature_of_another_member_or_domain_does_not_pass() {
        let mut token = token();
        let other = SecretKey::from_seed([10; 32]);
        token.signature = other.sign(Domain::Request, CHAIN, &token.signing_payload());
        assert_eq!(
            token.check(CHAIN, NOW),
            Err(TokenError::BadSignature {
                member: key().public_key()
            })
        );
        token.signature = key().sign(Domain::Transaction, CHAIN, &token.signing_payload());
        assert!(matches!(
            token.check(CHAIN, NOW),
            Err(TokenError::BadSignature { .. })
        ));
    }

    #[test]
    fn window_and_expiry() {
        let token = token();
        assert_eq!(token.check(CHAIN, NOW + 5 * MINUTE), Ok(()));
        let expired = token.check(CHAIN, NOW + 5 * MINUTE + 1).unwrap_err();
        assert_eq!(
            expired,
            TokenError::Expired {
                expires_ms: NOW + 5 * MINUTE
            }
        );
        assert_eq!(expired.to_string(), "token expired at 2026-12-02T10:05:00Z");
        // Issued a little ahead of the node's clock: accepted within the skew, not beyond.
        assert_eq!(
            token.check(CHAIN, NOW - API_TOKEN_CLOCK_SKEW_MAX_MS),
            Ok(())
        );
        let early = token
            .check(CHAIN, NOW - API_TOKEN_CLOCK_SKEW_MAX_MS - 1)
            .unwrap_err();
        assert_eq!(
            early.to_string(),
            "token is not valid before 2026-12-02T10:00:00Z; check the clock of the machine that made it"
        );
    }

    #[test]
    fn lifetime_is_capped() {
        let longest = ApiToken::issue(&key(), CHAIN, NOW, NOW + API_TOKEN_LIFETIME_MAX_MS).unwrap();
        assert_eq!(longest.check(CHAIN, NOW), Ok(()));
        let too_long =
            ApiToken::issue(&key(), CHAIN, NOW, NOW + API_TOKEN_LIFETIME_MAX_MS + 1).unwrap();
        assert_eq!(
            too_long.check(CHAIN, NOW).unwrap_err().to_string(),
            "token is valid from 2026-12-02T10:00:00Z to 2026-12-03T10:00:00Z; a token may be valid for at most 24 hours"
        );
        let backwards = ApiToken::issue(&key(), CHAIN, NOW, NOW - 1).unwrap();
        assert!(matches!(
            backwards.check(CHAIN, NOW),
            Err(TokenError::LifetimeTooLong { .. })
        ));
    }

    #[test]
    fn wrong_chain() {
        let error = token().check("other-books", NOW).unwrap_err();
        assert_eq!(
            error.to_string(),
            "token is for chain 'acme-books', this is chain 'other-books'"
        );
        // Renaming the chain in the token breaks its signature.
        let mut renamed = token();
        renamed.chain = "other-books".to_owned();
        assert!(matches!(
            renamed.check("other-books", NOW),
            Err(TokenError::BadSignature { .. })
        ));
    }

    #[test]
    fn size_is_bounded() {
        let longest_chain = "c".repeat(MAX_CHAIN_ID_BYTES);
        let longest = ApiToken::issue(&key(), &longest_chain, NOW, NOW + MINUTE).unwrap();
        let text = longest.encode();
        assert_eq!(text.len(), API_TOKEN_TEXT_BYTES_MAX);
        assert_eq!(ApiToken::decode(&text), Ok(longest));
        let too_long = format!("{text}00");
        assert_eq!(
            ApiToken::decode(&too_long),
            Err(TokenError::TooLong {
                len: API_TOKEN_TEXT_BYTES_MAX + 2
            })
        );
        assert!(ApiToken::issue(&key(), &"c".repeat(MAX_CHAIN_ID_BYTES + 1), NOW, NOW).is_err());
    }

    #[test]
    fn malformed_text_is_refused_with_a_reason() {
        let text = token().encode();
        let cases = [
            (String::new(), "token is malformed: it is empty"),
            (
                text.to_uppercase(),
                "token is malformed: a token is lower-case hex",
            ),
            (
                text[..text.len() - 1].to_owned(),
                "token is malformed: odd number of hex characters",
            ),
            (
                text[..text.len() - 2].to_owned(),
                "token is malformed: it ends early",
            ),
            (
                format!("{text}00"),
                "token is malformed: bytes follow the signature",
            ),
            (
                format!("02{}", &text[2..]),
                "token is malformed: version 2; this node reads version 1",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(ApiToken::decode(&input).unwrap_err().to_string(), message);
        }
    }
}
