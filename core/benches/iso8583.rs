//! Encode + decode of a CUP sale request (0200) and response (0210) frame.
//! Run: `cargo bench -p smartpos-core --bench iso8583`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use smartpos_core::iso8583::{Frame, Header, Message, Mti, CUP_FIELDS};

fn sale_request() -> Frame {
    let mut m = Message::new(Mti::new(200).unwrap());
    m.set(2, "6222021234567890123")
        .set(3, "000000")
        .set(4, "000000001234")
        .set(11, "000123")
        .set(12, "101530")
        .set(13, "1122")
        .set(14, "3012")
        .set(22, "021")
        .set(25, "00")
        .set(26, "12")
        .set(35, "6222021234567890123=3012101")
        .set(41, "10000001")
        .set(42, "898310048990001")
        .set(49, "156")
        .set(52, vec![0x11u8; 8])
        .set(53, "2600000000000000")
        .set(60, "2200000100050")
        .set(64, "0A1B2C3D");
    Frame {
        tpdu: [0x60, 0, 3, 0, 0],
        header: Header([0x60, 0x31, 0x00, 0x31, 0x10, 0x01]),
        message: m,
    }
}

fn sale_response() -> Frame {
    let mut m = Message::new(Mti::new(210).unwrap());
    m.set(2, "6222021234567890123")
        .set(3, "000000")
        .set(4, "000000001234")
        .set(11, "000123")
        .set(12, "101531")
        .set(13, "1122")
        .set(15, "1122")
        .set(25, "00")
        .set(32, "48020000")
        .set(37, "000000004711")
        .set(38, "123456")
        .set(39, "00")
        .set(41, "10000001")
        .set(42, "898310048990001")
        .set(49, "156")
        .set(60, "2200000100050")
        .set(64, "9F8E7D6C");
    Frame {
        tpdu: [0x60, 0, 0, 0, 3],
        header: Header([0x60, 0x31, 0x00, 0x31, 0x10, 0x01]),
        message: m,
    }
}

fn bench(c: &mut Criterion) {
    let (req, resp) = (sale_request(), sale_response());
    let mut g = c.benchmark_group("cup_sale");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_decode_request_and_response", |b| {
        b.iter(|| {
            let a = black_box(&req).encode(&CUP_FIELDS).unwrap();
            let z = black_box(&resp).encode(&CUP_FIELDS).unwrap();
            let a2 = Frame::decode(black_box(&a), &CUP_FIELDS).unwrap();
            let z2 = Frame::decode(black_box(&z), &CUP_FIELDS).unwrap();
            black_box((a2, z2))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
