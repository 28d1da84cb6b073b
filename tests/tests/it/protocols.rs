//! Sync protocol v2 beside v1 on one server: a tablet from before v2 still syncs, the same
//! tablet on v2 sends no seq, hash or derived op id per op, ops queued under random ids before
//! the upgrade keep them, and a v2 batch goes through exactly the checks a v1 batch does.

use std::time::Duration;

use beibao_core::code::Code;
use beibao_sync::wire::{self, OpStatus, PushRequestV2, SeqRange, WireOp};
use beibao_sync::{Client, Settings, SyncError, Tablet as _};
use beibao_tests::link::Link;
use beibao_tests::work;
use beibao_tests::{OFFICER, Server, Tablet, runtime, server_db};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn settings(v2: bool) -> Settings {
    Settings {
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        request_timeout: Duration::from_secs(5),
        protocol_v2: v2,
        ..Settings::default()
    }
}

/// The push requests recorded from `from` on: (request line, decompressed JSON body).
fn pushes(link: &Link, from: usize) -> Vec<(String, String)> {
    link.recorded()[from..]
        .iter()
        .filter(|r| r.line.contains("/push "))
        .map(|r| {
            let at = r.bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
            let body = wire::decompress(&r.bytes[at..], wire::MAX_JSON_BYTES).expect("zstd body");
            (r.line.clone(), String::from_utf8(body).expect("utf-8"))
        })
        .collect()
}

#[test]
fn a_tablet_from_before_v2_syncs_with_the_new_server_and_then_on_v2() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 31);
    let link = Link::start(&rt, server.addr);
    let mut t = Tablet::new(OFFICER, 31);
    t.enroll(&rt, &link.url(), &server.code(&rt, OFFICER)).expect("enroll");
    let mut rng = ChaCha8Rng::seed_from_u64(31);

    // A tablet that speaks v1 only: its pushes are v1's, with a seq, an op id and a hash per op.
    let mut bad = work::day(&mut t, &mut rng, 12);
    let from = link.recorded().len();
    t.sync(&rt, settings(false), 0, &mut |_| {}).expect("v1 sync");
    let v1 = pushes(&link, from);
    assert!(!v1.is_empty());
    for (line, body) in &v1 {
        assert!(line.starts_with("POST /api/v1/sync/push "), "{line}");
        assert!(body.contains("\"sha256\"") && body.contains("\"seq\""), "{body}");
    }
    let v = work::check(&rt, &t, &server, bad);
    assert!(v.clean(), "after v1: {v:?}");

    // The same tablet on v2 (the server announced it): no seq, hash or op id per op.
    bad += work::day(&mut t, &mut rng, 12);
    let from = link.recorded().len();
    t.sync(&rt, settings(true), 0, &mut |_| {}).expect("v2 sync");
    let v2 = pushes(&link, from);
    assert!(!v2.is_empty());
    for (line, body) in &v2 {
        assert!(line.starts_with("POST /api/v1/sync/v2/push "), "{line}");
        for field in ["\"sha256\"", "\"seq\"", "\"op_id\""] {
            assert!(!body.contains(field), "{field} in {body}");
        }
        assert!(body.contains("\"first_seq\""), "{body}");
    }
    // Both sides hold the same op ids (derived from the payloads), results and records.
    let v = work::check(&rt, &t, &server, bad);
    assert!(v.clean(), "after v2: {v:?}");

    // Ops an older app queued under random ids keep them: v2 sends those ids, and the server
    // holds them as the tablet does.
    bad += work::day(&mut t, &mut rng, 8);
    let queued = t
        .session
        .store()
        .conn()
        .execute("UPDATE outbox SET op_id = 'legacy-' || seq WHERE state = 'pending'", [])
        .expect("older ids");
    assert!(queued > 0);
    let from = link.recorded().len();
    t.sync(&rt, settings(true), 0, &mut |_| {}).expect("v2 sync of older ops");
    let sent = pushes(&link, from);
    assert_eq!(sent.iter().map(|(_, b)| b.matches("\"op_id\":\"legacy-").count()).sum::<usize>(), queued);
    let v = work::check(&rt, &t, &server, bad);
    assert!(v.clean(), "after the older ops: {v:?}");
}

#[test]
fn a_v2_batch_is_checked_as_a_v1_batch_and_answered_in_ranges() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 32);
    let mut t = Tablet::new(OFFICER, 32);
    let enrolled = t.enroll(&rt, &server.url(), &server.code(&rt, OFFICER)).expect("enroll");
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    for _ in 0..6 {
        work::visit(&mut t, &mut rng);
    }
    let device = t.session.device_id().to_owned();
    let key = t.session.syncer().expect("syncer").identity().expect("id").key.expect("key");
    let mut client = Client::new(&server.url(), Duration::from_secs(5)).expect("client");
    rt.block_on(client.authenticate(&device, &key)).expect("token");
    let (last, v2) = rt.block_on(client.last_seq_negotiated()).expect("last seq");
    assert!(v2 && last.last_seq == 0, "the server names v2 in its last-seq answer");
    let ops: Vec<WireOp> = beibao_store::outbox::pending(t.session.store().conn(), 100)
        .expect("outbox")
        .iter()
        .map(|o| WireOp::new(o.seq, &o.op_id, &o.kind, &o.sha256, &o.payload).expect("op"))
        .collect();
    assert_eq!(ops.len(), 6);

    // One range for six visits applied; the receipt signs the payloads as the tablet holds them.
    let batch = |id: &str, ops: &[WireOp]| PushRequestV2::new(&device, id, ops, None);
    let ack = rt.block_on(client.push_v2(&batch("b1", &ops))).expect("push");
    assert_eq!(ack.applied, vec![SeqRange { first: 1, last: 6 }]);
    assert!(ack.duplicate.is_empty() && ack.rejected.is_empty());
    let v1_form =
        wire::PushRequest { device_id: device.clone(), batch_id: "b1".into(), ops: ops.clone(), sent_at: None };
    let checked = beibao_sync::engine::check_ack_v2(&v1_form, &ack, &enrolled.server_key).expect("a good ack");
    assert!(checked.results.iter().all(|r| r.status == OpStatus::Applied));
    // An answer for other payloads than those sent is not an ack.
    let mut other = ops.clone();
    other[2] = WireOp::new(3, &other[2].op_id, "visit", &"0".repeat(64), other[2].payload.get()).expect("op");
    let v1_other = wire::PushRequest { ops: other, ..v1_form.clone() };
    assert!(matches!(
        beibao_sync::engine::check_ack_v2(&v1_other, &ack, &enrolled.server_key),
        Err(SyncError::Receipt(_))
    ));

    // Sent again, the batch gets its stored results.
    let again = rt.block_on(client.push_v2(&batch("b1-again", &ops))).expect("again");
    assert_eq!(again.applied, ack.applied);
    assert_eq!(again.receipt.results_sha256, ack.receipt.results_sha256);
    // A seq sent again with other bytes is refused (the op id derived from them is another).
    let changed = ops[0].payload.get().replacen("\"outcome\"", " \"outcome\"", 1);
    let reused = WireOp::new(
        1,
        "unused",
        "visit",
        &wire::derived_op_id(&beibao_core::canonical::sha256_hex(changed.as_bytes())),
        &changed,
    )
    .expect("op");
    let mut reused_batch = batch("b2", &[reused]);
    reused_batch.ops[0].op_id = None;
    let r = rt.block_on(client.push_v2(&reused_batch)).expect("push");
    assert_eq!(r.rejected.iter().map(|x| (x.seq, x.code)).collect::<Vec<_>>(), vec![(1, Code::SeqReused)]);

    // The checks of every op are v1's: an op in another device's name is refused, with its
    // reason, and does not block the op after it.
    for _ in 0..2 {
        work::visit(&mut t, &mut rng);
    }
    let fresh: Vec<WireOp> = beibao_store::outbox::pending(t.session.store().conn(), 100)
        .expect("outbox")
        .iter()
        .filter(|o| o.seq > 6)
        .map(|o| WireOp::new(o.seq, &o.op_id, &o.kind, &o.sha256, &o.payload).expect("op"))
        .collect();
    let forged_payload = fresh[0].payload.get().replace(&device, "dev-somebody-else");
    let forged = WireOp::new(7, "x", "visit", "", &forged_payload).expect("op");
    let mut mixed = batch("b3", &[forged, fresh[1].clone()]);
    mixed.ops[0].op_id = None;
    let r = rt.block_on(client.push_v2(&mixed)).expect("push");
    assert_eq!(r.rejected.iter().map(|x| (x.seq, x.code)).collect::<Vec<_>>(), vec![(7, Code::WrongDevice)]);
    assert_eq!(r.applied, vec![SeqRange { first: 8, last: 8 }]);

    // Malformed batches: the error shape and code of v1.
    let refused = |b: &PushRequestV2| match rt.block_on(client.push_v2(b)) {
        Err(SyncError::Server { status, body }) => (status, body.code, body.expect_seq),
        other => panic!("refused, got {other:?}"),
    };
    let mut gap = batch("b4", &fresh[1..]);
    gap.first_seq = 20;
    assert_eq!(refused(&gap), (409, Code::SeqGap, Some(9)));
    let mut zero = batch("b5", &fresh[1..]);
    zero.first_seq = 0;
    assert_eq!(refused(&zero), (400, Code::InvalidBatch, None));
    let mut far = batch("b6", &fresh);
    far.first_seq = i64::MAX;
    assert_eq!(refused(&far), (400, Code::InvalidBatch, None));
    let mut empty = batch("b7", &fresh);
    empty.ops.clear();
    assert_eq!(refused(&empty), (400, Code::InvalidBatch, None));
    let mut long_id = batch("b8", &fresh[1..]);
    long_id.ops[0].op_id = Some("x".repeat(101));
    assert_eq!(refused(&long_id), (400, Code::InvalidBatch, None));
    let mut stranger = batch("b9", &fresh[1..]);
    stranger.device_id = "dev-somebody-else".into();
    assert_eq!(refused(&stranger), (403, Code::WrongDevice, None));

    // The rest of a cut body: only from the offset held (none is held here), whole only when
    // it hashes to its name, at most 4 MiB.
    let rest = |sha: &str, size: u64, offset: u64, bytes: &[u8]| match rt
        .block_on(client.push_v2_rest(sha, size, offset, bytes))
    {
        Err(SyncError::Server { status, body }) => (status, body.code, body.offset),
        other => panic!("refused, got {other:?}"),
    };
    let name = "ab".repeat(32);
    assert_eq!(rest(&name, 10, 5, b"12345"), (409, Code::BlobOffset, Some(0)));
    assert_eq!(rest(&name, 10, 0, b"0123456789"), (422, Code::BlobHashMismatch, None));
    assert_eq!(rest(&name, 10, 0, b"01234"), (409, Code::BlobOffset, Some(5)), "more to come: held");
    assert_eq!(rest(&name, 10, 0, b"0123456789ab").1, Code::BlobOffset, "the server holds 5 now");
    assert_eq!(rest(&name, 10, 5, b"56789ab"), (422, Code::BlobSize, None), "past the size");
    assert_eq!(rest(&name, 5 * 1024 * 1024, 0, b"x").1, Code::PayloadTooLarge);
    assert_eq!(rest("not-a-hash", 10, 0, b"x").1, Code::BadSha256);
    // A whole body that hashes to its name but is not a batch is refused as a body.
    let junk = b"not zstd at all";
    let junk_name = beibao_core::canonical::sha256_hex(junk);
    assert_eq!(rest(&junk_name, junk.len() as u64, 0, junk).1, Code::BadEncoding);
}

#[test]
fn a_blob_chunk_cut_half_way_keeps_what_came_and_the_upload_resumes_there() {
    use beibao_field::{AcceptInput, Attachment};
    use beibao_tests::link::Fault;
    use rand::RngCore as _;
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 33);
    let link = Link::start(&rt, server.addr);
    let mut t = Tablet::new(OFFICER, 33);
    t.enroll(&rt, &link.url(), &server.code(&rt, OFFICER)).expect("enroll");
    let mut photo = vec![0u8; 150_000];
    ChaCha8Rng::seed_from_u64(33).fill_bytes(&mut photo);
    photo[..3].copy_from_slice(&[0xff, 0xd8, 0xff]); // a JPEG's start
    let sha = beibao_core::canonical::sha256_hex(&photo);
    let h = work::households_of(OFFICER)[0];
    let input = AcceptInput {
        attachments: vec![Attachment { mime: "image/jpeg".into(), bytes: photo.clone() }],
        ..work::id_card_for(h)
    };
    t.session.accept_service(input).expect("an application with a photo");

    // The first chunk (64 KiB) is cut 40,000 bytes into its request (the connection's first:
    // the token came from the server directly).
    let device = t.session.device_id().to_owned();
    let key = t.session.syncer().expect("syncer").identity().expect("id").key.expect("key");
    let mut direct = Client::new(&server.url(), Duration::from_secs(5)).expect("client");
    rt.block_on(direct.authenticate(&device, &key)).expect("token");
    let mut client = Client::new(&link.url(), Duration::from_secs(5)).expect("client");
    client.set_token(direct.token().expect("token").to_owned());
    link.faults([Fault::CutUp(40_000)]);
    // At 100 kB/s the cut comes 0.4 s into the chunk, as it would on a slow link: long after
    // the server began reading the body (a cut before a handler runs leaves nothing to keep).
    link.shape(beibao_tests::link::Shape { one_way: Duration::ZERO, bytes_per_s: 100_000 });
    let cut = rt.block_on(client.blob_chunk(&sha, photo.len() as u64, 0, &photo[..65_536]));
    assert!(matches!(cut, Err(SyncError::Transport(_))), "{cut:?}");
    // The server keeps what came before the cut (its handler's task finishes after the link
    // is gone: wait for it, bounded).
    let storage = server.state.storage().clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let held = loop {
        let row = rt.block_on(storage.blob(&sha, &device)).expect("blob row");
        if let Some(row) = row.filter(|r| r.offset > 0) {
            break row.offset;
        }
        assert!(std::time::Instant::now() < deadline, "the bytes before the cut were not kept");
        std::thread::yield_now();
    };
    // The 40,000 bytes the link let through, but the request's head.
    assert!((39_000..40_000).contains(&held), "held {held}");

    // The tablet's next sync resumes at the offset held: the photo crosses once.
    link.shape(beibao_tests::link::Shape::default());
    let from = link.recorded().len();
    t.sync(&rt, settings(true), 0, &mut |_| {}).expect("sync");
    let resent: usize = link.recorded()[from..]
        .iter()
        .filter(|r| r.line.starts_with("PUT /api/v1/blobs/"))
        .map(|r| r.bytes.len() - r.bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("head") - 4)
        .sum();
    assert_eq!(resent as u64, photo.len() as u64 - held, "only what the server did not hold");
    let stored = rt.block_on(storage.blob_bytes(&sha)).expect("blob");
    assert_eq!(stored.as_deref(), Some(&photo[..]));
}

#[test]
fn a_push_cut_half_way_is_resumed_from_what_the_server_kept() {
    use beibao_tests::link::{Fault, Shape};
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::sqlite(&rt, &server_db(dir.path()), 34);
    let link = Link::start(&rt, server.addr);
    let mut t = Tablet::new(OFFICER, 34);
    t.enroll(&rt, &link.url(), &server.code(&rt, OFFICER)).expect("enroll");
    let mut rng = ChaCha8Rng::seed_from_u64(34);
    for _ in 0..300 {
        work::visit(&mut t, &mut rng);
    }
    // One connection carries the pass (token, last-seq, one push of the 300 visits, ~7 kB):
    // cut it 4,000 bytes in, in the push's body; at 100 kB/s the server is reading the body by
    // then.
    link.shape(Shape { one_way: Duration::ZERO, bytes_per_s: 100_000 });
    link.faults([Fault::CutUp(4_000)]);
    let mut syncer = t.session.syncer().expect("syncer");
    let one_batch = Settings { batch_bytes: 1 << 20, max_batch_bytes: 1 << 20, ..settings(true) };
    let cut = rt.block_on(syncer.sync_now(one_batch, 0, &mut |_| {}));
    assert!(cut.is_err(), "the pass fails on the cut: {cut:?}");
    // The server keeps what came of the body (under its hash, the device's own): wait for its
    // task, bounded.
    let device = t.session.device_id().to_owned();
    let first_push = link.recorded().iter().filter(|r| r.line.contains("/push")).count();
    assert_eq!(first_push, 0, "the cut push never arrived whole");
    // The same syncer's next sync resumes it: the rest only, then the answer as usual.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let from = link.recorded().len();
    loop {
        if unfinished_uploads(&server_db(dir.path()), &device) > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the bytes before the cut were not kept");
        std::thread::yield_now();
    }
    link.shape(Shape::default());
    rt.block_on(syncer.sync_now(one_batch, 0, &mut |_| {})).expect("the resumed sync");
    let rest: Vec<_> =
        link.recorded()[from..].iter().filter(|r| r.line.starts_with("PUT /api/v1/sync/v2/push/")).cloned().collect();
    assert_eq!(rest.len(), 1, "one request with the rest");
    let query = |name: &str| -> usize {
        let line = &rest[0].line;
        let at = line.find(&format!("{name}=")).expect(name) + name.len() + 1;
        line[at..].split(|c: char| !c.is_ascii_digit()).next().expect("digits").parse().expect("number")
    };
    let (offset, size) = (query("offset"), query("size"));
    let body = rest[0].bytes.len() - rest[0].bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("head") - 4;
    assert!(offset > 2_000 && offset < 4_000 && size > 5_000, "the server held {offset} of {size}");
    assert_eq!(body, size - offset, "only the rest crossed again");
    assert!(
        !link.recorded()[from..].iter().any(|r| r.line.starts_with("POST /api/v1/sync/v2/push")),
        "not the whole again"
    );
    let v = work::check(&rt, &t, &server, 0);
    assert!(v.clean(), "{v:?}");
    assert_eq!(unfinished_uploads(&server_db(dir.path()), &device), 0, "the kept body is gone once used");
}

/// The device's unfinished uploads in a server's SQLite file (read beside the server).
fn unfinished_uploads(path: &std::path::Path, device: &str) -> i64 {
    let c = rusqlite::Connection::open(path).expect("open by hand");
    c.query_row("SELECT count(*) FROM blobs WHERE complete = 0 AND sha256 LIKE '%@' || ?1", [device], |r| r.get(0))
        .expect("count")
}
