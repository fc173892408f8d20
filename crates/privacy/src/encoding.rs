//! The byte encodings this crate hashes or authenticates, and the hex-or-bytes serde form of its
//! fixed-size byte arrays.
//!
//! Every hashed or authenticated message is framed the same way: a domain tag naming its
//! purpose, then each part prefixed by its length. So no two purposes share a message, and no
//! choice of parts (a field name ending where a value begins) can give the bytes of another.

use serde::{Deserializer, Serializer};

/// First bytes of every framed message; the version lets a future encoding coexist without any
/// hash or associated data being valid under both. It matches the prefix of the signatures of
/// tally-identity, followed by this crate's name.
const FRAME_PREFIX: &[u8] = b"tally/v1/privacy/";

/// A framed message under construction: `prefix || tag || 0x00 || (len as u64 BE || part)*`.
pub(crate) struct Frame {
    bytes: Vec<u8>,
}

impl Frame {
    /// Starts a message for one purpose. Tags are ASCII without `0x00`, which ends them.
    pub(crate) fn new(tag: &str) -> Frame {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(FRAME_PREFIX);
        bytes.extend_from_slice(tag.as_bytes());
        bytes.push(0x00);
        Frame { bytes }
    }

    /// Appends one part with its length.
    pub(crate) fn part(mut self, part: &[u8]) -> Frame {
        // usize is at most 64 bits on every target Rust supports, so this never truncates.
        self.bytes
            .extend_from_slice(&(part.len() as u64).to_be_bytes());
        self.bytes.extend_from_slice(part);
        self
    }

    /// Appends a number (fixed width, so it needs no length).
    pub(crate) fn number(mut self, number: u32) -> Frame {
        self.bytes.extend_from_slice(&number.to_be_bytes());
        self
    }

    /// The message.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// SHA-256 of the message.
    pub(crate) fn digest(self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(&self.bytes).into()
    }
}

/// serde for `[u8; N]`: lower-case hex in human-readable formats (JSON), raw bytes in binary
/// ones (postcard), the convention of tally-identity's keys and signatures.
pub(crate) mod hex_bytes {
    use super::*;

    /// Writes the bytes.
    pub(crate) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&hex::encode(bytes))
        } else {
            serializer.serialize_bytes(bytes)
        }
    }

    /// Reads exactly `N` bytes.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(HexVisitor::<N>)
        } else {
            deserializer.deserialize_bytes(BytesVisitor::<N>)
        }
    }

    struct HexVisitor<const N: usize>;

    impl<const N: usize> serde::de::Visitor<'_> for HexVisitor<N> {
        type Value = [u8; N];

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(formatter, "{} lower-case hex characters", 2 * N)
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<[u8; N], E> {
            let mut out = [0u8; N];
            if text.len() != 2 * N || text.bytes().any(|byte| byte.is_ascii_uppercase()) {
                return Err(E::invalid_value(serde::de::Unexpected::Str(text), &self));
            }
            hex::decode_to_slice(text, &mut out)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(text), &self))?;
            Ok(out)
        }
    }

    struct BytesVisitor<const N: usize>;

    impl<'de, const N: usize> serde::de::Visitor<'de> for BytesVisitor<N> {
        type Value = [u8; N];

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(formatter, "{N} bytes")
        }

        fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<[u8; N], E> {
            <[u8; N]>::try_from(bytes).map_err(|_| E::invalid_length(bytes.len(), &self))
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
            // Formats without a bytes type (and serde_json's `from_value`) give a sequence.
            let mut out = [0u8; N];
            for (index, slot) in out.iter_mut().enumerate() {
                *slot = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::invalid_length(index, &self))?;
            }
            if seq.next_element::<u8>()?.is_some() {
                return Err(serde::de::Error::invalid_length(N + 1, &self));
            }
            Ok(out)
        }
    }
}

/// serde for `Vec<u8>`: lower-case hex in human-readable formats, raw bytes in binary ones.
pub(crate) mod hex_vec {
    use super::*;

    /// Writes the bytes.
    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&hex::encode(bytes))
        } else {
            serializer.serialize_bytes(bytes)
        }
    }

    /// Reads the bytes.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(VecVisitor)
        } else {
            deserializer.deserialize_byte_buf(VecVisitor)
        }
    }

    struct VecVisitor;

    impl<'de> serde::de::Visitor<'de> for VecVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("bytes, or lower-case hex characters")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
            if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
                return Err(E::invalid_value(serde::de::Unexpected::Str(text), &self));
            }
            hex::decode(text).map_err(|_| E::invalid_value(serde::de::Unexpected::Str(text), &self))
        }

        fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(byte) = seq.next_element()? {
                out.push(byte);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cannot_slide_into_each_other() {
        let a = Frame::new("t").part(b"ab").part(b"c").finish();
        let b = Frame::new("t").part(b"a").part(b"bc").finish();
        assert_ne!(a, b);
        let other_tag = Frame::new("u").part(b"ab").part(b"c").finish();
        assert_ne!(a, other_tag);
    }
}
