//! An RFC 6962-style Merkle tree over a batch's entries.
//!
//! Leaves and interior nodes are hashed with different one-byte prefixes
//! (`0x00` and `0x01`), so a leaf can never be passed off as a node. The
//! tree for `n > 1` leaves splits at `k`, the largest power of two smaller
//! than `n`: `root(D[0..n]) = SHA-256(0x01 || root(D[0..k]) || root(D[k..n]))`.
//! The root of one leaf is that leaf; the root of none is `SHA-256("")`.
//! The functions here take leaves that are already [`leaf_hash`]es.

use sha2::{Digest as _, Sha256};

/// A SHA-256 output.
pub type Digest = [u8; 32];

/// Prefix of a hashed leaf.
const LEAF_PREFIX: u8 = 0x00;
/// Prefix of a hashed interior node.
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Largest power of two strictly smaller than `n`; `n` must be at least 2.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    // n >= 2, so n - 1 >= 1 and the shift is at most usize::BITS - 1.
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root over `leaves` (already leaf hashes). Empty gives `SHA-256("")`.
pub fn merkle_root(leaves: &[Digest]) -> Digest {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    subtree_root(leaves)
}

/// Root of a non-empty range.
fn subtree_root(leaves: &[Digest]) -> Digest {
    match leaves {
        [] => Sha256::digest([]).into(),
        [only] => *only,
        _ => {
            let k = split_point(leaves.len());
            node_hash(&subtree_root(&leaves[..k]), &subtree_root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index`: the sibling hashes from the leaf's level
/// up to the root's children (RFC 6962 `PATH`). `None` if `index` is out of
/// range. A single leaf has an empty path.
pub fn merkle_proof(leaves: &[Digest], index: usize) -> Option<Vec<Digest>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    collect_path(leaves, index, &mut path);
    Some(path)
}

/// Appends the path of `index` within `leaves`, bottom first.
fn collect_path(leaves: &[Digest], index: usize, path: &mut Vec<Digest>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    if index < k {
        collect_path(&leaves[..k], index, path);
        path.push(subtree_root(&leaves[k..]));
    } else {
        collect_path(&leaves[k..], index - k, path);
        path.push(subtree_root(&leaves[..k]));
    }
}

/// Checks that `leaf` is at `index` in a tree of `count` leaves with this
/// `root`, given its audit path (RFC 9162 §2.1.3.2). False for any
/// out-of-range index, a path of the wrong length, or a wrong hash.
///
/// `count` must come from a trusted (signed) source such as the batch
/// header: as in RFC 6962, a path does not always pin the tree size (the
/// path of leaf 0 of 3 leaves also fits leaf 0 of 4 with another root).
pub fn verify_merkle_proof(
    leaf: &Digest,
    index: usize,
    count: usize,
    proof: &[Digest],
    root: &Digest,
) -> bool {
    if index >= count {
        return false;
    }
    let mut f_n = index;
    let mut s_n = count - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false; // path is longer than the tree is deep
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
        assert_eq!(split_point(usize::MAX), 1 << (usize::BITS - 1));
    }
}
