//! Salsa20/20 for CURVE's MESSAGE cipher, as many blocks at a time as the data needs.
//!
//! CurveZMQ fixes XSalsa20-Poly1305, and the `salsa20` crate computes one block at a time in
//! scalar code (~1 190 instructions a 64-byte block): at 1 KiB that was most of a CURVE
//! message's cost. On x86_64 this computes four consecutive blocks at once, each SSE2 lane
//! holding one block's word (SSE2 is part of x86_64's baseline, so no run-time detection):
//! 2.3–2.5× the crate's keystream rate. Where the CPU has AVX2 (detected at run time, the
//! answer cached by std), runs of more than four blocks go eight at a time, one per AVX2
//! lane, and four blocks go in diagonals, two per register (below). A message short enough
//! for one block gets one, its state held in diagonals (and with AVX2 one needing two gets
//! two at once): most CURVE messages are short, and four blocks for them were most of their
//! cost. Other architectures use the crate. Tests compare all of
//! them against the crate at every length, offset and counter carry.

use zeroize::Zeroize;

/// crypto_secretbox's use of the Salsa20/20 keystream of a key and nonce from block 0: its
/// first 32 bytes key Poly1305 ([`SecretboxStream::mac_key`]), the bytes after them encrypt
/// or decrypt the data ([`SecretboxStream::apply`]).
///
/// Of the keystream only the MAC key and the Salsa20 key are zeroed when dropped: the rest is
/// as secret as the plaintext it encrypts, which lies in the caller's buffers anyway, and
/// zeroing 256 bytes a block group made 64-byte messages slower than the crate.
pub(crate) struct SecretboxStream {
    blocks: Keystream,
    /// The first four blocks (the MAC key comes before the data), of which the first
    /// `computed` bytes are: one or two blocks for short data, else all four.
    first: [u8; 256],
    computed: usize,
}

impl SecretboxStream {
    /// The stream of (`key`, `nonce`), for `len` bytes of data (a hint: [`Self::apply`] to
    /// more still gets the right keystream, computed then).
    pub(crate) fn new(key: &[u8; 32], nonce: &[u8; 8], len: usize) -> SecretboxStream {
        let mut blocks = Keystream::new(key, nonce);
        let mut first = [0u8; 256];
        let computed = blocks.next4_partial(&mut first, 32 + len);
        SecretboxStream { blocks, first, computed }
    }

    /// Poly1305's key: the keystream's first 32 bytes.
    pub(crate) fn mac_key(&self) -> &[u8; 32] {
        self.first[..32].try_into().expect("32 bytes")
    }

    /// The keystream's 33rd byte: what [`Self::apply`] XORs into the data's first byte
    /// (to read that byte alone, leaving the data as it is).
    pub(crate) fn first_data_byte(&self) -> u8 {
        self.first[32]
    }

    /// XORs the keystream from its 33rd byte into `data`.
    pub(crate) fn apply(mut self, data: &mut [u8]) {
        let head_len = data.len().min(256 - 32);
        if 32 + head_len > self.computed {
            // More data than `new` was told: the four blocks after all (blocks 0-3 again).
            self.blocks.counter = 0;
            self.blocks.next4(&mut self.first);
        }
        let (head, mut rest) = data.split_at_mut(head_len);
        xor(head, &self.first[32..]);
        // Eight blocks cost about what four do with SSE2: worth it for anything over four.
        #[cfg(target_arch = "x86_64")]
        if rest.len() > 256 && avx2::available() {
            let mut blocks = [0u8; 512];
            while rest.len() > 256 {
                let n = rest.len().min(512);
                let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(n);
                self.blocks.next8(&mut blocks);
                xor(chunk, &blocks);
                rest = tail;
            }
        }
        let mut blocks = [0u8; 256];
        for chunk in rest.chunks_mut(256) {
            self.blocks.next4_partial(&mut blocks, chunk.len());
            xor(chunk, &blocks);
        }
    }
}

impl Drop for SecretboxStream {
    fn drop(&mut self) {
        self.first[..32].zeroize();
    }
}

fn xor(data: &mut [u8], keystream: &[u8]) {
    for (d, k) in data.iter_mut().zip(keystream) {
        *d ^= k;
    }
}

/// The keystream in runs of four or eight blocks.
struct Keystream {
    key: [u32; 8],
    nonce: [u32; 2],
    counter: u64,
}

impl Keystream {
    fn new(key: &[u8; 32], nonce: &[u8; 8]) -> Keystream {
        let word =
            |b: &[u8], i: usize| u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        Keystream {
            key: std::array::from_fn(|i| word(key, i)),
            nonce: [word(nonce, 0), word(nonce, 1)],
            counter: 0,
        }
    }

    /// The next `N` counters.
    fn counters<const N: usize>(&mut self) -> [u64; N] {
        let counters = std::array::from_fn(|i| self.counter.wrapping_add(i as u64));
        self.counter = self.counter.wrapping_add(N as u64);
        counters
    }

    /// The next four blocks into `out`, of which only the first `needed` bytes may be
    /// computed: one block alone when it is enough (~525 instructions against ~1 700 for four
    /// with AVX2; CPU time per 1-byte CURVE message −18 to −20 %), two at once with AVX2
    /// when they are (two blocks per register, in the time of one). Two or three blocks one
    /// by one took more time than four at once despite fewer instructions: one block is a
    /// single chain of dependent operations, four lanes are four. How many bytes were
    /// computed; the counter moves four blocks on either way.
    fn next4_partial(&mut self, out: &mut [u8; 256], needed: usize) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            let computed = if needed <= 64 {
                let (block, _) = out.split_first_chunk_mut::<64>().expect("256 bytes");
                one_block(&input(&self.key, self.nonce, self.counter), block);
                64
            } else if needed <= 128 && avx2::available() {
                let inputs = [0, 1].map(|b| input(&self.key, self.nonce, self.counter.wrapping_add(b)));
                let (two, _) = out.split_first_chunk_mut::<128>().expect("256 bytes");
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { avx2::diagonal_blocks::<1>(&[inputs], std::array::from_mut(two)) };
                128
            } else {
                0
            };
            if computed > 0 {
                self.counter = self.counter.wrapping_add(4);
                return computed;
            }
        }
        let _ = needed;
        self.next4(out);
        256
    }

    /// The next four blocks, into `out`.
    fn next4(&mut self, out: &mut [u8; 256]) {
        let counters = self.counters();
        blocks4(&self.key, self.nonce, counters, out);
    }

    /// The next eight blocks, into `out`. Only where [`avx2::available`].
    #[cfg(target_arch = "x86_64")]
    fn next8(&mut self, out: &mut [u8; 512]) {
        let counters: [u64; 8] = self.counters();
        if avx2::available() {
            // SAFETY: the CPU has AVX2 (checked just above; std caches the answer).
            unsafe { avx2::blocks8(&self.key, self.nonce, counters, out) };
        } else {
            // Not reached (callers check first), but sound without AVX2.
            let (low, high) = out.split_at_mut(256);
            let [a, b, c, d, e, f, g, h] = counters;
            blocks4(&self.key, self.nonce, [a, b, c, d], low.try_into().expect("256 bytes"));
            blocks4(&self.key, self.nonce, [e, f, g, h], high.try_into().expect("256 bytes"));
        }
    }
}

impl Drop for Keystream {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// Salsa20's constant words ("expand 32-byte k").
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// The 16 input words of the block with `counter`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn input(key: &[u32; 8], nonce: [u32; 2], counter: u64) -> [u32; 16] {
    let (k, n, c) = (key, nonce, counter);
    [
        SIGMA[0],
        k[0],
        k[1],
        k[2],
        k[3],
        SIGMA[1],
        n[0],
        n[1],
        c as u32,
        (c >> 32) as u32,
        SIGMA[2],
        k[4],
        k[5],
        k[6],
        k[7],
        SIGMA[3],
    ]
}

/// The input words of the blocks with `counters`, word-major: `[w][b]` is word w of block b,
/// lane b of the SIMD register for word w. Plain loops, no closures: this is inlined into
/// functions compiled for AVX2, and a closure need not inherit their target feature.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn word_major<const N: usize>(key: &[u32; 8], nonce: [u32; 2], counters: [u64; N]) -> [[u32; N]; 16] {
    let mut words = [[0u32; N]; 16];
    let mut b = 0;
    while b < N {
        let block = input(key, nonce, counters[b]);
        let mut w = 0;
        while w < 16 {
            words[w][b] = block[w];
            w += 1;
        }
        b += 1;
    }
    words
}

#[cfg(target_arch = "x86_64")]
fn blocks4(key: &[u32; 8], nonce: [u32; 2], counters: [u64; 4], out: &mut [u8; 256]) {
    if avx2::available() {
        let [a, b, c, d] = counters.map(|c| input(key, nonce, c));
        // SAFETY: [u8; 256] and [[u8; 128]; 2] have the same size and alignment (1).
        let halves = unsafe { &mut *(out as *mut [u8; 256]).cast::<[[u8; 128]; 2]>() };
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { avx2::diagonal_blocks::<2>(&[[a, b], [c, d]], halves) };
    } else {
        sse2::blocks4(key, nonce, counters, out);
    }
}

/// One block from its input words, into `out`.
#[cfg(target_arch = "x86_64")]
fn one_block(input: &[u32; 16], out: &mut [u8; 64]) {
    if avx2::available() {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { avx2::one_block(input, out) };
    } else {
        sse2::one_block(input, out);
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn blocks4(key: &[u32; 8], nonce: [u32; 2], counters: [u64; 4], out: &mut [u8; 256]) {
    use salsa20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
    let mut key_bytes = zeroize::Zeroizing::new([0u8; 32]);
    for (chunk, w) in key_bytes.chunks_mut(4).zip(key) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    let mut nonce_bytes = [0u8; 8];
    nonce_bytes[..4].copy_from_slice(&nonce[0].to_le_bytes());
    nonce_bytes[4..].copy_from_slice(&nonce[1].to_le_bytes());
    let mut cipher = salsa20::Salsa20::new((&*key_bytes).into(), (&nonce_bytes).into());
    cipher.seek(counters[0] * 64);
    out.fill(0);
    cipher.apply_keystream(out);
}

/// Salsa20/20's ten double rounds (columns, then rows) on the state `x`, with the lanes'
/// `quarter` macro: written once for the SSE2 and AVX2 modules.
#[cfg(target_arch = "x86_64")]
macro_rules! twenty_rounds {
    ($x:ident, $quarter:ident) => {
        for _ in 0..10 {
            $quarter!($x, 0, 4, 8, 12);
            $quarter!($x, 5, 9, 13, 1);
            $quarter!($x, 10, 14, 2, 6);
            $quarter!($x, 15, 3, 7, 11);
            $quarter!($x, 0, 1, 2, 3);
            $quarter!($x, 5, 6, 7, 4);
            $quarter!($x, 10, 11, 8, 9);
            $quarter!($x, 15, 12, 13, 14);
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    //! The four-lane rounds. SSE2 is in every x86_64 CPU (the target's baseline features), so
    //! these intrinsics are always available; the blocks below only wrap them.
    #![allow(unused_unsafe)] // The intrinsics are safe to call from Rust 1.87; libsock builds from 1.85.

    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_or_si128, _mm_shuffle_epi32, _mm_slli_epi32, _mm_srli_epi32,
        _mm_unpackhi_epi32, _mm_unpackhi_epi64, _mm_unpacklo_epi32, _mm_unpacklo_epi64, _mm_xor_si128,
    };

    /// Word `i` of four blocks, one per lane.
    #[derive(Clone, Copy)]
    #[repr(transparent)]
    struct Lanes(__m128i);

    impl Lanes {
        #[inline(always)]
        fn words(self) -> [u32; 4] {
            // SAFETY: [u32; 4] and __m128i have the same size; any bits are valid values of both.
            unsafe { std::mem::transmute::<__m128i, [u32; 4]>(self.0) }
        }

        #[inline(always)]
        fn add(self, other: Lanes) -> Lanes {
            // SAFETY: SSE2 is enabled on every x86_64 target (module docs).
            Lanes(unsafe { _mm_add_epi32(self.0, other.0) })
        }

        /// The lanes rearranged: lane i takes lane `(IMM >> 2i) & 3` (`pshufd`).
        #[inline(always)]
        fn lanes_along<const IMM: i32>(self) -> Lanes {
            // SAFETY: as in `add`.
            Lanes(unsafe { _mm_shuffle_epi32::<IMM>(self.0) })
        }

        /// `self ^ (a + b) <<< L` (R = 32 - L: const generics cannot compute it).
        #[inline(always)]
        fn xor_rotated_sum<const L: i32, const R: i32>(self, a: Lanes, b: Lanes) -> Lanes {
            // SAFETY: as in `add`.
            unsafe {
                let sum = _mm_add_epi32(a.0, b.0);
                let rotated = _mm_or_si128(_mm_slli_epi32::<L>(sum), _mm_srli_epi32::<R>(sum));
                Lanes(_mm_xor_si128(self.0, rotated))
            }
        }
    }

    /// Salsa20's quarter round on words a, b, c, d of the state.
    macro_rules! quarter {
        ($x:ident, $a:literal, $b:literal, $c:literal, $d:literal) => {
            $x[$b] = $x[$b].xor_rotated_sum::<7, 25>($x[$a], $x[$d]);
            $x[$c] = $x[$c].xor_rotated_sum::<9, 23>($x[$b], $x[$a]);
            $x[$d] = $x[$d].xor_rotated_sum::<13, 19>($x[$c], $x[$b]);
            $x[$a] = $x[$a].xor_rotated_sum::<18, 14>($x[$d], $x[$c]);
        };
    }

    /// One block, its state held in four diagonals as most SIMD Salsa20s do: lane i of
    /// (a, b, c, d) is the column round's quarter round i, so a column round is one quarter
    /// round on whole registers; rotating the lanes of b, c and d lines up the row round.
    #[inline(always)]
    pub(super) fn one_block(input: &[u32; 16], out: &mut [u8; 64]) {
        let diagonal = |w: [usize; 4]| {
            // SAFETY: [u32; 4] and __m128i have the same size; any bits are valid values of both.
            Lanes(unsafe { std::mem::transmute::<[u32; 4], __m128i>(w.map(|i| input[i])) })
        };
        let start = [
            diagonal([0, 5, 10, 15]),
            diagonal([4, 9, 14, 3]),
            diagonal([8, 13, 2, 7]),
            diagonal([12, 1, 6, 11]),
        ];
        let [mut a, mut b, mut c, mut d] = start;
        for _ in 0..10 {
            // Columns: (0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11).
            b = b.xor_rotated_sum::<7, 25>(a, d);
            c = c.xor_rotated_sum::<9, 23>(b, a);
            d = d.xor_rotated_sum::<13, 19>(c, b);
            a = a.xor_rotated_sum::<18, 14>(d, c);
            // Rows: (0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14), whose second
            // words are d's lanes one along, third c's two along, fourth b's three along.
            let (mut rb, mut rc, mut rd) =
                (d.lanes_along::<0x39>(), c.lanes_along::<0x4e>(), b.lanes_along::<0x93>());
            rb = rb.xor_rotated_sum::<7, 25>(a, rd);
            rc = rc.xor_rotated_sum::<9, 23>(rb, a);
            rd = rd.xor_rotated_sum::<13, 19>(rc, rb);
            a = a.xor_rotated_sum::<18, 14>(rd, rc);
            (b, c, d) = (rd.lanes_along::<0x39>(), rc.lanes_along::<0x4e>(), rb.lanes_along::<0x93>());
        }
        let order = [[0, 5, 10, 15], [4, 9, 14, 3], [8, 13, 2, 7], [12, 1, 6, 11]];
        for ((row, init), words) in [a, b, c, d].into_iter().zip(start).zip(order) {
            for (word, at) in row.add(init).words().into_iter().zip(words) {
                out[4 * at..4 * at + 4].copy_from_slice(&word.to_le_bytes());
            }
        }
    }

    /// Four blocks, with `counters`, into `out` (block i at `64 * i`).
    #[inline(always)]
    pub(super) fn blocks4(key: &[u32; 8], nonce: [u32; 2], counters: [u64; 4], out: &mut [u8; 256]) {
        // SAFETY: Lanes is a __m128i, which has the size of [u32; 4]; any bits are valid.
        let init = unsafe {
            std::mem::transmute::<[[u32; 4]; 16], [Lanes; 16]>(super::word_major(key, nonce, counters))
        };
        let mut x = init;
        twenty_rounds!(x, quarter);
        for w in (0..16).step_by(4) {
            let [a, b, c, d] = [0, 1, 2, 3].map(|i| x[w + i].add(init[w + i]).0);
            // Transposed: lane-major words to four blocks' words w..w + 4.
            // SAFETY: as in `add`.
            let blocks = unsafe {
                let (ab_lo, ab_hi) = (_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
                let (cd_lo, cd_hi) = (_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
                [
                    _mm_unpacklo_epi64(ab_lo, cd_lo),
                    _mm_unpackhi_epi64(ab_lo, cd_lo),
                    _mm_unpacklo_epi64(ab_hi, cd_hi),
                    _mm_unpackhi_epi64(ab_hi, cd_hi),
                ]
            };
            for (block, words) in blocks.into_iter().enumerate() {
                let at = 64 * block + 4 * w;
                for (i, word) in Lanes(words).words().into_iter().enumerate() {
                    out[at + 4 * i..at + 4 * i + 4].copy_from_slice(&word.to_le_bytes());
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The eight-lane rounds, for CPUs with AVX2 (checked at run time: x86_64's baseline does
    //! not include it). Written with macros rather than helper functions so that every
    //! intrinsic lands inside the one `#[target_feature(enable = "avx2")]` function; a helper
    //! without the feature would be called, not inlined.
    #![allow(unused_unsafe)] // The intrinsics are safe to call from Rust 1.87; libsock builds from 1.85.

    use std::arch::x86_64::{
        __m128i, __m256i, _mm256_add_epi32, _mm256_castsi256_si128, _mm256_extracti128_si256,
        _mm256_or_si256, _mm256_shuffle_epi32, _mm256_slli_epi32, _mm256_srli_epi32, _mm256_unpackhi_epi32,
        _mm256_unpackhi_epi64, _mm256_unpacklo_epi32, _mm256_unpacklo_epi64, _mm256_xor_si256,
    };

    /// Whether this CPU has AVX2 (std caches the answer after the first call).
    #[inline]
    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("avx2")
    }

    /// `x ^ (a + b) <<< L` on eight lanes (R = 32 - L).
    macro_rules! xor_rotated_sum {
        ($x:expr, $a:expr, $b:expr, $l:literal, $r:literal) => {{
            let sum = _mm256_add_epi32($a, $b);
            _mm256_xor_si256($x, _mm256_or_si256(_mm256_slli_epi32::<$l>(sum), _mm256_srli_epi32::<$r>(sum)))
        }};
    }

    /// Salsa20's quarter round on words a, b, c, d of the state.
    macro_rules! quarter {
        ($x:ident, $a:literal, $b:literal, $c:literal, $d:literal) => {
            $x[$b] = xor_rotated_sum!($x[$b], $x[$a], $x[$d], 7, 25);
            $x[$c] = xor_rotated_sum!($x[$c], $x[$b], $x[$a], 9, 23);
            $x[$d] = xor_rotated_sum!($x[$d], $x[$c], $x[$b], 13, 19);
            $x[$a] = xor_rotated_sum!($x[$a], $x[$d], $x[$c], 18, 14);
        };
    }

    /// SSE2's one block compiled for AVX2 (three-operand instructions).
    ///
    /// # Safety
    /// The CPU has AVX2 ([`available`]).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn one_block(input: &[u32; 16], out: &mut [u8; 64]) {
        super::sse2::one_block(input, out);
    }

    /// Blocks in diagonals, two per 256-bit register: state s holds blocks 2s (low 128 bits)
    /// and 2s + 1 (high), one diagonal of both per register, and goes through SSE2's
    /// one-block rounds, whose lane rotations (`vpshufd`) stay within each half. The `S`
    /// states are independent and go through the rounds together, so that their chains of
    /// dependent operations overlap: two blocks take the time of one, four not much more.
    ///
    /// # Safety
    /// The CPU has AVX2 ([`available`]).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn diagonal_blocks<const S: usize>(
        inputs: &[[[u32; 16]; 2]; S],
        out: &mut [[u8; 128]; S],
    ) {
        const DIAGONALS: [[usize; 4]; 4] = [[0, 5, 10, 15], [4, 9, 14, 3], [8, 13, 2, 7], [12, 1, 6, 11]];
        let mut words = [[[0u32; 8]; 4]; S];
        for (state, pair) in words.iter_mut().zip(inputs) {
            for (row, diagonal) in state.iter_mut().zip(DIAGONALS) {
                for (i, w) in diagonal.into_iter().enumerate() {
                    (row[i], row[4 + i]) = (pair[0][w], pair[1][w]);
                }
            }
        }
        // SAFETY: __m256i has the size of [u32; 8]; any bits are valid values of both.
        let start = unsafe { std::mem::transmute_copy::<[[[u32; 8]; 4]; S], [[__m256i; 4]; S]>(&words) };
        let mut x = start;
        // SAFETY (every intrinsic below): the caller guarantees AVX2, which this function is
        // compiled for.
        unsafe {
            for _ in 0..10 {
                for [a, b, c, d] in x.iter_mut() {
                    *b = xor_rotated_sum!(*b, *a, *d, 7, 25);
                    *c = xor_rotated_sum!(*c, *b, *a, 9, 23);
                    *d = xor_rotated_sum!(*d, *c, *b, 13, 19);
                    *a = xor_rotated_sum!(*a, *d, *c, 18, 14);
                    let mut rb = _mm256_shuffle_epi32::<0x39>(*d);
                    let mut rc = _mm256_shuffle_epi32::<0x4e>(*c);
                    let mut rd = _mm256_shuffle_epi32::<0x93>(*b);
                    rb = xor_rotated_sum!(rb, *a, rd, 7, 25);
                    rc = xor_rotated_sum!(rc, rb, *a, 9, 23);
                    rd = xor_rotated_sum!(rd, rc, rb, 13, 19);
                    *a = xor_rotated_sum!(*a, rd, rc, 18, 14);
                    *b = _mm256_shuffle_epi32::<0x39>(rd);
                    *c = _mm256_shuffle_epi32::<0x4e>(rc);
                    *d = _mm256_shuffle_epi32::<0x93>(rb);
                }
            }
            for ((state, init), out) in x.iter().zip(&start).zip(out.iter_mut()) {
                for ((row, init), diagonal) in state.iter().zip(init).zip(DIAGONALS) {
                    let words = std::mem::transmute::<__m256i, [u32; 8]>(_mm256_add_epi32(*row, *init));
                    for (i, w) in diagonal.into_iter().enumerate() {
                        out[4 * w..4 * w + 4].copy_from_slice(&words[i].to_le_bytes());
                        out[64 + 4 * w..64 + 4 * w + 4].copy_from_slice(&words[4 + i].to_le_bytes());
                    }
                }
            }
        }
    }

    /// Eight blocks, with `counters`, into `out` (block i at `64 * i`).
    ///
    /// # Safety
    /// The CPU has AVX2 ([`available`]).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn blocks8(key: &[u32; 8], nonce: [u32; 2], counters: [u64; 8], out: &mut [u8; 512]) {
        // SAFETY: __m256i has the size of [u32; 8], and any bits are valid values of both.
        let init = unsafe {
            std::mem::transmute::<[[u32; 8]; 16], [__m256i; 16]>(super::word_major(key, nonce, counters))
        };
        let mut x = init;
        // SAFETY (every intrinsic below): the caller guarantees AVX2, which this function is
        // compiled for.
        unsafe {
            twenty_rounds!(x, quarter);
            for w in (0..16).step_by(4) {
                // (No closures here: they need not inherit the target feature.)
                let a = _mm256_add_epi32(x[w], init[w]);
                let b = _mm256_add_epi32(x[w + 1], init[w + 1]);
                let c = _mm256_add_epi32(x[w + 2], init[w + 2]);
                let d = _mm256_add_epi32(x[w + 3], init[w + 3]);
                // Transposed within each 128-bit half, as SSE2's four lanes: half 0 holds
                // blocks 0-3, half 1 blocks 4-7.
                let (ab_lo, ab_hi) = (_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
                let (cd_lo, cd_hi) = (_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d));
                let rows = [
                    _mm256_unpacklo_epi64(ab_lo, cd_lo),
                    _mm256_unpackhi_epi64(ab_lo, cd_lo),
                    _mm256_unpacklo_epi64(ab_hi, cd_hi),
                    _mm256_unpackhi_epi64(ab_hi, cd_hi),
                ];
                for (block, row) in rows.into_iter().enumerate() {
                    let halves = [_mm256_castsi256_si128(row), _mm256_extracti128_si256::<1>(row)];
                    for (half, words) in halves.into_iter().enumerate() {
                        let at = 64 * (block + 4 * half) + 4 * w;
                        // SAFETY: __m128i and [u8; 16] have the same size; any bits are bytes.
                        let bytes = std::mem::transmute::<__m128i, [u8; 16]>(words);
                        out[at..at + 16].copy_from_slice(&bytes);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use salsa20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

    use super::*;

    fn crate_keystream(key: &[u8; 32], nonce: &[u8; 8], from: u64, data: &mut [u8]) {
        let mut c = salsa20::Salsa20::new(key.into(), nonce.into());
        c.seek(from);
        c.apply_keystream(data);
    }

    #[test]
    fn four_blocks_match_the_crate_across_the_counter_carry() {
        let key: [u8; 32] = std::array::from_fn(|i| (i * 7 + 1) as u8);
        let nonce = [9, 8, 7, 6, 5, 4, 3, 2];
        for start in [0u64, 1, 5, u64::from(u32::MAX) - 2, u64::from(u32::MAX), u64::MAX - 1] {
            let mut ks = Keystream::new(&key, &nonce);
            ks.counter = start;
            let mut ours = [0u8; 256];
            ks.next4(&mut ours);
            let mut theirs = [0u8; 256];
            if start <= u64::MAX / 64 - 4 {
                crate_keystream(&key, &nonce, start * 64, &mut theirs);
            } else {
                // Past the crate's seekable range: block by block from the words.
                for (i, block) in theirs.chunks_mut(64).enumerate() {
                    let words = reference_block(&input(&ks.key, ks.nonce, start.wrapping_add(i as u64)));
                    for (chunk, w) in block.chunks_mut(4).zip(words) {
                        chunk.copy_from_slice(&w.to_le_bytes());
                    }
                }
            }
            assert_eq!(ours, theirs, "blocks from {start}");
            // Where the CPU has AVX2, next4 took the diagonal blocks: the SSE2 lanes too.
            #[cfg(target_arch = "x86_64")]
            {
                let counters: [u64; 4] = std::array::from_fn(|i| start.wrapping_add(i as u64));
                let mut baseline = [0u8; 256];
                sse2::blocks4(&ks.key, ks.nonce, counters, &mut baseline);
                assert_eq!(baseline, theirs, "SSE2 blocks from {start}");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn eight_blocks_match_four_and_four_across_the_counter_carry() {
        if !avx2::available() {
            eprintln!("SKIPPED: this CPU has no AVX2; the eight-block path is not used here");
            return;
        }
        let key: [u8; 32] = std::array::from_fn(|i| (i * 5 + 3) as u8);
        let nonce = [1, 2, 3, 4, 5, 6, 7, 8];
        for start in [0u64, 3, u64::from(u32::MAX) - 4, u64::from(u32::MAX), u64::MAX - 3] {
            let mut eight = Keystream::new(&key, &nonce);
            eight.counter = start;
            let mut ours = [0u8; 512];
            eight.next8(&mut ours);
            let mut four = Keystream::new(&key, &nonce);
            four.counter = start;
            let mut theirs = [0u8; 512];
            let (low, high) = theirs.split_at_mut(256);
            four.next4(low.try_into().unwrap());
            four.next4(high.try_into().unwrap());
            assert_eq!(ours, theirs, "blocks from {start}");
            assert_eq!(eight.counter, four.counter);
        }
    }

    /// One block, written from the spec (word by word), for the counters the crate cannot
    /// seek to.
    fn reference_block(input: &[u32; 16]) -> [u32; 16] {
        let mut x = *input;
        let quarter = |x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize| {
            x[b] ^= x[a].wrapping_add(x[d]).rotate_left(7);
            x[c] ^= x[b].wrapping_add(x[a]).rotate_left(9);
            x[d] ^= x[c].wrapping_add(x[b]).rotate_left(13);
            x[a] ^= x[d].wrapping_add(x[c]).rotate_left(18);
        };
        for _ in 0..10 {
            for [a, b, c, d] in [[0, 4, 8, 12], [5, 9, 13, 1], [10, 14, 2, 6], [15, 3, 7, 11]] {
                quarter(&mut x, a, b, c, d);
            }
            for [a, b, c, d] in [[0, 1, 2, 3], [5, 6, 7, 4], [10, 11, 8, 9], [15, 12, 13, 14]] {
                quarter(&mut x, a, b, c, d);
            }
        }
        std::array::from_fn(|i| x[i].wrapping_add(input[i]))
    }

    #[test]
    fn secretbox_keystream_matches_the_crate_at_every_length() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut byte = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        for len in (0..600).chain([1000, 4096, 4097, 65_536 + 7]) {
            let key: [u8; 32] = std::array::from_fn(|_| byte());
            let nonce: [u8; 8] = std::array::from_fn(|_| byte());
            let plain: Vec<u8> = (0..len).map(|_| byte()).collect();
            let mut theirs = vec![0u8; 32];
            theirs.extend_from_slice(&plain);
            crate_keystream(&key, &nonce, 0, &mut theirs);
            // The length hint as the cipher gives it, and wrong ones: too small (the rest is
            // computed at `apply`) and too large.
            for hint in [len, 0, len / 2, len + 100] {
                let mut ours = plain.clone();
                let stream = SecretboxStream::new(&key, &nonce, hint);
                assert_eq!(&stream.mac_key()[..], &theirs[..32], "length {len}, hint {hint}: Poly1305 key");
                stream.apply(&mut ours);
                assert_eq!(ours, theirs[32..], "length {len}, hint {hint}: data");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn one_and_two_blocks_in_diagonals_match_the_spec_at_any_counter() {
        let key: [u32; 8] = std::array::from_fn(|i| (0x0101_0101 * (i as u32 + 1)) ^ 0xdead_beef);
        for counter in [0u64, 1, 2, 3, u64::from(u32::MAX), u64::MAX] {
            let input = input(&key, [0x0123_4567, 0x89ab_cdef], counter);
            let expected: Vec<u8> = reference_block(&input).iter().flat_map(|w| w.to_le_bytes()).collect();
            let mut baseline = [0u8; 64];
            sse2::one_block(&input, &mut baseline);
            assert_eq!(baseline[..], expected[..], "SSE2, counter {counter}");
            let mut dispatched = [0u8; 64];
            one_block(&input, &mut dispatched);
            assert_eq!(dispatched[..], expected[..], "counter {counter}");
            if avx2::available() {
                let next = super::input(&key, [0x0123_4567, 0x89ab_cdef], counter.wrapping_add(1));
                let mut two = [0u8; 128];
                // SAFETY: AVX2 checked just above.
                unsafe { avx2::diagonal_blocks::<1>(&[[input, next]], std::array::from_mut(&mut two)) };
                assert_eq!(two[..64], expected[..], "two blocks from {counter}: the first");
                let second: Vec<u8> = reference_block(&next).iter().flat_map(|w| w.to_le_bytes()).collect();
                assert_eq!(two[64..], second[..], "two blocks from {counter}: the second");
            }
        }
    }
}
