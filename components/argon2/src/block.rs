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

/// `dst = G(X, Y)`, or `dst ^= G(X, Y)` when `XOR`, with the implementation this build has
/// (SIMD128 in Wasm, scalar elsewhere).
#[inline(always)]
pub(crate) fn compress_into<const XOR: bool>(x: &Block, y: &Block, dst: &mut Block) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::compress_into::<XOR>(x, y, dst)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        scalar::compress_into::<XOR>(x, y, dst)
    }
}

/// G(X, Y) as a new block.
pub(crate) fn compress(x: &Block, y: &Block) -> Block {
    let mut out = Block::ZERO;
    compress_into::<false>(x, y, &mut out);
    out
}

/// Portable G: each register is a pair of `u64`.
#[cfg(any(test, not(all(target_arch = "wasm32", target_feature = "simd128"))))]
pub(crate) mod scalar {
    use super::{Block, WORDS};

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

    /// P on each row of the 8 × 8 register matrix, then on each column (written out with
    /// literal indices: no bounds checks, fully unrolled).
    #[inline(always)]
    fn rows_then_columns(q: &mut [[[u64; 2]; 8]; 8]) {
        for row in q.iter_mut() {
            *row = p(*row);
        }
        macro_rules! columns {
            ($($j:literal)*) => {$(
                [q[0][$j], q[1][$j], q[2][$j], q[3][$j], q[4][$j], q[5][$j], q[6][$j], q[7][$j]] =
                    p([q[0][$j], q[1][$j], q[2][$j], q[3][$j], q[4][$j], q[5][$j], q[6][$j], q[7][$j]]);
            )*};
        }
        columns!(0 1 2 3 4 5 6 7);
    }

    /// `dst (⊕)= G(X, Y)`, G(X, Y) = P_columns(P_rows(X ⊕ Y)) ⊕ X ⊕ Y.
    pub(crate) fn compress_into<const XOR: bool>(x: &Block, y: &Block, dst: &mut Block) {
        let mut r = [[[0u64; 2]; 8]; 8];
        for (r, (x, y)) in r.as_flattened_mut().as_flattened_mut().iter_mut().zip(x.0.iter().zip(y.0.iter())) {
            *r = x ^ y;
        }
        let mut q = r;
        rows_then_columns(&mut q);
        for (d, (q, r)) in
            dst.0.iter_mut().zip(q.as_flattened().as_flattened().iter().zip(r.as_flattened().as_flattened()))
        {
            *d = if XOR { *d ^ q ^ r } else { q ^ r };
        }
        debug_assert_eq!(r.as_flattened().as_flattened().len(), WORDS);
    }
}

/// G with Wasm SIMD128: each register R_i is one `v128` holding two words.
///
/// The 64-bit lane multiply is slow in wasmtime's x86 code (`vpmullq` with AVX-512, latency
/// ~15 cycles on Intel; a three-`pmuludq` sequence without), and GB is a chain of four of
/// them. So P is not computed one row (column) after the other:
/// each of GB's eight steps is applied to all eight rows (columns) before the next, which
/// gives the CPU eight independent chains to overlap.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod simd128 {
    use core::arch::wasm32::{
        i8x16_shuffle, i32x4_shuffle, i64x2_add, i64x2_mul, i64x2_shuffle, u64x2, u64x2_extract_lane, u64x2_shr, v128,
        v128_and, v128_or, v128_xor,
    };

    use super::Block;

    /// The 8 × 8 register matrix: eight rows, each a register set S_0 … S_7 = (v0 v1)
    /// (v2 v3) (v4 v5) (v6 v7) (v8 v9) (v10 v11) (v12 v13) (v14 v15) that P permutes.
    type Matrix = [[v128; 8]; 8];

    /// `a + b + 2·lo32(a)·lo32(b)` lane-wise. The low halves are masked and multiplied as
    /// 64-bit lanes. Wasm's `i64x2.extmul_low_i32x4_u` would need a shuffle per operand
    /// first; with AVX-512 wasmtime compiles both forms to `vpmullq`, so there the shuffles
    /// only cost (the masked form measured faster on an AVX-512 Xeon). Without AVX-512 the
    /// extmul form would become one `pmuludq` against three; LLVM rewrites much of it into
    /// the masked form anyway.
    #[inline(always)]
    fn blamka(a: v128, b: v128) -> v128 {
        let low = u64x2(0xffff_ffff, 0xffff_ffff);
        let product = i64x2_mul(v128_and(a, low), v128_and(b, low));
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

    /// GB on every set's two register columns, step by step across the sets (one GB per
    /// 64-bit lane). `$a0 $a1 $b0 $b1 $c0 $c1 $d0 $d1` name the registers in each role,
    /// so the diagonal step can take c's two registers in swapped order instead of moving
    /// them.
    macro_rules! gb {
        ($sets:ident, $a0:literal $a1:literal $b0:literal $b1:literal $c0:literal $c1:literal $d0:literal $d1:literal) => {
            gb!(@half $sets, rotr32, rotr24, $a0 $a1 $b0 $b1 $c0 $c1 $d0 $d1);
            gb!(@half $sets, rotr16, rotr63, $a0 $a1 $b0 $b1 $c0 $c1 $d0 $d1);
        };
        (@half $sets:ident, $rd:ident, $rb:ident, $a0:literal $a1:literal $b0:literal $b1:literal $c0:literal $c1:literal $d0:literal $d1:literal) => {
            for s in $sets.iter_mut() {
                let [a0, a1] = [blamka(s[$a0], s[$b0]), blamka(s[$a1], s[$b1])];
                [s[$a0], s[$a1]] = [a0, a1];
                [s[$d0], s[$d1]] = [$rd(v128_xor(s[$d0], a0)), $rd(v128_xor(s[$d1], a1))];
            }
            for s in $sets.iter_mut() {
                let [c0, c1] = [blamka(s[$c0], s[$d0]), blamka(s[$c1], s[$d1])];
                [s[$c0], s[$c1]] = [c0, c1];
                [s[$b0], s[$b1]] = [$rb(v128_xor(s[$b0], c0)), $rb(v128_xor(s[$b1], c1))];
            }
        };
    }

    /// P on every row: GB on the columns (v0 v4 v8 v12) … (v3 v7 v11 v15), then on the
    /// diagonals (v0 v5 v10 v15) … (v3 v4 v9 v14): for those the b and d rows are rotated by
    /// one and three words across their register pair (b = (v5 v6) (v7 v4), d = (v15 v12)
    /// (v13 v14)) and rotated back afterwards, and c's registers are taken in swapped order.
    #[inline(always)]
    fn p_rows(sets: &mut Matrix) {
        gb!(sets, 0 1 2 3 4 5 6 7);
        for s in sets.iter_mut() {
            let [_, _, b0, b1, _, _, d0, d1] = *s;
            [s[2], s[3]] = [i64x2_shuffle::<1, 2>(b0, b1), i64x2_shuffle::<3, 0>(b0, b1)];
            [s[6], s[7]] = [i64x2_shuffle::<3, 0>(d0, d1), i64x2_shuffle::<1, 2>(d0, d1)];
        }
        gb!(sets, 0 1 2 3 5 4 6 7);
        for s in sets.iter_mut() {
            let [_, _, b0, b1, _, _, d0, d1] = *s;
            [s[2], s[3]] = [i64x2_shuffle::<3, 0>(b0, b1), i64x2_shuffle::<1, 2>(b0, b1)];
            [s[6], s[7]] = [i64x2_shuffle::<1, 2>(d0, d1), i64x2_shuffle::<3, 0>(d0, d1)];
        }
    }

    /// GB on the columns of the 8 × 8 register matrix, all eight at once: there the roles
    /// are rows of the matrix (a = rows 0 1, b = 2 3, c = 4 5, d = 6 7) and column j's
    /// registers are element j of each, so each step zips two rows.
    macro_rules! gb_columns {
        ($a0:ident $a1:ident $b0:ident $b1:ident $c0:ident $c1:ident $d0:ident $d1:ident) => {
            gb_columns!(@step rotr32, $a0 $b0 $d0 $a1 $b1 $d1);
            gb_columns!(@step rotr24, $c0 $d0 $b0 $c1 $d1 $b1);
            gb_columns!(@step rotr16, $a0 $b0 $d0 $a1 $b1 $d1);
            gb_columns!(@step rotr63, $c0 $d0 $b0 $c1 $d1 $b1);
        };
        // x = blamka(x, y); z = rotr(z ^ x), for both register columns.
        (@step $rotr:ident, $x0:ident $y0:ident $z0:ident $x1:ident $y1:ident $z1:ident) => {
            for (((x0, y0), z0), ((x1, y1), z1)) in $x0
                .iter_mut()
                .zip($y0.iter())
                .zip($z0.iter_mut())
                .zip($x1.iter_mut().zip($y1.iter()).zip($z1.iter_mut()))
            {
                [*x0, *x1] = [blamka(*x0, *y0), blamka(*x1, *y1)];
                [*z0, *z1] = [$rotr(v128_xor(*z0, *x0)), $rotr(v128_xor(*z1, *x1))];
            }
        };
    }

    /// P on the eight columns of `q` (see [`p_rows`]), in place.
    #[inline(always)]
    fn p_columns(q: &mut Matrix) {
        let [a0, a1, b0, b1, c0, c1, d0, d1] = q;
        gb_columns!(a0 a1 b0 b1 c0 c1 d0 d1);
        for ((b0, b1), (d0, d1)) in b0.iter_mut().zip(b1.iter_mut()).zip(d0.iter_mut().zip(d1.iter_mut())) {
            [*b0, *b1] = [i64x2_shuffle::<1, 2>(*b0, *b1), i64x2_shuffle::<3, 0>(*b0, *b1)];
            [*d0, *d1] = [i64x2_shuffle::<3, 0>(*d0, *d1), i64x2_shuffle::<1, 2>(*d0, *d1)];
        }
        gb_columns!(a0 a1 b0 b1 c1 c0 d0 d1);
        for ((b0, b1), (d0, d1)) in b0.iter_mut().zip(b1.iter_mut()).zip(d0.iter_mut().zip(d1.iter_mut())) {
            [*b0, *b1] = [i64x2_shuffle::<3, 0>(*b0, *b1), i64x2_shuffle::<1, 2>(*b0, *b1)];
            [*d0, *d1] = [i64x2_shuffle::<1, 2>(*d0, *d1), i64x2_shuffle::<3, 0>(*d0, *d1)];
        }
    }

    /// The block's registers R_0 … R_63.
    #[inline(always)]
    fn registers(block: &Block) -> impl Iterator<Item = v128> + '_ {
        block.0.as_chunks::<2>().0.iter().map(|&[lo, hi]| u64x2(lo, hi))
    }

    /// `dst (⊕)= G(X, Y)`, G(X, Y) = P_columns(P_rows(R)) ⊕ R with R = X ⊕ Y (R is read
    /// again from X and Y at the end rather than kept).
    pub(crate) fn compress_into<const XOR: bool>(x: &Block, y: &Block, dst: &mut Block) {
        let zero = u64x2(0, 0);
        let mut q: Matrix = [[zero; 8]; 8];
        for (q, (x, y)) in q.as_flattened_mut().iter_mut().zip(registers(x).zip(registers(y))) {
            *q = v128_xor(x, y);
        }
        p_rows(&mut q);
        p_columns(&mut q);
        let r = registers(x).zip(registers(y)).map(|(x, y)| v128_xor(x, y));
        for (d, (q, r)) in dst.0.as_chunks_mut::<2>().0.iter_mut().zip(q.as_flattened().iter().zip(r)) {
            let mut z = v128_xor(*q, r);
            if XOR {
                z = v128_xor(z, u64x2(d[0], d[1]));
            }
            *d = [u64x2_extract_lane::<0>(z), u64x2_extract_lane::<1>(z)];
        }
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
            let (mut simd, mut scalar) = (random_block(&mut seed), Block::ZERO);
            scalar.0 = simd.0;
            simd128::compress_into::<false>(&x, &y, &mut simd);
            scalar::compress_into::<false>(&x, &y, &mut scalar);
            assert_eq!(simd, scalar, "case {case}");
            simd128::compress_into::<true>(&y, &x, &mut simd);
            scalar::compress_into::<true>(&y, &x, &mut scalar);
            assert_eq!(simd, scalar, "case {case}, XOR");
        }
    }
}
