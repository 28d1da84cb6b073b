//! The TypeScript types the UI and the console use (`ui/src/generated/`) are generated from the
//! Rust types of the use cases and the HTTP API. This test regenerates them and fails when the
//! committed files drift from the Rust types. To update them after changing a type:
//! `BEIBAO_WRITE_TS=1 cargo test -p beibao-tests --test it ts_types`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/generated")
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("generated dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "ts") {
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            out.insert(name, std::fs::read_to_string(&path).expect("read"));
        }
    }
    out
}

/// Every root type the UI receives or sends; their dependencies come along.
fn export(dir: &Path) {
    // JSON numbers: every count and seq here stays far below 2^53.
    let cfg = Config::new().with_out_dir(dir).with_large_int("number");
    macro_rules! roots {
        ($($t:ty),* $(,)?) => { $(<$t>::export_all(&cfg).expect(stringify!($t));)* };
    }
    roots!(
        beibao_core::code::Code,
        beibao_field::Problem,
        beibao_field::VisitDraft,
        beibao_field::VisitInput,
        beibao_field::AdvanceInput,
        beibao_field::DeliverInput,
        beibao_core::ops::StoredVisit,
        beibao_field::DraftSummary,
        beibao_field::SyncStatus,
        beibao_field::SyncSummary,
        beibao_field::SyncEvent,
        beibao_field::Today,
        beibao_field::VillageScreen,
        beibao_field::HouseholdScreen,
        beibao_field::EnterpriseScreen,
        beibao_field::ServiceCard,
        beibao_field::QuoteInput,
        beibao_field::AcceptInput,
        beibao_field::Attachment,
        beibao_field::RequestScreen,
        beibao_field::RatingInput,
        beibao_field::OpenMediation,
        beibao_field::MediationScreen,
        beibao_field::MediationEdit,
        beibao_field::SignatureInput,
        beibao_field::JudicialInput,
        beibao_field::RecurrenceInput,
        beibao_field::IdCheck,
        beibao_core::catalog::FeeQuote,
        beibao_field::Reveal,
        beibao_field::AuditEntry,
        beibao_field::TotalsScreen,
        beibao_field::PublicityInput,
        beibao_field::HazardInput,
        beibao_field::ProposalInput,
        beibao_field::ClueInput,
        beibao_core::visit::ProofVerdict,
        beibao_field::FirstRunInput,
        beibao_field::TabletStatus,
        beibao_sync::wire::EnrollCheckResponse,
        beibao_sync::Progress,
        beibao_sync::wire::ErrorBody,
        beibao_server::desk::LoginRequest,
        beibao_server::desk::LoginResponse,
        beibao_server::desk::DeskRequests,
        beibao_server::desk::DeskRequestDetail,
        beibao_server::report::Report,
        beibao_server::report::Trend,
        beibao_server::routes::supervisor::Coverage,
        beibao_server::routes::supervisor::MediationDeadlines,
        beibao_server::detail::DetailKind,
        beibao_server::routes::admin::AdminDevices,
        beibao_server::routes::admin::AdminAccounts,
        beibao_server::routes::admin::IssuedCode,
        beibao_server::routes::admin::CodeRequest,
        beibao_server::routes::admin::NewAccount,
        beibao_server::routes::admin::Revoked,
        beibao_server::desk::DeskMove,
        beibao_server::desk::DeskMoved,
        beibao_server::desk::DeskPhoneIn,
        beibao_server::desk::DeskPhonedInList,
        beibao_server::desk::DeskHouseholds,
        beibao_server::routes::admin::AdminOfficers,
        beibao_server::routes::admin::AssignmentAsked,
        beibao_server::routes::admin::AssignmentDone,
        beibao_server::routes::admin::AdminCatalogs,
    );
}

#[test]
fn the_committed_typescript_types_are_the_ones_the_rust_types_generate() {
    let fresh = tempfile::tempdir().expect("tmp");
    export(fresh.path());
    let generated = read_dir(fresh.path());
    assert!(generated.contains_key("Code.ts") && generated.contains_key("Problem.ts"), "{:?}", generated.keys());
    if std::env::var_os("BEIBAO_WRITE_TS").is_some() {
        let dir = committed_dir();
        for name in read_dir(&dir).keys() {
            std::fs::remove_file(dir.join(name)).expect("remove stale");
        }
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).expect("write");
        }
        return;
    }
    let committed = read_dir(&committed_dir());
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&generated),
        "ui/src/generated lists other types than Rust generates: run BEIBAO_WRITE_TS=1 cargo test -p beibao-tests --test it ts_types"
    );
    for (name, text) in &generated {
        assert_eq!(
            &committed[name], text,
            "ui/src/generated/{name} drifted from its Rust type: run BEIBAO_WRITE_TS=1 cargo test -p beibao-tests --test it ts_types"
        );
    }
}
