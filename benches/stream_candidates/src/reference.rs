//! Float64 references: Wichura's AS241 (PPND16) inverse normal CDF, relative accuracy ~1e-16
//! (coefficients as published, the same as ferroinit's src/math.rs), and the normal CDF from
//! libm's erfc.

const PPF_CENTRAL_NUM: [f64; 8] = [
    2_509.080_928_730_122_7,
    33_430.575_583_588_13,
    67_265.770_927_008_7,
    45_921.953_931_549_87,
    13_731.693_765_509_46,
    1_971.590_950_306_551_4,
    133.141_667_891_784_38,
    3.387_132_872_796_366_5,
];
const PPF_CENTRAL_DEN: [f64; 8] = [
    5_226.495_278_852_546,
    28_729.085_735_721_943,
    39_307.895_800_092_71,
    21_213.794_301_586_597,
    5_394.196_021_424_751,
    687.187_007_492_057_9,
    42.313_330_701_600_91,
    1.0,
];
const PPF_TAIL_NUM: [f64; 8] = [
    7.745_450_142_783_414e-4,
    0.022_723_844_989_269_184,
    0.241_780_725_177_450_6,
    1.270_458_252_452_368_4,
    3.647_848_324_763_204_5,
    5.769_497_221_460_691,
    4.630_337_846_156_545,
    1.423_437_110_749_683_5,
];
const PPF_TAIL_DEN: [f64; 8] = [
    1.050_750_071_644_416_9e-9,
    5.475_938_084_995_345e-4,
    0.015_198_666_563_616_457,
    0.148_103_976_427_480_08,
    0.689_767_334_985_1,
    1.676_384_830_183_803_8,
    2.053_191_626_637_759,
    1.0,
];
const PPF_FAR_NUM: [f64; 8] = [
    2.010_334_399_292_288_1e-7,
    2.711_555_568_743_487_6e-5,
    0.001_242_660_947_388_078_4,
    0.026_532_189_526_576_124,
    0.296_560_571_828_504_9,
    1.784_826_539_917_291_3,
    5.463_784_911_164_114,
    6.657_904_643_501_103,
];
const PPF_FAR_DEN: [f64; 8] = [
    2.044_263_103_389_939_7e-15,
    1.421_511_758_316_446e-7,
    1.846_318_317_510_054_8e-5,
    7.868_691_311_456_133e-4,
    0.014_875_361_290_850_615,
    0.136_929_880_922_735_8,
    0.599_832_206_555_887_9,
    1.0,
];

fn horner8(r: f64, c: &[f64; 8]) -> f64 {
    let mut acc = r * c[0] + c[1];
    for &ck in &c[2..] {
        acc = acc * r + ck;
    }
    acc
}

/// Inverse standard normal CDF for `p` in (0, 1).
pub fn ndtri(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner8(r, &PPF_CENTRAL_NUM) / horner8(r, &PPF_CENTRAL_DEN);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let val = if r <= 5.0 {
        let r = r - 1.6;
        horner8(r, &PPF_TAIL_NUM) / horner8(r, &PPF_TAIL_DEN)
    } else {
        let r = r - 5.0;
        horner8(r, &PPF_FAR_NUM) / horner8(r, &PPF_FAR_DEN)
    };
    if q < 0.0 {
        -val
    } else {
        val
    }
}

/// `-ndtri(q)` for a lower-tail probability q <= 0.5, without forming 1 - q.
pub fn ndtri_upper(q: f64) -> f64 {
    -ndtri(q)
}

/// Standard normal CDF.
pub fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}
