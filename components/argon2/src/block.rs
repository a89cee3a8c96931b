//! Argon2's 1 KiB block and its compression function G (RFC 9106 §3.5–3.6), in two
//! implementations that agree bit for bit: Wasm SIMD128 (two 64-bit words per `v128`) when
//! compiled for `wasm32` with `simd128`, portable scalar code otherwise.
//!
//! G(X, Y): R = X ⊕ Y is viewed as an 8 × 8 matrix of 16-byte registers R_0 … R_63 (row
//! `i` holds R_{8i} … R_{8i+7}); the permutation P is applied to each row, then to each
//! column (R_j, R_{j+8}, …, R_{j+56}), giving Q; the result is Q ⊕ R. P works on eight
//! registers S_0 … S_7 = 16 words v_0 … v_15 (S_i = v_{2i+1} || v_{2i}) and applies GB to
//! the four columns (v_0, v_4, v_8, v_12) … and then the four diagonals (v_0, v_5, v_10,
//! v_15) … of the 4 × 4 word matrix. GB is BLAKE2b's mixing with BlaMka's multiplication:
//! `a = a + b + 2·lo32(a)·lo32(b)` and so on, with rotations by 32, 24, 16 and 63.

/// Words in a block.
pub(crate) const WORDS: usize = 128;

/// One Argon2 memory block: 1024 bytes as 128 little-endian 64-bit words.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(align(16))]
pub(crate) struct Block(pub(crate) [u64; WORDS]);

impl Default for Block {
    fn default() -> Self {
        Self::ZERO
    }
}

impl core::fmt::Debug for Block {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Block").field("word0", &self.0.first()).finish_non_exhaustive()
    }
}

impl Block {
    /// The all-zero block.
    pub(crate) const ZERO: Block = Block([0; WORDS]);

    /// `self ^= other`, word by word.
    #[inline(always)]
    pub(crate) fn xor_assign(&mut self, other: &Block) {
        self.0.iter_mut().zip(other.0.iter()).for_each(|(a, b)| *a ^= *b);
    }

    /// The block read from 1024 little-endian bytes (shorter input leaves the rest zero).
    pub(crate) fn from_le_bytes(bytes: &[u8]) -> Block {
        let mut block = Block::ZERO;
        for (word, chunk) in block.0.iter_mut().zip(bytes.as_chunks::<8>().0) {
            *word = u64::from_le_bytes(*chunk);
        }
        block
    }

    /// The block as 1024 little-endian bytes.
    pub(crate) fn to_le_bytes(self) -> [u8; 8 * WORDS] {
        let mut bytes = [0u8; 8 * WORDS];
        for (chunk, word) in bytes.as_chunks_mut::<8>().0.iter_mut().zip(self.0) {
            *chunk = word.to_le_bytes();
        }
        bytes
    }
}

/// Applies `p` to each row of the 8 × 8 register matrix `q`, then to each column. The
/// column step is written out with literal indices, so it needs no bounds checks and
/// unrolls completely.
#[inline(always)]
fn rows_then_columns<T: Copy>(q: &mut [[T; 8]; 8], p: impl Fn([T; 8]) -> [T; 8]) {
    for row in q.iter_mut() {
        *row = p(*row);
    }
    macro_rules! columns {
        ($($j:literal)*) => {$({
            let [c0, c1, c2, c3, c4, c5, c6, c7] =
                p([q[0][$j], q[1][$j], q[2][$j], q[3][$j], q[4][$j], q[5][$j], q[6][$j], q[7][$j]]);
            q[0][$j] = c0;
            q[1][$j] = c1;
            q[2][$j] = c2;
            q[3][$j] = c3;
            q[4][$j] = c4;
            q[5][$j] = c5;
            q[6][$j] = c6;
            q[7][$j] = c7;
        })*};
    }
    columns!(0 1 2 3 4 5 6 7);
}

/// G(X, Y) with the implementation this build has (SIMD128 in Wasm, scalar elsewhere).
#[inline(always)]
pub(crate) fn compress(x: &Block, y: &Block) -> Block {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::compress(x, y)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        scalar::compress(x, y)
    }
}

/// Portable G: each register is a pair of `u64`.
#[cfg(any(test, not(all(target_arch = "wasm32", target_feature = "simd128"))))]
pub(crate) mod scalar {
    use super::{Block, WORDS, rows_then_columns};

    /// `a + b + 2·lo32(a)·lo32(b)` modulo 2^64.
    #[inline(always)]
    fn blamka(a: u64, b: u64) -> u64 {
        let product = (a & 0xffff_ffff).wrapping_mul(b & 0xffff_ffff);
        a.wrapping_add(b).wrapping_add(product.wrapping_mul(2))
    }

    #[inline(always)]
    fn gb(mut a: u64, mut b: u64, mut c: u64, mut d: u64) -> (u64, u64, u64, u64) {
        a = blamka(a, b);
        d = (d ^ a).rotate_right(32);
        c = blamka(c, d);
        b = (b ^ c).rotate_right(24);
        a = blamka(a, b);
        d = (d ^ a).rotate_right(16);
        c = blamka(c, d);
        b = (b ^ c).rotate_right(63);
        (a, b, c, d)
    }

    /// P on eight registers S_0 … S_7, i.e. words v_0 … v_15.
    #[inline(always)]
    fn p(s: [[u64; 2]; 8]) -> [[u64; 2]; 8] {
        let [[v0, v1], [v2, v3], [v4, v5], [v6, v7], [v8, v9], [v10, v11], [v12, v13], [v14, v15]] = s;
        let (v0, v4, v8, v12) = gb(v0, v4, v8, v12);
        let (v1, v5, v9, v13) = gb(v1, v5, v9, v13);
        let (v2, v6, v10, v14) = gb(v2, v6, v10, v14);
        let (v3, v7, v11, v15) = gb(v3, v7, v11, v15);
        let (v0, v5, v10, v15) = gb(v0, v5, v10, v15);
        let (v1, v6, v11, v12) = gb(v1, v6, v11, v12);
        let (v2, v7, v8, v13) = gb(v2, v7, v8, v13);
        let (v3, v4, v9, v14) = gb(v3, v4, v9, v14);
        [[v0, v1], [v2, v3], [v4, v5], [v6, v7], [v8, v9], [v10, v11], [v12, v13], [v14, v15]]
    }

    /// G(X, Y) = P_columns(P_rows(X ⊕ Y)) ⊕ X ⊕ Y.
    pub(crate) fn compress(x: &Block, y: &Block) -> Block {
        let mut r = Block::ZERO;
        for (r, (x, y)) in r.0.iter_mut().zip(x.0.iter().zip(y.0.iter())) {
            *r = x ^ y;
        }
        let mut q = [[[0u64; 2]; 8]; 8];
        for (q, r) in q.as_flattened_mut().as_flattened_mut().iter_mut().zip(r.0.iter()) {
            *q = *r;
        }
        rows_then_columns(&mut q, p);
        for (r, q) in r.0.iter_mut().zip(q.as_flattened().as_flattened()) {
            *r ^= q;
        }
        debug_assert_eq!(q.as_flattened().as_flattened().len(), WORDS);
        r
    }
}

/// G with Wasm SIMD128: each register R_i is one `v128` holding two words.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod simd128 {
    use core::arch::wasm32::{
        i8x16_shuffle, i32x4_shuffle, i64x2_add, i64x2_shuffle, u64x2, u64x2_extmul_low_u32x4,
        u64x2_extract_lane, u64x2_shr, v128, v128_or, v128_xor,
    };

    use super::{Block, rows_then_columns};

    /// Lane-wise `a + b + 2·lo32(a)·lo32(b)`: the low halves of both words are gathered into
    /// the low 64 bits of a vector (32-bit lanes 0 and 2 → 0 and 1) and multiplied widening.
    #[inline(always)]
    fn blamka(a: v128, b: v128) -> v128 {
        let lo_a = i32x4_shuffle::<0, 2, 0, 2>(a, a);
        let lo_b = i32x4_shuffle::<0, 2, 0, 2>(b, b);
        let product = u64x2_extmul_low_u32x4(lo_a, lo_b);
        i64x2_add(i64x2_add(a, b), i64x2_add(product, product))
    }

    /// Rotations of both words right by 32, 24 and 16 bits are byte permutations; by 63 it
    /// is a left rotation by one.
    #[inline(always)]
    fn rotr32(x: v128) -> v128 {
        i32x4_shuffle::<1, 0, 3, 2>(x, x)
    }
    #[inline(always)]
    fn rotr24(x: v128) -> v128 {
        i8x16_shuffle::<3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10>(x, x)
    }
    #[inline(always)]
    fn rotr16(x: v128) -> v128 {
        i8x16_shuffle::<2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9>(x, x)
    }
    #[inline(always)]
    fn rotr63(x: v128) -> v128 {
        v128_or(u64x2_shr(x, 63), i64x2_add(x, x))
    }

    /// GB on two columns (or diagonals) at once, one per 64-bit lane.
    #[inline(always)]
    fn gb(mut a: v128, mut b: v128, mut c: v128, mut d: v128) -> (v128, v128, v128, v128) {
        a = blamka(a, b);
        d = rotr32(v128_xor(d, a));
        c = blamka(c, d);
        b = rotr24(v128_xor(b, c));
        a = blamka(a, b);
        d = rotr16(v128_xor(d, a));
        c = blamka(c, d);
        b = rotr63(v128_xor(b, c));
        (a, b, c, d)
    }

    /// P on S_0 … S_7 = (v0 v1) (v2 v3) (v4 v5) (v6 v7) (v8 v9) (v10 v11) (v12 v13)
    /// (v14 v15): the columns are GB on (S_0, S_2, S_4, S_6) and (S_1, S_3, S_5, S_7); for the
    /// diagonals the b, c and d rows are rotated by one, two and three words across their
    /// register pair, and rotated back afterwards.
    #[inline(always)]
    fn p([a0, a1, b0, b1, c0, c1, d0, d1]: [v128; 8]) -> [v128; 8] {
        let (a0, b0, c0, d0) = gb(a0, b0, c0, d0);
        let (a1, b1, c1, d1) = gb(a1, b1, c1, d1);
        // Diagonalise: b = (v5 v6) (v7 v4), c = (v10 v11) (v8 v9), d = (v15 v12) (v13 v14).
        let (b0, b1) = (i64x2_shuffle::<1, 2>(b0, b1), i64x2_shuffle::<3, 0>(b0, b1));
        let (c0, c1) = (c1, c0);
        let (d0, d1) = (i64x2_shuffle::<3, 0>(d0, d1), i64x2_shuffle::<1, 2>(d0, d1));
        let (a0, b0, c0, d0) = gb(a0, b0, c0, d0);
        let (a1, b1, c1, d1) = gb(a1, b1, c1, d1);
        // Undo it: b = (v4 v5) (v6 v7), c = (v8 v9) (v10 v11), d = (v12 v13) (v14 v15).
        let (b0, b1) = (i64x2_shuffle::<3, 0>(b0, b1), i64x2_shuffle::<1, 2>(b0, b1));
        let (c0, c1) = (c1, c0);
        let (d0, d1) = (i64x2_shuffle::<1, 2>(d0, d1), i64x2_shuffle::<3, 0>(d0, d1));
        [a0, a1, b0, b1, c0, c1, d0, d1]
    }

    /// G(X, Y) = P_columns(P_rows(X ⊕ Y)) ⊕ X ⊕ Y.
    pub(crate) fn compress(x: &Block, y: &Block) -> Block {
        let zero = u64x2(0, 0);
        let mut r = [[zero; 8]; 8];
        let pairs = |block: &Block| block.0.as_chunks::<2>().0.iter().map(|&[lo, hi]| u64x2(lo, hi));
        for (r, (x, y)) in r.as_flattened_mut().iter_mut().zip(pairs(x).zip(pairs(y))) {
            *r = v128_xor(x, y);
        }
        let mut q = r;
        rows_then_columns(&mut q, p);
        let mut out = Block::ZERO;
        for (out, (q, r)) in out.0.as_chunks_mut::<2>().0.iter_mut().zip(q.as_flattened().iter().zip(r.as_flattened()))
        {
            let z = v128_xor(*q, *r);
            *out = [u64x2_extract_lane::<0>(z), u64x2_extract_lane::<1>(z)];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random block (SplitMix64).
    pub(crate) fn random_block(seed: &mut u64) -> Block {
        let mut block = Block::ZERO;
        for word in block.0.iter_mut() {
            *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = *seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *word = z ^ (z >> 31);
        }
        block
    }

    #[test]
    fn bytes_round_trip() {
        let mut seed = 1;
        let block = random_block(&mut seed);
        assert_eq!(Block::from_le_bytes(&block.to_le_bytes()), block);
        assert_eq!(block.to_le_bytes()[..8], block.0[0].to_le_bytes());
    }

    #[test]
    fn g_of_zero_blocks_is_zero() {
        assert_eq!(compress(&Block::ZERO, &Block::ZERO), Block::ZERO);
    }

    #[test]
    fn g_is_symmetric_in_its_inputs() {
        // G only sees X ⊕ Y.
        let mut seed = 7;
        let (x, y) = (random_block(&mut seed), random_block(&mut seed));
        assert_eq!(compress(&x, &y), compress(&y, &x));
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[test]
    fn simd128_and_scalar_g_agree() {
        let mut seed = 0x1234_5678;
        for case in 0..2000 {
            let (mut x, mut y) = (random_block(&mut seed), random_block(&mut seed));
            // Edge words too: all ones, all zeros, carries across the 32-bit halves.
            if case % 4 == 1 {
                x.0.iter_mut().step_by(3).for_each(|w| *w = u64::MAX);
                y.0.iter_mut().step_by(5).for_each(|w| *w = 0xffff_ffff);
            }
            if case % 4 == 2 {
                y = Block::ZERO;
            }
            assert_eq!(simd128::compress(&x, &y), scalar::compress(&x, &y), "case {case}");
        }
    }
}
