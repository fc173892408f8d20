//! The Merkle tree against independent reference implementations.

use proptest::prelude::*;
use sha2::{Digest as _, Sha256};
use tally_identity::{leaf_hash, merkle_proof, merkle_root, verify_merkle_proof, Digest};

fn sha256(parts: &[&[u8]]) -> Digest {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RFC 6962 §2.1 `MTH`, written out as the spec reads, over leaf hashes.
fn reference_root(leaves: &[Digest]) -> Digest {
    let n = leaves.len();
    if n == 0 {
        return sha256(&[]);
    }
    if n == 1 {
        return leaves[0];
    }
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    let left = reference_root(&leaves[..k]);
    let right = reference_root(&leaves[k..]);
    sha256(&[&[1u8], &left, &right])
}

/// RFC 6962 §2.1.1 `PATH`, written out as the spec reads.
fn reference_path(m: usize, leaves: &[Digest]) -> Vec<Digest> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    if m < k {
        let mut path = reference_path(m, &leaves[..k]);
        path.push(reference_root(&leaves[k..]));
        path
    } else {
        let mut path = reference_path(m - k, &leaves[k..]);
        path.push(reference_root(&leaves[..k]));
        path
    }
}

/// A different construction: hash pairs level by level, promoting a lone
/// last node unchanged. It builds the same tree as RFC 6962.
fn bottom_up_root(leaves: &[Digest]) -> Digest {
    if leaves.is_empty() {
        return sha256(&[]);
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => sha256(&[&[1u8], l, r]),
                [only] => *only,
                _ => unreachable!(),
            })
            .collect();
    }
    level[0]
}

fn leaves(n: usize) -> Vec<Digest> {
    (0..n)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect()
}

#[test]
fn leaf_hash_is_prefixed_sha256() {
    assert_eq!(leaf_hash(b"abc"), sha256(&[&[0u8], b"abc"]));
}

#[test]
fn roots_match_the_references() {
    for n in [0, 1, 2, 3, 5, 8] {
        let l = leaves(n);
        assert_eq!(merkle_root(&l), reference_root(&l), "n = {n}");
        assert_eq!(merkle_root(&l), bottom_up_root(&l), "n = {n}");
    }
    assert_eq!(
        hex::encode(merkle_root(&[])),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn roots_match_rfc6962_test_vectors() {
    // The leaf inputs and roots used by Certificate Transparency's tests.
    let inputs = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let all: Vec<Digest> = inputs
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).unwrap()))
        .collect();
    for (n, root) in roots.iter().enumerate() {
        assert_eq!(
            hex::encode(merkle_root(&all[..=n])),
            *root,
            "{} leaves",
            n + 1
        );
    }
}

#[test]
fn proofs_match_the_reference_and_edge_cases_fail() {
    for n in [1, 2, 3, 5, 8, 13] {
        let l = leaves(n);
        let root = merkle_root(&l);
        for i in 0..n {
            let proof = merkle_proof(&l, i).unwrap();
            assert_eq!(proof, reference_path(i, &l), "n = {n}, i = {i}");
            assert!(verify_merkle_proof(&l[i], i, n, &proof, &root));
            // Wrong index, truncated or extended proof: refused. (A wrong
            // count is not always detectable from a path of the same
            // length, as in RFC 6962: the count comes from the signed
            // batch header.)
            assert!(!verify_merkle_proof(&l[i], i + n, n, &proof, &root));
            if n > 1 {
                assert!(!verify_merkle_proof(&l[i], (i + 1) % n, n, &proof, &root));
                assert!(!verify_merkle_proof(&l[i], i, n, &proof[1..], &root));
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(!verify_merkle_proof(&l[i], i, n, &longer, &root));
        }
        assert_eq!(merkle_proof(&l, n), None);
    }
    assert_eq!(merkle_proof(&[], 0), None);
    assert!(!verify_merkle_proof(&[0; 32], 0, 0, &[], &merkle_root(&[])));
    // A single leaf is its own root, with an empty proof.
    let one = leaves(1);
    assert_eq!(merkle_root(&one), one[0]);
    assert_eq!(merkle_proof(&one, 0), Some(Vec::new()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_proof_verifies_and_a_flipped_byte_does_not(
        n in 1usize..200,
        salt in any::<u64>(),
        flip_at in any::<usize>(),
        bit in 0u8..8,
    ) {
        let l: Vec<Digest> = (0..n)
            .map(|i| leaf_hash(format!("{salt}/{i}").as_bytes()))
            .collect();
        let root = merkle_root(&l);
        prop_assert_eq!(root, bottom_up_root(&l));
        for i in 0..n {
            let proof = merkle_proof(&l, i).unwrap();
            prop_assert!(verify_merkle_proof(&l[i], i, n, &proof, &root));

            // Flip one bit of one byte of the proof (or of the leaf, when
            // the proof is empty): the proof must no longer verify.
            let mut proof = proof;
            let mut leaf = l[i];
            let total = proof.len() * 32;
            let mask = 1u8 << bit;
            if total == 0 {
                leaf[flip_at % 32] ^= mask;
            } else {
                let at = (flip_at.wrapping_add(i)) % total;
                proof[at / 32][at % 32] ^= mask;
            }
            prop_assert!(!verify_merkle_proof(&leaf, i, n, &proof, &root));
        }
    }
}
