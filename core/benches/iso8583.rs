//! Encode + decode of a CUP sale request (0200) and response (0210) frame: each iteration is
//! one sale exchange, two encode+decode pairs (one frame encoded, then decoded), so the
//! throughput criterion prints is in pairs (`Elements(2)`); the time is per exchange.
//! Run: `cargo bench -p smartpos-core --bench iso8583`. `smartpos bench --codec` measures the
//! same work beside pyiso8583 in one run and prints the ratio.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use smartpos_core::iso8583::{samples, Frame, FrameView, CUP_FIELDS};

fn bench(c: &mut Criterion) {
    let (req, resp) = samples::sale_pair();
    let mut g = c.benchmark_group("cup_sale");
    // Two encode+decode pairs an iteration: the request's and the response's.
    g.throughput(Throughput::Elements(2));
    g.bench_function("encode_decode_request_and_response", |b| {
        b.iter(|| {
            let a = black_box(&req).encode(&CUP_FIELDS).unwrap();
            let z = black_box(&resp).encode(&CUP_FIELDS).unwrap();
            let a2 = Frame::decode(black_box(&a), &CUP_FIELDS).unwrap();
            let z2 = Frame::decode(black_box(&z), &CUP_FIELDS).unwrap();
            black_box((a2, z2))
        })
    });
    let (mut abuf, mut zbuf) = (Vec::with_capacity(256), Vec::with_capacity(256));
    let (mut fa, mut fz) = (req.clone(), resp.clone());
    g.bench_function("encode_decode_request_and_response_reused_buffers", |b| {
        b.iter(|| {
            black_box(&req).encode_into(&CUP_FIELDS, &mut abuf).unwrap();
            black_box(&resp)
                .encode_into(&CUP_FIELDS, &mut zbuf)
                .unwrap();
            fa.decode_into(black_box(&abuf), &CUP_FIELDS).unwrap();
            fz.decode_into(black_box(&zbuf), &CUP_FIELDS).unwrap();
            black_box((&fa, &fz));
        })
    });
    g.bench_function("encode_request_and_response_reused_buffers", |b| {
        b.iter(|| {
            black_box(&req).encode_into(&CUP_FIELDS, &mut abuf).unwrap();
            black_box(&resp)
                .encode_into(&CUP_FIELDS, &mut zbuf)
                .unwrap();
        })
    });
    req.encode_into(&CUP_FIELDS, &mut abuf).unwrap();
    resp.encode_into(&CUP_FIELDS, &mut zbuf).unwrap();
    g.bench_function("view_request_and_response", |b| {
        b.iter(|| {
            let a = FrameView::decode(black_box(&abuf), &CUP_FIELDS).unwrap();
            let z = FrameView::decode(black_box(&zbuf), &CUP_FIELDS).unwrap();
            black_box((a.message.raw(11), z.message.raw(39)));
        })
    });
    let mut digits = Vec::with_capacity(32);
    g.bench_function("encode_and_view_request_and_response", |b| {
        b.iter(|| {
            black_box(&req).encode_into(&CUP_FIELDS, &mut abuf).unwrap();
            black_box(&resp)
                .encode_into(&CUP_FIELDS, &mut zbuf)
                .unwrap();
            let a = FrameView::decode(black_box(&abuf), &CUP_FIELDS).unwrap();
            let z = FrameView::decode(black_box(&zbuf), &CUP_FIELDS).unwrap();
            digits.clear();
            a.message.read_into(11, &mut digits);
            z.message.read_into(11, &mut digits);
            black_box((
                &digits,
                a.message.raw(41),
                z.message.raw(39),
                z.message.raw(64),
            ));
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
