//! BLAKE2b with a run-time output length, and Argon2's variable-length hash H' (RFC 9106
//! §3.3) built on it.

use blake2::Blake2bVarCore;
use blake2::digest::block_api::{UpdateCore, VariableOutputCore};
use blake2::digest::block_buffer::LazyBuffer;

use crate::Error;

/// The largest output of one BLAKE2b call, in bytes.
const BLAKE2B_MAX: usize = 64;

/// H^n: BLAKE2b with an `out.len()`-byte digest (1 ≤ n ≤ 64) over the concatenation of
/// `parts`.
pub(crate) fn blake2b<'a>(out: &mut [u8], parts: impl IntoIterator<Item = &'a [u8]>) -> Result<(), Error> {
    let mut core = Blake2bVarCore::new(out.len()).map_err(|_| Error::Internal)?;
    let mut buffer = LazyBuffer::default();
    for part in parts {
        buffer.digest_blocks(part, |blocks| core.update_blocks(blocks));
    }
    let mut full = Default::default();
    core.finalize_variable_core(&mut buffer, &mut full);
    // BLAKE2b's shorter digests are the leading bytes of the finalised state.
    out.iter_mut().zip(full.iter()).for_each(|(dst, src)| *dst = *src);
    Ok(())
}

/// H'^T(parts): Argon2's variable-length hash, `T = out.len()` (≥ 1, < 2^32).
///
/// Up to 64 bytes it is `H^T(LE32(T) || parts)`. Beyond, `V_1 = H^64(LE32(T) || parts)`,
/// `V_{i+1} = H^64(V_i)`, and the output is the first 32 bytes of `V_1 … V_r` followed by
/// `V_{r+1} = H^{T-32r}(V_r)` whole, with `r = ceil(T/32) - 2`.
pub(crate) fn h_prime(out: &mut [u8], parts: &[&[u8]]) -> Result<(), Error> {
    let length = u32::try_from(out.len()).map_err(|_| Error::TooLong("output"))?.to_le_bytes();
    let prefixed = core::iter::once(&length[..]).chain(parts.iter().copied());
    if out.len() <= BLAKE2B_MAX {
        return blake2b(out, prefixed);
    }
    let mut v = [0u8; BLAKE2B_MAX];
    blake2b(&mut v, prefixed)?;
    let mut rest = out;
    while let Some((w, tail)) = rest.split_at_mut_checked(BLAKE2B_MAX / 2) {
        // W_i: the first half of V_i.
        w.iter_mut().zip(v.iter()).for_each(|(dst, src)| *dst = *src);
        rest = tail;
        if rest.len() > BLAKE2B_MAX {
            let previous = v;
            blake2b(&mut v, [&previous[..]])?;
        } else {
            // V_{r+1}, whole, 33 to 64 bytes.
            return blake2b(rest, [&v[..]]);
        }
    }
    Err(Error::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_outputs_are_plain_blake2b_with_the_length_prefixed() {
        // BLAKE2b-512("") from RFC 7693 appendix A's reference implementation.
        let mut empty = [0u8; 64];
        blake2b(&mut empty, [&b""[..]]).unwrap();
        assert_eq!(
            empty[..8],
            [0x78, 0x6a, 0x02, 0xf7, 0x42, 0x01, 0x59, 0x03],
            "BLAKE2b-512 of the empty string starts 786a02f742015903"
        );
        let mut a = [0u8; 20];
        h_prime(&mut a, &[b"ab", b"c"]).unwrap();
        let mut b = [0u8; 20];
        blake2b(&mut b, [&20u32.to_le_bytes()[..], b"abc"]).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn long_outputs_chain_64_byte_hashes() {
        for len in [65usize, 96, 97, 100, 128, 1024] {
            let mut out = vec![0u8; len];
            h_prime(&mut out, &[b"input"]).unwrap();
            // Recompute by the RFC's definition, independently of the loop above.
            let r = len.div_ceil(32) - 2;
            let mut v = vec![[0u8; 64]];
            blake2b(&mut v[0], [&(len as u32).to_le_bytes()[..], b"input"]).unwrap();
            for i in 1..r {
                let mut next = [0u8; 64];
                blake2b(&mut next, [&v[i - 1][..]]).unwrap();
                v.push(next);
            }
            let mut expected: Vec<u8> = v.iter().flat_map(|vi| vi[..32].to_vec()).collect();
            let mut last = vec![0u8; len - 32 * r];
            blake2b(&mut last, [&v[r - 1][..]]).unwrap();
            expected.extend(last);
            assert_eq!(out, expected, "T = {len}");
        }
    }
}
