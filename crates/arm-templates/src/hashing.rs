//! Azure's hashes: `uniqueString` (a two-lane MurmurHash64 variant, base-32 encoded), `guid`
//! (RFC 4122 version 5 in ARM's namespace) and the `templateHash` galleryd reports.
//!
//! `uniqueString` and `guid` must be byte-identical with Azure because templates name resources
//! with them; the algorithm and the test vectors are in `reference/deployments.md` §5.

use uuid::Uuid;

/// The namespace ARM's `guid()` hashes names in.
pub const GUID_NAMESPACE: Uuid = Uuid::from_u128(0x11fb06fb_712d_4ddd_98c7_e71bbd588830);

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Azure's MurmurHash64 variant over bytes, seed 0.
pub fn murmur_hash64(data: &[u8]) -> u64 {
    const C1: u32 = 0x239b_961b;
    const C2: u32 = 0xab0e_9789;
    let mut h1: u32 = 0;
    let mut h2: u32 = 0;
    let mut chunks = data.chunks_exact(8);
    for block in &mut chunks {
        let k1 = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        let k2 = u32::from_le_bytes([block[4], block[5], block[6], block[7]]);
        h1 ^= k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h1 = h1.rotate_left(19).wrapping_add(h2);
        h1 = h1.wrapping_mul(5).wrapping_add(0x561c_cd1b);
        h2 ^= k2.wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
        h2 = h2.rotate_left(13).wrapping_add(h1);
        h2 = h2.wrapping_mul(5).wrapping_add(0x0bca_a747);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut first = [0u8; 4];
        let split = tail.len().min(4);
        first[..split].copy_from_slice(&tail[..split]);
        h1 ^= u32::from_le_bytes(first)
            .wrapping_mul(C1)
            .rotate_left(15)
            .wrapping_mul(C2);
        if tail.len() > 4 {
            let mut second = [0u8; 4];
            second[..tail.len() - 4].copy_from_slice(&tail[4..]);
            h2 ^= u32::from_le_bytes(second)
                .wrapping_mul(C2)
                .rotate_left(17)
                .wrapping_mul(C1);
        }
    }
    let length = data.len() as u32;
    h1 ^= length;
    h2 ^= length;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix32(h1);
    h2 = fmix32(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (u64::from(h2) << 32) | u64::from(h1)
}

fn fmix32(mut hash: u32) -> u32 {
    hash ^= hash >> 16;
    hash = hash.wrapping_mul(0x85eb_ca6b);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(0xc2b2_ae35);
    hash ^= hash >> 16;
    hash
}

/// `uniqueString(a, b, …)`: the arguments joined with `-`, hashed, 13 base-32 characters.
pub fn unique_string(parts: &[&str]) -> String {
    let joined = parts.join("-");
    let mut hash = murmur_hash64(joined.as_bytes());
    let mut text = String::with_capacity(13);
    for _ in 0..13 {
        text.push(ALPHABET[(hash >> 59) as usize] as char);
        hash <<= 5;
    }
    text
}

/// `guid(a, b, …)`: the arguments joined with `-`, a version-5 UUID in ARM's namespace.
pub fn guid(parts: &[&str]) -> String {
    Uuid::new_v5(&GUID_NAMESPACE, parts.join("-").as_bytes()).to_string()
}

/// The `templateHash` galleryd reports: MurmurHash64 (as above) of the template's canonical JSON
/// (comments and formatting dropped, object keys sorted), printed as a decimal `u64`. Azure's
/// own algorithm is unpublished; this one is stable across formatting and key order.
pub fn template_hash(template: &serde_json::Value) -> String {
    murmur_hash64(template.to_string().as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_string_matches_azure_vectors() {
        let cases: &[(&[&str], &str)] = &[
            (&["test"], "rbgf3xv4ufgzg"),
            (&["hello", "world"], "a7wkljktk6wne"),
            (&["abc"], "cgtzqvhu4i23s"),
            (
                &["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg"],
                "bmg7c6xu4tw46",
            ),
            (&["foo", "bar", "baz"], "xzi4ioaxtmth4"),
            (&["foo", "bar"], "eynjfsrwqmkhk"),
            (&["foo-bar"], "eynjfsrwqmkhk"),
            (&["1234567"], "3ndrvexjbt7ow"),
            (&["12345678"], "bgwkv3ufmboyc"),
            (&["123456789"], "ex34imgicgnu6"),
            (&["héllo"], "mrcrcqdeggexg"),
        ];
        for (parts, expected) in cases {
            assert_eq!(unique_string(parts), *expected, "{parts:?}");
            let last = expected.as_bytes()[12];
            let index = ALPHABET.iter().position(|c| *c == last).unwrap();
            assert_eq!(index % 2, 0);
        }
    }

    #[test]
    fn guid_matches_azure_vectors() {
        assert_eq!(guid(&["test"]), "d6a5baf1-8b9b-542a-8525-2982f1f98a0c");
        assert_eq!(
            guid(&["hello", "world"]),
            "a5b868f8-11fe-567a-ace0-e77cc87f104e"
        );
        assert_eq!(guid(&["abc"]), "a9b46cc2-65a6-5559-9f14-7091827ab32f");
        assert_eq!(
            guid(&["foo", "bar"]),
            "5153061a-20ce-546e-8e3a-7b6a1d0eb119"
        );
        assert_eq!(
            guid(&["test", "test2", "test3"]),
            "43ca56fb-e844-5667-aabf-b316c27c09cc"
        );
    }

    #[test]
    fn template_hash_ignores_formatting() {
        let a = crate::jsonc::parse_value("{\"b\": 1, /* c */ \"a\": [1,2]}").unwrap();
        let b = crate::jsonc::parse_value("{\"a\":[1,2],\"b\":1}").unwrap();
        assert_eq!(template_hash(&a), template_hash(&b));
        assert!(template_hash(&a).parse::<u64>().is_ok());
    }
}
