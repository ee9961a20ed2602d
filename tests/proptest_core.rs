//! Property-based fuzzing of the Rust entry points that write into caller memory.
//!
//! Every case builds a strided view (random rank, sizes, memory order, gaps, negative strides,
//! optional shard placement, or fully arbitrary strides that may overlap or be misaligned) over a
//! guarded buffer: canary bytes before, after and between the view's elements. Then one
//! initializer runs with random (also non-finite, huge, tiny, subnormal) parameters. The
//! property: either `Layout::new` / the initializer returns an error and *no byte of the buffer*
//! changed and the generator did not move, or the call succeeded and
//! - every byte outside the view's elements still holds its canary,
//! - every element of the view holds exactly the value the same call writes at that logical
//!   (global) index of a fresh C-contiguous array (so: written once, in logical order),
//! - the values lie in the distribution's support (finite; uniform / trunc_normal in [a, b]).
//!
//! Stable Rust has neither Miri nor AddressSanitizer, so this binary is also what
//! tests/test_memcheck.py runs under valgrind memcheck (with a small PROPTEST_CASES).
//! Case counts: PROPTEST_CASES (default 256) for the small-view properties; the large-view
//! property (which exercises the parallel driver and interrupts) runs a tenth of that.

use ferroinit::buffer::element::DType;
use ferroinit::buffer::layout::{Layout, Shard};
use ferroinit::init;
use ferroinit::rng::generator::Generator;
use half::{bf16, f16};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const GUARD: usize = 64;

fn dtype_strategy() -> impl Strategy<Value = DType> {
    prop_oneof![
        Just(DType::F16),
        Just(DType::BF16),
        Just(DType::F32),
        Just(DType::F64)
    ]
}

/// Parameters: mostly ordinary, sometimes the edge cases of f64.
fn param() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -10.0f64..10.0,
        1 => prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(1e300),
            Just(-1e300),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(-5e-324),
            Just(1e-310),
            Just(65504.0),
            Just(3.4028235e38),
            Just(1e-45),
        ],
        1 => any::<f64>(),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Uniform(f64, f64),
    Normal(f64, f64),
    TruncNormal(f64, f64, f64, f64),
    XavierUniform(f64),
    XavierNormal(f64),
    KaimingUniform(f64, &'static str, &'static str),
    KaimingNormal(f64, &'static str, &'static str),
    Constant(f64),
    Eye,
    Dirac(i64),
    Orthogonal(f64),
    Sparse(f64, f64),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let mode = prop_oneof![Just("fan_in"), Just("fan_out"), Just("FAN_IN"), Just("bad")];
    let nl = prop_oneof![
        Just("leaky_relu"),
        Just("relu"),
        Just("tanh"),
        Just("selu"),
        Just("linear"),
        Just("nope")
    ];
    prop_oneof![
        4 => (param(), param()).prop_map(|(a, b)| Op::Uniform(a, b)),
        // an ordered, finite pair most of the time, so most uniform cases reach the fill
        4 => (-5.0f64..5.0, 1e-6f64..10.0).prop_map(|(a, w)| Op::Uniform(a, a + w)),
        3 => (param(), param()).prop_map(|(m, s)| Op::Normal(m, s)),
        3 => (param(), 0.0f64..5.0).prop_map(|(m, s)| Op::Normal(m, s)),
        3 => (param(), param(), param(), param()).prop_map(|(m, s, a, b)| Op::TruncNormal(m, s, a, b)),
        3 => (-3.0f64..3.0, 1e-3f64..3.0, -4.0f64..0.0, 0.0f64..4.0)
            .prop_map(|(m, s, a, w)| Op::TruncNormal(m, s, a, a + w + 1e-9)),
        1 => param().prop_map(Op::XavierUniform),
        1 => param().prop_map(Op::XavierNormal),
        1 => (param(), mode.clone(), nl.clone()).prop_map(|(a, m, n)| Op::KaimingUniform(a, m, n)),
        1 => (param(), mode, nl).prop_map(|(a, m, n)| Op::KaimingNormal(a, m, n)),
        1 => param().prop_map(Op::Constant),
        1 => Just(Op::Eye),
        1 => (-1i64..4).prop_map(Op::Dirac),
        1 => param().prop_map(Op::Orthogonal),
        1 => (prop_oneof![0.0f64..1.0, param()], param()).prop_map(|(s, d)| Op::Sparse(s, d)),
    ]
}

fn run_op(
    op: &Op,
    l: &Layout,
    g: &Generator,
    poll: &mut dyn FnMut() -> bool,
) -> ferroinit::error::Result<()> {
    match *op {
        Op::Uniform(a, b) => init::uniform_(l, a, b, g, poll),
        Op::Normal(m, s) => init::normal_(l, m, s, g, poll),
        Op::TruncNormal(m, s, a, b) => init::trunc_normal_(l, m, s, a, b, g, poll),
        Op::XavierUniform(gain) => init::xavier_uniform_(l, gain, g, poll),
        Op::XavierNormal(gain) => init::xavier_normal_(l, gain, g, poll),
        Op::KaimingUniform(a, m, n) => init::kaiming_uniform_(l, a, m, n, g, poll),
        Op::KaimingNormal(a, m, n) => init::kaiming_normal_(l, a, m, n, g, poll),
        Op::Constant(v) => init::constant_(l, v, poll),
        Op::Eye => init::eye_(l, poll),
        Op::Dirac(groups) => init::dirac_(l, groups, poll),
        Op::Orthogonal(gain) => init::orthogonal_(l, gain, g, poll),
        Op::Sparse(s, std) => init::sparse_(l, s, std, g, poll),
    }
}

/// A view description: shape and strides in *bytes*, plus an optional shard.
#[derive(Clone, Debug)]
struct View {
    dtype: DType,
    shape: Vec<usize>,
    strides: Vec<isize>,
    shard: Option<Shard>,
}

/// Non-overlapping views: dims laid out in a random memory order, each with a gap factor and
/// a sign; size-1 dims get arbitrary (even odd or huge) strides, which NumPy allows.
fn valid_view(max_rank: usize, max_dim: usize) -> impl Strategy<Value = View> {
    (
        dtype_strategy(),
        prop::collection::vec((0..=max_dim, 1usize..=3, any::<bool>()), 0..=max_rank),
    )
        .prop_flat_map(|(dtype, dims)| {
            let n = dims.len();
            let perm = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
            let odd = prop::collection::vec(
                prop_oneof![Just(0isize), Just(3), Just(-5), Just(isize::MAX / 2)],
                n,
            );
            (Just(dtype), Just(dims), perm, odd)
        })
        .prop_map(|(dtype, dims, perm, odd)| {
            let item = dtype.itemsize() as isize;
            let n = dims.len();
            let shape: Vec<usize> = dims.iter().map(|d| d.0).collect();
            let mut strides = vec![0isize; n];
            let mut extent = 1isize; // in elements
                                     // perm[0] is the innermost dim in memory
            for &k in &perm {
                let (size, gap, neg) = dims[k];
                let s = extent * gap as isize;
                strides[k] = if neg { -s * item } else { s * item };
                extent = s * size.max(1) as isize;
            }
            for k in 0..n {
                if shape[k] == 1 {
                    strides[k] = odd[k];
                }
            }
            View {
                dtype,
                shape,
                strides,
                shard: None,
            }
        })
}

/// Places a valid view inside a random larger global array.
fn sharded_view() -> impl Strategy<Value = View> {
    valid_view(4, 4)
        .prop_flat_map(|v| {
            let n = v.shape.len();
            let extra = prop::collection::vec((0usize..3, 0usize..3), n);
            (Just(v), extra)
        })
        .prop_map(|(mut v, extra)| {
            let global_shape = v
                .shape
                .iter()
                .zip(&extra)
                .map(|(&s, &(a, b))| s + a + b)
                .collect();
            let offset = extra.iter().map(|&(a, _)| a).collect();
            v.shard = Some(Shard {
                global_shape,
                offset,
            });
            v
        })
}

/// Arbitrary strides in small element multiples (zero, overlapping, negative) and sometimes
/// not a multiple of the itemsize.
fn arbitrary_view() -> impl Strategy<Value = View> {
    (
        dtype_strategy(),
        prop::collection::vec((0usize..=4, -6isize..=6, 0isize..4), 0..=4),
    )
        .prop_map(|(dtype, dims)| {
            let item = dtype.itemsize() as isize;
            View {
                dtype,
                shape: dims.iter().map(|d| d.0).collect(),
                strides: dims
                    .iter()
                    .map(|&(_, s, junk)| s * item + if junk == 3 { 1 } else { 0 })
                    .collect(),
                shard: None,
            }
        })
}

/// Element offsets (in elements) of every logical index, in C order.
fn element_offsets(shape: &[usize], estrides: &[isize]) -> Vec<isize> {
    let len: usize = shape.iter().product();
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let mut rest = i;
        let mut off = 0isize;
        for k in (0..shape.len()).rev() {
            off += (rest % shape[k]) as isize * estrides[k];
            rest /= shape[k];
        }
        out.push(off);
    }
    out
}

fn global_index(v: &View, i: usize) -> usize {
    let (gshape, goff) = match &v.shard {
        Some(s) => (s.global_shape.clone(), s.offset.clone()),
        None => (v.shape.clone(), vec![0; v.shape.len()]),
    };
    let mut rest = i;
    let mut m = vec![0usize; v.shape.len()];
    for k in (0..v.shape.len()).rev() {
        m[k] = rest % v.shape[k];
        rest /= v.shape[k];
    }
    let mut g = 0usize;
    for k in 0..v.shape.len() {
        g = g * gshape[k] + m[k] + goff[k];
    }
    g
}

/// A buffer of canary bytes (a seeded pattern) with the view placed in its middle.
struct Guarded {
    bytes: Vec<u64>, // u64 storage keeps every dtype aligned
    nbytes: usize,
    origin: usize, // byte offset of the view's first element
}

impl Guarded {
    fn new(item: usize, offsets: &[isize], misalign: usize) -> Guarded {
        let (lo, hi) = offsets
            .iter()
            .fold((0isize, 0isize), |(l, h), &o| (l.min(o), h.max(o)));
        let span = ((hi - lo) as usize + 1) * item;
        let nbytes = GUARD + span + GUARD + 8;
        let words = nbytes.div_ceil(8);
        let mut bytes = vec![0u64; words];
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ nbytes as u64;
        for w in bytes.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *w = x;
        }
        let origin = GUARD + (-lo) as usize * item + misalign;
        Guarded {
            bytes,
            nbytes,
            origin,
        }
    }
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: plain u64 storage reinterpreted as bytes, within its length.
        unsafe { std::slice::from_raw_parts(self.bytes.as_ptr() as *const u8, self.nbytes) }
    }
    fn ptr(&mut self) -> *mut u8 {
        // SAFETY: origin < nbytes by construction.
        unsafe { (self.bytes.as_mut_ptr() as *mut u8).add(self.origin) }
    }
}

/// The value at a byte position as f64 (for support checks).
fn read(dtype: DType, b: &[u8]) -> f64 {
    match dtype {
        DType::F16 => f16::from_le_bytes([b[0], b[1]]).to_f64(),
        DType::BF16 => bf16::from_le_bytes([b[0], b[1]]).to_f64(),
        DType::F32 => f32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
        DType::F64 => f64::from_le_bytes(b[..8].try_into().unwrap()),
    }
}

fn support(op: &Op) -> Option<(f64, f64)> {
    match *op {
        Op::Uniform(a, b) | Op::TruncNormal(_, _, a, b) => Some((a, b)),
        Op::Constant(_) => None,
        _ => Some((f64::NEG_INFINITY, f64::INFINITY)),
    }
}

/// Runs `op` on the view over a guarded buffer and checks the property. `stop_after`: make the
/// poll ask to stop after that many calls (interrupt path).
fn check(
    v: &View,
    op: &Op,
    seed: u64,
    pos: u64,
    misalign: usize,
    stop_after: Option<usize>,
) -> Result<(), TestCaseError> {
    let item = v.dtype.itemsize();
    let len: usize = v.shape.iter().product();
    // Exact overlap ground truth (only meaningful when strides are itemsize multiples).
    let exact = v
        .strides
        .iter()
        .zip(&v.shape)
        .all(|(&s, &n)| n <= 1 || s % item as isize == 0);
    let estrides: Vec<isize> = v
        .strides
        .iter()
        .zip(&v.shape)
        .map(|(&s, &n)| if n > 1 { s / item as isize } else { 0 })
        .collect();
    let offsets = element_offsets(&v.shape, &estrides);
    let mut distinct = offsets.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let overlapping = distinct.len() != offsets.len();

    let mut buf = Guarded::new(item, &offsets, misalign);
    let before = buf.as_bytes().to_vec();
    let layout = Layout::new(buf.ptr(), v.dtype, &v.shape, &v.strides, v.shard.as_ref());
    let layout = match layout {
        Err(_) => {
            prop_assert_eq!(buf.as_bytes(), &before[..]);
            return Ok(());
        }
        Ok(l) => l,
    };
    // Accepted: the view must be aligned, itemsize-strided and non-overlapping.
    prop_assert!(
        exact,
        "accepted a stride that is not a multiple of the itemsize: {:?}",
        v
    );
    prop_assert!(
        !overlapping || len <= 1,
        "accepted an overlapping view: {:?}",
        v
    );
    prop_assert!(
        misalign == 0 || len == 0,
        "accepted a misaligned pointer: {:?}",
        v
    );
    prop_assert_eq!(layout.len, len);

    let g = Generator::new(seed);
    g.set_state(seed, pos);
    let mut calls = 0usize;
    let mut poll = || {
        calls += 1;
        stop_after.is_some_and(|k| calls > k)
    };
    let r = run_op(op, &layout, &g, &mut poll);
    let after = buf.as_bytes().to_vec();

    // Bytes outside the view's elements never change.
    let mut inside = vec![false; after.len()];
    for &o in &offsets {
        let start = (buf.origin as isize + o * item as isize) as usize;
        inside[start..start + item]
            .iter_mut()
            .for_each(|b| *b = true);
    }
    for (k, (&a, &b)) in after.iter().zip(&before).enumerate() {
        if !inside[k] && a != b {
            return Err(TestCaseError::fail(format!(
                "byte {k} outside the view changed ({b:#x} -> {a:#x}); view {v:?}, op {op:?}, origin {}",
                buf.origin
            )));
        }
    }
    match r {
        Err(ferroinit::error::Error::Interrupted) => {
            prop_assert!(stop_after.is_some(), "interrupted without being asked");
            return Ok(()); // a partial fill inside the view is allowed and reported
        }
        Err(_) => {
            prop_assert_eq!(&after[..], &before[..], "error after writing; op {:?}", op);
            prop_assert_eq!(g.position(), pos, "the generator moved on an error");
            return Ok(());
        }
        Ok(()) => {}
    }

    // Reference: the same call on a fresh C-contiguous buffer of the global shape.
    let gshape = v
        .shard
        .as_ref()
        .map_or(v.shape.clone(), |s| s.global_shape.clone());
    let glen: usize = gshape.iter().product();
    let mut reference = vec![0u64; (glen * item).div_ceil(8).max(1)];
    let rl = Layout::contiguous(reference.as_mut_ptr() as *mut u8, v.dtype, &gshape).unwrap();
    let rg = Generator::new(seed);
    rg.set_state(seed, pos);
    let rr = run_op(op, &rl, &rg, &mut || false);
    prop_assert!(
        rr.is_ok(),
        "the view succeeded but the contiguous reference failed: {:?}",
        rr
    );
    prop_assert_eq!(
        rg.position(),
        g.position(),
        "position advance depends on the strides"
    );
    // SAFETY: plain storage reinterpreted as bytes.
    let rbytes =
        unsafe { std::slice::from_raw_parts(reference.as_ptr() as *const u8, glen * item) };
    let sup = support(op);
    for (i, &o) in offsets.iter().enumerate() {
        let start = (buf.origin as isize + o * item as isize) as usize;
        let got = &after[start..start + item];
        let gi = global_index(v, i);
        let want = &rbytes[gi * item..(gi + 1) * item];
        prop_assert_eq!(
            got,
            want,
            "element {} (global {}) differs from the contiguous fill; {:?} {:?}",
            i,
            gi,
            v,
            op
        );
        if let Some((lo, hi)) = sup {
            let x = read(v.dtype, got);
            prop_assert!(!x.is_nan(), "NaN at element {}; {:?}", i, op);
            prop_assert!(
                x >= lo && x <= hi,
                "{} outside [{}, {}]; {:?} {:?}",
                x,
                lo,
                hi,
                op,
                v.dtype
            );
            if lo.is_infinite() {
                prop_assert!(
                    x.is_finite(),
                    "non-finite value {} from {:?} ({:?})",
                    x,
                    op,
                    v.dtype
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn valid_views_write_exactly_their_elements(
        v in valid_view(6, 3), op in op_strategy(), seed in any::<u64>(), pos in prop_oneof![Just(0u64), any::<u64>()]
    ) {
        check(&v, &op, seed, pos, 0, None)?;
    }

    #[test]
    fn sharded_views_write_their_global_values(v in sharded_view(), op in op_strategy(), seed in any::<u64>()) {
        check(&v, &op, seed, 7, 0, None)?;
    }

    #[test]
    fn arbitrary_strides_are_refused_or_safe(v in arbitrary_view(), op in op_strategy(), seed in any::<u64>()) {
        check(&v, &op, seed, 0, 0, None)?;
    }

    #[test]
    fn misaligned_pointers_are_refused(v in valid_view(3, 3), op in op_strategy(), mis in 1usize..8) {
        let mis = mis % v.dtype.itemsize();
        prop_assume!(mis != 0);
        check(&v, &op, 1, 0, mis, None)?;
    }

    /// Extreme strides and sizes must make Layout::new return, never panic or wrap.
    #[test]
    fn layout_new_never_panics(
        shape in prop::collection::vec(prop_oneof![0usize..5, Just(usize::MAX), Just(1usize << 32), Just(usize::MAX / 3)], 0..5),
        strides in prop::collection::vec(prop_oneof![-16isize..16, Just(isize::MAX), Just(isize::MIN), Just(isize::MAX / 4 * 4), Just(1isize << 40)], 0..5),
        dtype in dtype_strategy(),
    ) {
        let n = shape.len().min(strides.len());
        let r = Layout::new(8 as *mut u8, dtype, &shape[..n], &strides[..n], None);
        if let Ok(l) = r {
            // An accepted view's elements are distinct: check exactly when it is small.
            if l.len <= 4096 {
                let item = dtype.itemsize() as isize;
                let es: Vec<isize> = strides[..n].iter().zip(&shape[..n]).map(|(&s, &k)| if k > 1 { s / item } else { 0 }).collect();
                let mut o = element_offsets(&shape[..n], &es);
                o.sort_unstable();
                let before = o.len();
                o.dedup();
                prop_assert_eq!(o.len(), before, "accepted overlapping view {:?} {:?}", &shape[..n], &strides[..n]);
            }
        }
    }
}

proptest! {
    // Large views cross the parallel threshold (1 << 17 elements) and many 1 << 16 blocks.
    #![proptest_config(ProptestConfig {
        cases: (ProptestConfig::default().cases / 10).max(2),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn large_views_and_interrupts(
        rows in 300usize..700, cols in 300usize..700, gap in 1isize..3, neg in any::<bool>(), tr in any::<bool>(),
        dtype in dtype_strategy(), kind in 0u8..3, stop in prop_oneof![Just(None), (0usize..3).prop_map(Some)],
    ) {
        let item = dtype.itemsize() as isize;
        let (inner, outer) = (gap, gap * cols as isize);
        let mut strides = vec![outer * item, inner * item];
        if neg { strides[0] = -strides[0]; }
        let mut shape = vec![rows, cols];
        if tr { shape.reverse(); strides.reverse(); }
        let v = View { dtype, shape, strides, shard: None };
        let op = match kind {
            0 => Op::Uniform(-1.0, 2.0),
            1 => Op::Normal(0.5, 2.0),
            _ => Op::TruncNormal(0.0, 1.0, -0.5, 3.0),
        };
        check(&v, &op, 42, 3, 0, stop)?;
    }
}
