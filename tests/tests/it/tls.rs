//! The transport (issue 14): the server over TLS with a certificate from a throwaway CA (rcgen),
//! and tablets that trust exactly the bureau's CA and the certificate pinned at enrollment —
//! another CA's certificate for the same address, or a re-issued certificate that is not the
//! pinned one, is refused as `server_untrusted` before any request is sent.

use std::sync::Arc;
use std::time::Duration;

use beibao_core::code::Code;
use beibao_server::app::Limits;
use beibao_sync::client::{Client, SyncError};
use beibao_sync::trust::{Trust, fingerprint};
use beibao_sync::wire::{self, EnrollRequest};
use beibao_tests::{Server, runtime};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

const OFFICER: &str = "OF-03-01";

/// A throwaway CA: its certificate (PEM) and what signs with it.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    Ca { pem: cert.pem(), issuer: Issuer::new(params, key) }
}

/// A server certificate for 127.0.0.1 issued by `ca`: (chain PEM, key PEM, fingerprint).
fn server_cert(ca: &Ca) -> (String, String, String) {
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &ca.issuer).expect("signed");
    (cert.pem(), key.serialize_pem(), fingerprint(cert.der().as_ref()))
}

fn start(rt: &tokio::runtime::Runtime, dir: &tempfile::TempDir, cert: &(String, String, String)) -> Server {
    let storage = Arc::new(beibao_server::Sqlite::open(&dir.path().join("server.db")).expect("sqlite"));
    let (config, pin) = beibao_server::http::tls_config(cert.0.as_bytes(), cert.1.as_bytes()).expect("tls config");
    assert_eq!(pin, cert.2, "the server names the fingerprint tablets pin");
    Server::start_tls(
        rt,
        storage,
        Limits { rate_per_s: 10_000.0, burst: 20_000.0, ..Limits::default() },
        9,
        config,
        pin,
    )
}

/// What a call to the server answers with `trust`: the error code, or `None` once it is heard.
fn reach(rt: &tokio::runtime::Runtime, url: &str, trust: &Trust) -> Option<Code> {
    let client = match Client::with_trust(url, Duration::from_secs(10), trust) {
        Ok(c) => c,
        Err(e) => return Some(e.code()),
    };
    match rt.block_on(client.last_seq()) {
        // Heard: without a token the server answers 401 in its own shape.
        Err(SyncError::Server { status: 401, .. }) => None,
        Err(e) => Some(e.code()),
        Ok(_) => None,
    }
}

#[test]
fn a_tablet_trusts_the_bureaus_ca_and_the_pinned_certificate_and_nothing_else() {
    let rt = runtime();
    let bureau = ca("Shanting Public Security Bureau CA");
    let cert = server_cert(&bureau);
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(&rt, &dir, &cert);
    let url = server.url();
    assert!(url.starts_with("https://"));

    // Trusted by the CA and the pin, by the CA alone, by the pin alone: the tablet enrolls and
    // authenticates over TLS.
    let both = Trust { ca_pem: Some(bureau.pem.clone()), pin_sha256: Some(cert.2.clone()) };
    let mut client = Client::with_trust(&url, Duration::from_secs(10), &both).expect("client");
    let key = wire::signing_key(&[5u8; 32]);
    let code = server.code(&rt, OFFICER);
    rt.block_on(async {
        let req = EnrollRequest {
            code,
            device_id: "dev-tls".into(),
            officer_id: OFFICER.into(),
            public_key: wire::public_hex(&key),
        };
        client.enroll(&req).await.expect("enroll over TLS");
        client.authenticate("dev-tls", &key).await.expect("token over TLS");
        assert_eq!(client.last_seq().await.expect("last seq").last_seq, 0);
    });
    assert_eq!(reach(&rt, &url, &Trust { ca_pem: Some(bureau.pem.clone()), pin_sha256: None }), None);
    assert_eq!(reach(&rt, &url, &Trust { ca_pem: None, pin_sha256: Some(cert.2.to_uppercase()) }), None);

    // Nothing to trust by: refused before connecting.
    assert_eq!(reach(&rt, &url, &Trust::default()), Some(Code::ServerUntrusted));
    // Another CA, or a pin of another certificate: refused.
    let stranger = ca("Somebody Else's CA");
    assert_eq!(
        reach(&rt, &url, &Trust { ca_pem: Some(stranger.pem.clone()), pin_sha256: None }),
        Some(Code::ServerUntrusted)
    );
    let other = server_cert(&bureau);
    assert_eq!(
        reach(&rt, &url, &Trust { ca_pem: Some(bureau.pem.clone()), pin_sha256: Some(other.2.clone()) }),
        Some(Code::ServerUntrusted),
        "a certificate of the bureau's CA that is not the pinned one"
    );
    drop(server);

    // An impostor on the same address with a certificate from another CA: the enrolled tablet's
    // trust refuses it, pin or CA.
    let impostor_cert = server_cert(&stranger);
    let dir2 = tempfile::tempdir().expect("tmp");
    let impostor = start(&rt, &dir2, &impostor_cert);
    assert_eq!(reach(&rt, &impostor.url(), &both), Some(Code::ServerUntrusted));
    assert_eq!(
        reach(&rt, &impostor.url(), &Trust { ca_pem: None, pin_sha256: Some(cert.2.clone()) }),
        Some(Code::ServerUntrusted)
    );
    // Plain http against the TLS port is a failed link, not an answer.
    let plain = impostor.url().replacen("https://", "http://", 1);
    assert_eq!(reach(&rt, &plain, &Trust::default()), Some(Code::Link));
}

#[test]
fn a_tablet_enrolled_from_a_qr_code_with_the_pin_syncs_over_tls_and_refuses_an_impostor() {
    use beibao_field::{FirstRunInput, first_run};
    use rand::SeedableRng;

    let rt = runtime();
    let bureau = ca("Shanting Public Security Bureau CA");
    let cert = server_cert(&bureau);
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(&rt, &dir, &cert);

    // The administrator's code carries the pin the QR shows.
    let admin =
        beibao_server::admin::new_account("admin-tls", beibao_server::storage::Role::Admin, None, "window-password-1")
            .expect("account");
    rt.block_on(server.state.storage().create_account(&admin, beibao_tests::t0())).expect("create");
    let issued: serde_json::Value = rt.block_on(async {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(
                Trust { ca_pem: None, pin_sha256: Some(cert.2.clone()) }.client_config().expect("tls"),
            )
            .build()
            .expect("client");
        let login: serde_json::Value = http
            .post(format!("{}/api/v1/accounts/login", server.url()))
            .header("content-type", "application/json")
            .body(r#"{"username":"admin-tls","password":"window-password-1"}"#)
            .send()
            .await
            .expect("login")
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).expect("session"))
            .expect("body");
        let token = login["token"].as_str().expect("token").to_owned();
        http.post(format!("{}/api/v1/admin/enrollment-codes", server.url()))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(format!(r#"{{"officer_id":"{OFFICER}"}}"#))
            .send()
            .await
            .expect("code")
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).expect("issued"))
            .expect("body")
    });
    assert_eq!(issued["server_pin"].as_str(), Some(cert.2.as_str()), "{issued}");
    let code = issued["code"].as_str().expect("code").to_owned();

    // The first run with the QR's pin: enrolled over TLS, the pin kept, a visit synced.
    let tablet_dir = tempfile::tempdir().expect("tmp");
    let path = tablet_dir.path().join("beibao.db");
    let env =
        |seed| beibao_field::Env { clock: server.clock.clone(), ids: Arc::new(beibao_tests::SeededIds::new(seed)) };
    let mut entropy = beibao_testkit::SeededEntropy(rand_chacha::ChaCha8Rng::seed_from_u64(3));
    let input = |code: &str, pin: &str| FirstRunInput {
        server_url: server.url(),
        code: code.to_owned(),
        officer_id: OFFICER.to_owned(),
        pin: "135790".into(),
        server_pin: Some(pin.to_owned()),
    };
    let kdf = beibao_store::key::KdfParams::TEST_ONLY;
    // A pin that is not the server's: refused before the code is even checked, nothing left.
    let wrong = rt.block_on(first_run(&path, &input(&code, &"0".repeat(64)), kdf, &mut entropy, env(1)));
    assert_eq!(wrong.expect_err("another pin").code(), Code::ServerUntrusted);
    assert!(!path.exists());
    let (session, enrolled) =
        rt.block_on(first_run(&path, &input(&code, &cert.2), kdf, &mut entropy, env(2))).expect("first run over TLS");
    assert_eq!(enrolled.tls_pin.as_deref(), Some(cert.2.as_str()));
    let mut tablet = beibao_tests::Tablet { dir: tablet_dir, path, clock: server.clock.clone(), session };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    // The officer's villages pulled over TLS, then a visit pushed.
    beibao_tests::work::publish_registry_for(&rt, &server, OFFICER);
    let fast = beibao_field::SyncSettings { backoff_base: Duration::from_millis(1), ..Default::default() };
    tablet.sync(&rt, fast, 0, &mut |_| {}).expect("pull over TLS");
    beibao_tests::work::visit(&mut tablet, &mut rng);
    let report = tablet.sync(&rt, fast, 0, &mut |_| {}).expect("sync over TLS");
    assert_eq!(report.applied, 1, "{report:?}");
    drop(server);

    // Its server's name now answered by an impostor with another CA's certificate (a hijacked
    // name, a captive portal): the enrolled tablet refuses it, and its new visit stays queued.
    let stranger = ca("Somebody Else's CA");
    let dir2 = tempfile::tempdir().expect("tmp");
    let impostor = start(&rt, &dir2, &server_cert(&stranger));
    tablet
        .session
        .store()
        .conn()
        .execute("UPDATE enrollment SET server_url = ?1", [impostor.url()])
        .expect("point the tablet at the impostor");
    beibao_tests::work::visit(&mut tablet, &mut rng);
    let refused = tablet.sync(&rt, fast, 0, &mut |_| {}).expect_err("an impostor");
    assert_eq!(refused.code(), Code::ServerUntrusted);
    assert_eq!(tablet.session.sync_status().expect("status").pending_ops, 1, "the visit waits");
}
