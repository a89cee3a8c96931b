//! Argon2 (RFC 9106): Argon2d, Argon2i and Argon2id, versions 0x13 (and 0x10), written for
//! itsor's Wasm component.
//!
//! # Why our own
//!
//! Login cost is dominated by Argon2id at OWASP's parameters (m = 19456 KiB, t = 2, p = 1).
//! RustCrypto's `argon2` has an AVX2 path natively but only portable code for wasm32, and
//! LLVM does not vectorise BlaMka usefully, so inside the component a hash costs far more
//! CPU than natively. This crate's block compression G (`block.rs`) uses Wasm SIMD128 on
//! wasm32: two 64-bit words per `v128`, BlaMka's `2·lo32(a)·lo32(b)` as a masked `i64x2`
//! multiply, the 32/24/16-bit rotations as byte shuffles, the diagonal step as lane
//! shuffles, and each GB step applied to all eight rows (columns) before the next so that
//! the multiplies' latency overlaps. Everywhere else a portable scalar G is compiled; the two
//! agree bit for bit (tested in Wasm, where both exist). Everything around G is shared and
//! small: H0 and the variable-length hash H' (`hprime.rs`) are BLAKE2b from the `blake2`
//! crate.
//!
//! # Shape of the computation
//!
//! Memory is m' = 4·p·⌊m / 4p⌋ blocks of 1 KiB in p lanes of q = m'/p columns, four slices
//! (segments of q/4 blocks) per lane. The lanes are filled one after the other, slice by
//! slice; a segment only references its own lane and the finished slices of other lanes, so
//! this sequential order gives the same result as a parallel fill. Reference blocks are
//! chosen from the previous block's first word (data-dependent: Argon2d, and Argon2id after
//! the first two slices of pass 0) or from address blocks G(0, G(0, Z)) with a counter in Z
//! (data-independent: Argon2i, and the first half of Argon2id's first pass).
//!
//! The working memory (m' KiB, one allocation; an allocation failure is
//! [`Error::OutOfMemory`], not an abort) is zeroised before it is freed.
//!
//! # Use
//!
//! ```
//! use itsor_argon2::{Algorithm, Argon2, Params, Version};
//!
//! let params = Params::new(64, 2, 1)?;
//! let mut tag = [0u8; 32];
//! Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_into(b"password", b"16-byte salt....", &mut tag)?;
//! # Ok::<(), itsor_argon2::Error>(())
//! ```

mod block;
mod hprime;

use block::{Block, WORDS, compress, compress_into};
use hprime::h_prime;
use zeroize::Zeroize;

/// The shortest salt accepted, in bytes.
pub const MIN_SALT_LEN: usize = 8;
/// The shortest tag that can be asked for, in bytes.
pub const MIN_OUTPUT_LEN: usize = 4;
/// The most lanes (2^24 - 1).
pub const MAX_LANES: u32 = 0x00ff_ffff;
/// Slices per lane (synchronisation points per pass).
const SLICES: usize = 4;
/// Block size in bytes.
const BLOCK_BYTES: usize = 8 * WORDS;

/// The Argon2 variant (its number is the `y` of H0 and of the address blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Data-dependent addressing throughout.
    Argon2d = 0,
    /// Data-independent addressing throughout.
    Argon2i = 1,
    /// Data-independent for the first two slices of the first pass, data-dependent after.
    Argon2id = 2,
}

/// The Argon2 version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// 0x10: later passes overwrite blocks.
    V0x10 = 0x10,
    /// 0x13 (RFC 9106): later passes XOR into the blocks they overwrite.
    V0x13 = 0x13,
}

/// Cost parameters, checked as RFC 9106 asks: 1 ≤ p ≤ 2^24 - 1, m ≥ 8·p KiB, t ≥ 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Params {
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
}

impl Params {
    /// Memory `m_cost` KiB, `t_cost` passes, `p_cost` lanes.
    pub fn new(m_cost: u32, t_cost: u32, p_cost: u32) -> Result<Self, Error> {
        if p_cost == 0 || p_cost > MAX_LANES {
            return Err(Error::Lanes(p_cost));
        }
        if t_cost == 0 {
            return Err(Error::NoPasses);
        }
        if u64::from(m_cost) < 8 * u64::from(p_cost) {
            return Err(Error::MemoryTooLittle { m_cost, min: 8 * u64::from(p_cost) });
        }
        Ok(Self { m_cost, t_cost, p_cost })
    }

    /// Memory in KiB (as given, before rounding down to a multiple of 4·p blocks).
    pub fn m_cost(&self) -> u32 {
        self.m_cost
    }

    /// Passes over memory.
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Lanes.
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }
}

/// Why a hash could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// p is 0 or above 2^24 - 1.
    #[error("lanes must be between 1 and 16777215, not {0}")]
    Lanes(u32),
    /// t is 0.
    #[error("at least one pass over memory is needed")]
    NoPasses,
    /// m is below 8·p KiB.
    #[error("memory of {m_cost} KiB is below the minimum of 8 KiB per lane ({min} KiB)")]
    MemoryTooLittle {
        /// The memory asked for, in KiB.
        m_cost: u32,
        /// 8·p, in KiB.
        min: u64,
    },
    /// The salt is shorter than [`MIN_SALT_LEN`].
    #[error("the salt is shorter than 8 bytes")]
    SaltTooShort,
    /// The tag asked for is shorter than [`MIN_OUTPUT_LEN`].
    #[error("the output is shorter than 4 bytes")]
    OutputTooShort,
    /// An input (named) or the output is 2^32 bytes or longer.
    #[error("the {0} is longer than 2^32 - 1 bytes")]
    TooLong(&'static str),
    /// The working memory could not be allocated.
    #[error("cannot allocate {0} KiB of working memory")]
    OutOfMemory(u64),
    /// A block index fell outside memory (cannot happen; reported rather than panicking).
    #[error("internal error in the Argon2 computation")]
    Internal,
}

/// One Argon2 configuration: variant, version, costs, and the optional secret (K) and
/// associated data (X) of H0.
#[derive(Debug, Clone, Copy)]
pub struct Argon2<'k> {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    secret: &'k [u8],
    associated_data: &'k [u8],
}

impl Argon2<'static> {
    /// An Argon2 without secret or associated data.
    pub fn new(algorithm: Algorithm, version: Version, params: Params) -> Self {
        Argon2 { algorithm, version, params, secret: &[], associated_data: &[] }
    }
}

impl<'k> Argon2<'k> {
    /// With the secret value K (a pepper).
    pub fn with_secret<'s>(self, secret: &'s [u8]) -> Argon2<'s>
    where
        'k: 's,
    {
        Argon2 { secret, ..self }
    }

    /// With the associated data X.
    pub fn with_associated_data<'s>(self, associated_data: &'s [u8]) -> Argon2<'s>
    where
        'k: 's,
    {
        Argon2 { associated_data, ..self }
    }

    /// Computes the tag of `password` under `salt` into `out` (its length is the tag length
    /// T, 4 ≤ T < 2^32).
    pub fn hash_into(&self, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), Error> {
        if salt.len() < MIN_SALT_LEN {
            return Err(Error::SaltTooShort);
        }
        if out.len() < MIN_OUTPUT_LEN {
            return Err(Error::OutputTooShort);
        }
        let tag_length = len32(out, "output")?;
        let mut h0 = self.h0(password, salt, tag_length)?;
        let geometry = Geometry::new(&self.params);
        let mut memory = Vec::new();
        memory.try_reserve_exact(geometry.blocks).map_err(|_| Error::OutOfMemory(geometry.blocks as u64))?;
        memory.resize(geometry.blocks, Block::ZERO);
        let result = self.fill_and_finish(&geometry, &mut memory, &h0, out);
        h0.zeroize();
        memory.iter_mut().for_each(|block| block.0.zeroize());
        result
    }

    /// H0 = H^64(LE32(p) || LE32(T) || LE32(m) || LE32(t) || LE32(v) || LE32(y) ||
    /// LE32(len P) || P || LE32(len S) || S || LE32(len K) || K || LE32(len X) || X).
    fn h0(&self, password: &[u8], salt: &[u8], tag_length: u32) -> Result<[u8; 64], Error> {
        let numbers = [
            self.params.p_cost,
            tag_length,
            self.params.m_cost,
            self.params.t_cost,
            self.version as u32,
            self.algorithm as u32,
        ]
        .map(u32::to_le_bytes);
        let lengths = [
            len32(password, "password")?,
            len32(salt, "salt")?,
            len32(self.secret, "secret")?,
            len32(self.associated_data, "associated data")?,
        ]
        .map(u32::to_le_bytes);
        let [n0, n1, n2, n3, n4, n5] = &numbers;
        let [lp, ls, lk, lx] = &lengths;
        let mut h0 = [0u8; 64];
        let parts: [&[u8]; 14] =
            [n0, n1, n2, n3, n4, n5, lp, password, ls, salt, lk, self.secret, lx, self.associated_data];
        // Plain BLAKE2b-512 (H' would prefix LE32(64)).
        hprime::blake2b(&mut h0, parts)?;
        Ok(h0)
    }

    fn fill_and_finish(
        &self,
        geometry: &Geometry,
        memory: &mut [Block],
        h0: &[u8; 64],
        out: &mut [u8],
    ) -> Result<(), Error> {
        // The first two blocks of every lane: H'^1024(H0 || LE32(column) || LE32(lane)).
        let mut bytes = [0u8; BLOCK_BYTES];
        for (lane, blocks) in memory.chunks_exact_mut(geometry.lane_length).enumerate() {
            let lane_bytes = u32::try_from(lane).map_err(|_| Error::Internal)?.to_le_bytes();
            for (column, block) in blocks.iter_mut().take(2).enumerate() {
                let column_bytes = u32::try_from(column).map_err(|_| Error::Internal)?.to_le_bytes();
                h_prime(&mut bytes, &[h0, &column_bytes, &lane_bytes])?;
                *block = Block::from_le_bytes(&bytes);
            }
        }
        bytes.zeroize();

        for pass in 0..geometry.passes {
            for slice in 0..SLICES {
                for lane in 0..geometry.lanes {
                    self.fill_segment(geometry, memory, Position { pass, slice, lane })?;
                }
            }
        }

        // C = XOR of every lane's last block; the tag is H'^T(C).
        let mut last = Block::ZERO;
        for blocks in memory.chunks_exact(geometry.lane_length) {
            last.xor_assign(blocks.last().ok_or(Error::Internal)?);
        }
        let mut last_bytes = last.to_le_bytes();
        let result = h_prime(out, &[&last_bytes]);
        last_bytes.zeroize();
        last.0.zeroize();
        result
    }

    fn fill_segment(&self, geometry: &Geometry, memory: &mut [Block], position: Position) -> Result<(), Error> {
        let Position { pass, slice, lane } = position;
        let data_independent = match self.algorithm {
            Algorithm::Argon2d => false,
            Algorithm::Argon2i => true,
            Algorithm::Argon2id => pass == 0 && slice < SLICES / 2,
        };
        let first_slice = pass == 0 && slice == 0;
        // Z of the address blocks: pass, lane, slice, m', t, y, counter, zeros.
        let mut address_input = Block::ZERO;
        {
            let [r, l, s, m, t, y, ..] = &mut address_input.0;
            (*r, *l, *s) = (u64::from(pass), lane as u64, slice as u64);
            (*m, *t, *y) = (geometry.blocks as u64, u64::from(geometry.passes), self.algorithm as u64);
        }
        let mut addresses = Block::ZERO;
        let mut next_addresses = |addresses: &mut Block| {
            if let Some(counter) = address_input.0.get_mut(6) {
                *counter += 1;
            }
            *addresses = compress(&Block::ZERO, &compress(&Block::ZERO, &address_input));
        };

        // The first two blocks of pass 0 are H0's.
        let start = if first_slice { 2 } else { 0 };
        if data_independent && start != 0 {
            next_addresses(&mut addresses);
        }
        let lane_start = lane * geometry.lane_length;
        for index in start..geometry.segment_length {
            let column = slice * geometry.segment_length + index;
            let current = lane_start + column;
            let previous = if column == 0 { lane_start + geometry.lane_length - 1 } else { current - 1 };

            let pseudo_random = if data_independent {
                if index % WORDS == 0 {
                    next_addresses(&mut addresses);
                }
                *addresses.0.get(index % WORDS).ok_or(Error::Internal)?
            } else {
                *memory.get(previous).and_then(|block| block.0.first()).ok_or(Error::Internal)?
            };
            let j1 = pseudo_random & 0xffff_ffff;
            let j2 = pseudo_random >> 32;

            // The reference lane: J2 mod p, except in the first slice (own lane only).
            let reference_lane = if first_slice { lane } else { (j2 % geometry.lanes as u64) as usize };
            let same_lane = reference_lane == lane;
            // |W|: the blocks that may be referenced. In the own lane, everything finished
            // so far but the previous block; in other lanes, their finished slices (minus
            // their last block when this is the segment's first). Later passes also see the
            // other three slices of the previous pass.
            let finished = if pass == 0 {
                slice * geometry.segment_length
            } else {
                geometry.lane_length - geometry.segment_length
            };
            let area = if same_lane { finished + index - 1 } else { finished - usize::from(index == 0) };
            // Map J1 non-uniformly onto W (newer blocks more likely): x = J1²/2^32,
            // y = |W|·x/2^32, position |W| - 1 - y counted from the start of W.
            let x = (j1 * j1) >> 32;
            let y = ((area as u64) * x) >> 32;
            let relative = area - 1 - y as usize;
            let window_start = if pass == 0 || slice == SLICES - 1 { 0 } else { (slice + 1) * geometry.segment_length };
            let reference = reference_lane * geometry.lane_length + (window_start + relative) % geometry.lane_length;

            let (target, previous, reference) =
                blocks_at(memory, current, previous, reference).ok_or(Error::Internal)?;
            if pass == 0 || self.version == Version::V0x10 {
                compress_into::<false>(previous, reference, target);
            } else {
                compress_into::<true>(previous, reference, target);
            }
        }
        Ok(())
    }
}

/// Where a segment is: pass, slice, lane.
#[derive(Clone, Copy)]
struct Position {
    pass: u32,
    slice: usize,
    lane: usize,
}

/// The memory layout the parameters give.
struct Geometry {
    /// p.
    lanes: usize,
    /// q = m'/p.
    lane_length: usize,
    /// q/4.
    segment_length: usize,
    /// m' = 4·p·⌊m / 4p⌋.
    blocks: usize,
    /// t.
    passes: u32,
}

impl Geometry {
    fn new(params: &Params) -> Self {
        let lanes = params.p_cost as usize;
        // m ≥ 8p, so each segment has at least two blocks.
        let segment_length = (params.m_cost / (SLICES as u32 * params.p_cost)) as usize;
        let lane_length = SLICES * segment_length;
        Geometry { lanes, lane_length, segment_length, blocks: lane_length * lanes, passes: params.t_cost }
    }
}

/// The block at `target`, mutable, and those at `a` and `b` (both ≠ `target`), or `None`
/// if an index is out of range or `a` or `b` is `target`.
fn blocks_at(memory: &mut [Block], target: usize, a: usize, b: usize) -> Option<(&mut Block, &Block, &Block)> {
    let (before, from) = memory.split_at_mut_checked(target)?;
    let (target, after) = from.split_first_mut()?;
    let (before, after): (&[Block], &[Block]) = (before, after);
    let other = |i: usize| if i < before.len() { before.get(i) } else { after.get(i.checked_sub(before.len() + 1)?) };
    Some((target, other(a)?, other(b)?))
}

/// `bytes.len()` as LE32's argument, or [`Error::TooLong`] naming `what`.
fn len32(bytes: &[u8], what: &'static str) -> Result<u32, Error> {
    u32::try_from(bytes.len()).map_err(|_| Error::TooLong(what))
}
