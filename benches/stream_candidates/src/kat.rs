//! Known-answer tests against published vectors, and every SIMD level against the scalar
//! reference (same words for the same group index, across the 2^32 and 2^64 counter wraps).
//!
//! Sources (facts only; the code is ours):
//! - Philox4x32-7 / -10: Random123 `examples/kat_vectors` (the "philox4x32 7 ..." and
//!   "philox4x32 10 ..." lines; also Random123's `kat_main.cpp`).
//! - ChaCha round function: RFC 7539 section 2.3.2 (20 rounds, 96-bit nonce, counter 1).
//! - ChaCha8 / ChaCha12: draft-strombergson-chacha-test-vectors-01, TC1 (zero key and IV,
//!   blocks 0 and 1) and TC8 (hashed key and IV), 256-bit keys, as carried in GNU Nettle's
//!   `testsuite/chacha-test.c`.
//! - AES-128: FIPS-197 appendix C.1.

use crate::gens::aes::Aes128;
use crate::gens::chacha::ChaCha;
use crate::gens::philox::{Layout512, Philox};
use crate::gens::{raw, Buf, Gen, Lvl, Store};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn le_words(b: &[u8]) -> Vec<u32> {
    b.chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn check(name: &str, got: &[u32], want: &[u32], fails: &mut usize) {
    if got == want {
        println!("  ok   {name}");
    } else {
        *fails += 1;
        println!("  FAIL {name}\n       got  {got:08x?}\n       want {want:08x?}");
    }
}

fn philox_kats(fails: &mut usize) {
    // (rounds, counter, key, expected)
    type Kat = (usize, [u32; 4], [u32; 2], [u32; 4]);
    let cases: [Kat; 8] = [
        (
            7,
            [0; 4],
            [0; 2],
            [0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48],
        ),
        (
            7,
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662],
        ),
        (
            7,
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a],
        ),
        (
            7,
            [1, 0, 0, 0],
            [1, 0],
            [0x6b3257c3, 0x820c5486, 0x4de08b66, 0x8771d665],
        ),
        (
            10,
            [0; 4],
            [0; 2],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            10,
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            10,
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
        (
            10,
            [1, 0, 0, 0],
            [1, 0],
            [0xac08141b, 0xdfc5ccbe, 0x79c07a47, 0xa7f66093],
        ),
    ];
    for (r, ctr, key, want) in cases {
        let got = if r == 7 {
            Philox::<7>::block(key, ctr)
        } else {
            Philox::<10>::block(key, ctr)
        };
        check(
            &format!("philox4x32-{r} ctr {ctr:08x?} key {key:08x?}"),
            &got,
            &want,
            fails,
        );
    }
}

fn chacha_kats(fails: &mut usize) {
    // RFC 7539 2.3.2: key 00..1f, counter 1, nonce 00:00:00:09:00:00:00:4a:00:00:00:00.
    let key: [u32; 8] = le_words(&(0u8..32).collect::<Vec<_>>()).try_into().unwrap();
    let mut input = [0u32; 16];
    input[..4].copy_from_slice(&[0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
    input[4..12].copy_from_slice(&key);
    input[12] = 1;
    input[13..16].copy_from_slice(&le_words(&hex("000000090000004a00000000")));
    let want = le_words(&hex(
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e
         d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
    ));
    check(
        "chacha20 RFC 7539 2.3.2",
        &ChaCha::<20>::block(&input),
        &want,
        fails,
    );

    let tc = |key: &str, iv: &str, counter: u64| {
        let k: [u32; 8] = le_words(&hex(key)).try_into().unwrap();
        let n: [u32; 2] = le_words(&hex(iv)).try_into().unwrap();
        (k, counter, n)
    };
    let zero_key = "00".repeat(32);
    let tc8_key = "c46ec1b18ce8a878725a37e780dfb7351f68ed2e194c79fbc6aebee1a667975d";
    let cases8 = [
        (
            "chacha8 TC1 block 0",
            tc(&zero_key, "0000000000000000", 0),
            "3e00ef2f895f40d67f5bb8e81f09a5a12c840ec3ce9a7f3b181be188ef711a1e
             984ce172b9216f419f445367456d5619314a42a3da86b001387bfdb80e0cfe42",
        ),
        (
            "chacha8 TC1 block 1",
            tc(&zero_key, "0000000000000000", 1),
            "d2aefa0deaa5c151bf0adb6c01f2a5adc0fd581259f9a2aadcf20f8fd566a26b
             5032ec38bbc5da98ee0c6f568b872a65a08abf251deb21bb4b56e5d8821e68aa",
        ),
        (
            "chacha8 TC8",
            tc(tc8_key, "1ada31d5cf688221", 0),
            "838751b42d8ddd8a3d77f48825a2ba752cf4047cb308a5978ef274973be374c9
             6ad848065871417b08f034e681fe46a93f7d5c61d1306614d4aaf257a7cff08b",
        ),
    ];
    for (name, (k, c, n), want) in cases8 {
        let got = ChaCha::<8>::block(&ChaCha::<8>::input(&k, c, n));
        check(name, &got, &le_words(&hex(want)), fails);
    }
    let cases12 = [
        (
            "chacha12 TC1 block 0",
            tc(&zero_key, "0000000000000000", 0),
            "9bf49a6a0755f953811fce125f2683d50429c3bb49e074147e0089a52eae155f
             0564f879d27ae3c02ce82834acfa8c793a629f2ca0de6919610be82f411326be",
        ),
        (
            "chacha12 TC8",
            tc(tc8_key, "1ada31d5cf688221", 0),
            "1482072784bc6d06b4e73bdc118bc0103c7976786ca918e06986aa251f7e9cc1
             b2749a0a16ee83b4242d2e99b08d7c20092b80bc466c87283b61b1b39d0ffbab",
        ),
    ];
    for (name, (k, c, n), want) in cases12 {
        let got = ChaCha::<12>::block(&ChaCha::<12>::input(&k, c, n));
        check(name, &got, &le_words(&hex(want)), fails);
    }
}

fn aes_kats(fails: &mut usize) {
    let key: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
    let pt: [u8; 16] = hex("00112233445566778899aabbccddeeff").try_into().unwrap();
    let ct = Aes128::with_key(key, 0).encrypt(pt);
    check(
        "aes128 FIPS-197 C.1",
        &le_words(&ct),
        &le_words(&hex("69c4e0d86a7b0430d8cdb78070b4c55a")),
        fails,
    );
}

/// Every level against the scalar reference, over groups around the counter wraps.
fn levels_match<G: Gen>(g: &G, fails: &mut usize) {
    let before = *fails;
    let groups = 4usize;
    let blocks_per_group = (G::WORDS / if G::WORDS == 256 { 16 } else { 4 }) as u64;
    let wrap32 = (1u64 << 32) / blocks_per_group - 2;
    let starts = [0u64, 12345, wrap32, u64::MAX / blocks_per_group - 1];
    let mut want = vec![0u32; G::WORDS * groups];
    let mut got = Buf::<u32>::new(G::WORDS * groups);
    for &first in &starts {
        for (i, c) in want.chunks_mut(G::WORDS).enumerate() {
            g.group_scalar(first.wrapping_add(i as u64), c);
        }
        for lvl in [Lvl::Avx2, Lvl::Avx512] {
            if !lvl.available() {
                println!("  skip {} {} (not available)", g.name(), lvl.name());
                continue;
            }
            for s in [Store::Direct, Store::Buffered, Store::Streaming] {
                got.fill(0);
                raw(lvl, g, first, &mut got, s);
                if got[..] != want[..] {
                    *fails += 1;
                    let bad = got.iter().zip(&want).position(|(a, b)| a != b).unwrap();
                    println!(
                        "  FAIL {} {} {s:?} group {first}: first difference at word {bad}",
                        g.name(),
                        lvl.name()
                    );
                }
            }
        }
    }
    if *fails == before {
        println!(
            "  ok   {} avx2/avx512 == scalar (4 starts incl. counter wraps)",
            g.name()
        );
    }
}

/// The element order promised in each generator's documentation, checked on the scalar form.
fn element_order(fails: &mut usize) {
    let p = Philox::<10>::new(0x0123_4567_89ab_cdef, 5, Layout512::Lanes64);
    let mut w = vec![0u32; 128];
    let g = 77u64;
    p.group_scalar(g, &mut w);
    let b = 32 * g + 16 + 3;
    let one = Philox::<10>::block(p.key, [b as u32, (b >> 32) as u32, 5, 0]);
    check(
        "philox element 64 h + 16 w + j",
        &[w[64 + 16 * 2 + 3]],
        &[one[2]],
        fails,
    );

    let c = ChaCha::<8>::new(42, 9);
    let mut w = vec![0u32; 256];
    c.group_scalar(g, &mut w);
    let one = ChaCha::<8>::block(&ChaCha::<8>::input(&c.key, 16 * g + 5, c.nonce));
    check(
        "chacha element 16 w + j",
        &[w[16 * 11 + 5]],
        &[one[11]],
        fails,
    );
}

pub fn run() -> usize {
    let mut fails = 0;
    println!("known-answer tests");
    philox_kats(&mut fails);
    chacha_kats(&mut fails);
    aes_kats(&mut fails);
    element_order(&mut fails);
    println!("levels against the scalar reference");
    for layout in [Layout512::Lanes64, Layout512::Packed] {
        levels_match(
            &Philox::<7>::new(0xdead_beef_0bad_cafe, 1, layout),
            &mut fails,
        );
        levels_match(
            &Philox::<10>::new(0xdead_beef_0bad_cafe, 1, layout),
            &mut fails,
        );
    }
    levels_match(&ChaCha::<8>::new(0xdead_beef_0bad_cafe, 1), &mut fails);
    levels_match(&ChaCha::<12>::new(3, 0), &mut fails);
    let mut aes = Aes128::new(0xdead_beef_0bad_cafe, 1);
    levels_match(&aes, &mut fails);
    aes.ymm = true;
    levels_match(&aes, &mut fails);
    println!("{} failure(s)", fails);
    fails
}
