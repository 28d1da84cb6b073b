//! One vocabulary of error codes for every boundary: the store, the field use cases, the sync
//! client, the server's HTTP API and its per-op rejections. The UI switches on a [`Code`] and
//! translates it; it never parses a message. Serialized in snake_case (`"id_checksum"`); a code
//! this build does not know (a newer server's) reads as [`Code::Unknown`].

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $text:literal,)*) => {
        /// A stable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum Code {
            $($(#[doc = $doc])* #[serde(rename = $text)] $variant,)*
            /// A code this build does not know (sent by a newer peer).
            #[serde(other, rename = "unknown")]
            Unknown,
        }

        impl Code {
            /// Every code, in declaration order (without [`Code::Unknown`]).
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as it travels: snake_case.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                    Code::Unknown => "unknown",
                }
            }

            /// The code named `text`, if it is one.
            pub fn parse(text: &str) -> Option<Code> {
                match text {
                    $($text => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

// The OpenAPI schema by hand: utoipa's derive does not see a `rename` that comes through a
// macro fragment, and named the values by their Rust variants (`"Required"`) where the wire
// carries `"required"`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Code {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let values = Code::ALL.iter().map(|c| c.as_str()).chain(["unknown"]);
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A stable error code (snake_case); a client reads one it does not know as `unknown`."))
            .enum_values(Some(values))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Code {}

codes! {
    // --- input rules (core) ---
    /// A required field is missing.
    Required = "required",
    /// A field's value is not valid.
    Invalid = "invalid",
    /// A number is implausible (attendees, leaflets…).
    Implausible = "implausible",
    /// A hazard is fixed before it was found.
    BeforeFound = "before_found",
    /// The ID number is empty.
    IdEmpty = "id_empty",
    /// A 15-digit ID number: convert it first.
    IdLegacy15 = "id_legacy_15",
    /// The ID number has the wrong length.
    IdLength = "id_length",
    /// The ID number has a character that is not a digit (or X last).
    IdCharacter = "id_character",
    /// The ID number's province code is unknown.
    IdProvince = "id_province",
    /// The ID number's birth date is not a date.
    IdBirthDate = "id_birth_date",
    /// The ID number's birth date lies in the future.
    IdBirthFuture = "id_birth_future",
    /// The ID number's birth date is implausibly early.
    IdBirthTooEarly = "id_birth_too_early",
    /// The ID number's check digit is wrong (GB 11643).
    IdChecksum = "id_checksum",
    /// Another kind of identity document.
    IdOtherType = "id_other_type",
    /// The phone number is empty.
    PhoneEmpty = "phone_empty",
    /// The phone number has a character that is not a digit.
    PhoneCharacter = "phone_character",
    /// The mobile number is not valid.
    PhoneMobile = "phone_mobile",
    /// The landline number is not valid.
    PhoneLandline = "phone_landline",
    /// A visit's fix is not valid.
    VisitBadFix = "visit_bad_fix",
    /// A purpose is given twice.
    VisitDuplicatePurpose = "visit_duplicate_purpose",
    /// The tablet has no position fix (place a pin by hand, with a reason).
    NoFix = "no_fix",
    /// A visit has both a GPS fix and a manual pin.
    VisitFixAndPin = "visit_fix_and_pin",
    /// A manual pin needs a reason (1 to 200 characters).
    VisitPinReason = "visit_pin_reason",
    /// A visit ends before it starts.
    VisitEndsBeforeStart = "visit_ends_before_start",
    /// A visit has no purpose.
    VisitNoPurpose = "visit_no_purpose",
    /// Persons met do not match the outcome.
    VisitPersonsMismatch = "visit_persons_mismatch",
    /// A visit lasts implausibly long.
    VisitTooLong = "visit_too_long",
    /// The service has several fee items: choose one.
    FeeOptionRequired = "fee_option_required",
    /// The fee item is not one of the service's.
    FeeOptionUnknown = "fee_option_unknown",
    /// Required materials are not ticked.
    MaterialsMissing = "materials_missing",
    /// A ticked material is not one of the service's.
    MaterialsUnknown = "materials_unknown",
    /// The service cannot be handled in this mode.
    ModeNotAllowed = "mode_not_allowed",
    /// The transition is not allowed from this state.
    TransitionIllegal = "transition_illegal",
    /// The transition needs a reason.
    TransitionReasonRequired = "transition_reason_required",
    /// The transition needs the recipient's signature.
    TransitionSignatureRequired = "transition_signature_required",
    /// The request is no longer in the state the move starts from.
    TransitionStale = "transition_stale",
    /// 治安调解 needs a written agreement.
    OralNotAllowed = "oral_not_allowed",
    /// 治安调解 is hosted by a police officer.
    HostOfficerRequired = "host_officer_required",
    /// A party under the age limit needs a guardian.
    GuardianRequired = "guardian_required",
    /// The offender may not be represented by a proxy.
    ProxyNotAllowed = "proxy_not_allowed",
    /// A signature is missing.
    SignatureRequired = "signature_required",
    /// The agreement cannot be put in canonical form.
    NotCanonical = "not_canonical",
    /// The dispute may not be mediated (every reason is given).
    MediationBlocked = "mediation_blocked",
    /// Fields of the agreement are missing or wrong.
    AgreementIncomplete = "agreement_incomplete",
    // --- field use cases ---
    /// The hazard is already closed.
    AlreadyFixed = "already_fixed",
    /// The eligibility check is for another template.
    KindMismatch = "kind_mismatch",
    /// Only a finalized agreement is followed up.
    NotFinalized = "not_finalized",
    /// Use finalize for an agreement outcome.
    OutcomeIsAgreement = "outcome_is_agreement",
    /// Finalize takes an agreement outcome of this template.
    OutcomeNotAgreement = "outcome_not_agreement",
    /// The outcome does not match the agreement's form.
    OutcomeFormMismatch = "outcome_form_mismatch",
    /// A period ends before it starts, or dates are out of order.
    PeriodReversed = "period_reversed",
    /// Past a legal window (司法确认 more than 30 days after the agreement took effect).
    WindowClosed = "window_closed",
    /// A search needs more characters.
    QueryTooShort = "query_too_short",
    /// A signature has no strokes.
    SignatureEmpty = "signature_empty",
    /// A signature is not a PNG image.
    SignatureNotPng = "signature_not_png",
    /// The agreement document could not be printed (no Chinese font on the device).
    PrintFailed = "print_failed",
    /// A record, account or entry does not exist.
    NotFound = "not_found",
    // --- tablet store ---
    /// No store at this path.
    StoreNotFound = "store_not_found",
    /// A store already exists at this path.
    StoreExists = "store_exists",
    /// A PIN is 6 to 12 digits.
    PinFormat = "pin_format",
    /// Wrong PIN.
    PinWrong = "pin_wrong",
    /// Too many wrong PINs: locked for a while.
    PinLockedOut = "pin_locked_out",
    /// The key file is damaged.
    KeyFileDamaged = "key_file_damaged",
    /// The database is newer than this app.
    StoreTooNew = "store_too_new",
    /// A finalized record cannot change.
    ReadOnly = "read_only",
    /// Stored data is damaged.
    StoreCorrupt = "store_corrupt",
    /// The database failed.
    StoreSqlite = "store_sqlite",
    /// A file operation failed.
    StoreIo = "store_io",
    /// The store is locked: unlock it first.
    Locked = "locked",
    // --- sync client ---
    /// The link failed (no signal, refused, reset, timed out).
    Link = "link",
    /// The answer did not come from the sync server (a captive portal…).
    NotOurServer = "not_our_server",
    /// The server's receipt does not verify.
    BadReceipt = "bad_receipt",
    /// This tablet is not enrolled.
    NotEnrolled = "not_enrolled",
    /// This device was revoked; its keys were wiped.
    Revoked = "revoked",
    /// Sync stalled past the watchdog.
    Stalled = "stalled",
    // --- HTTP API ---
    /// The body is not JSON.
    MalformedJson = "malformed_json",
    /// The body has a field the server does not know.
    UnknownField = "unknown_field",
    /// A JSON file or value does not parse.
    InvalidJson = "invalid_json",
    /// The body does not have the expected shape.
    InvalidBody = "invalid_body",
    /// The body ended early.
    IncompleteBody = "incomplete_body",
    /// The body is too large.
    PayloadTooLarge = "payload_too_large",
    /// The content type is not accepted.
    UnsupportedMediaType = "unsupported_media_type",
    /// The content encoding is not accepted.
    UnsupportedEncoding = "unsupported_encoding",
    /// The body does not decode.
    BadEncoding = "bad_encoding",
    /// A query parameter is wrong.
    BadQuery = "bad_query",
    /// No such endpoint.
    MethodNotAllowed = "method_not_allowed",
    /// A bearer token is required (or unknown).
    Unauthenticated = "unauthenticated",
    /// The token expired.
    TokenExpired = "token_expired",
    /// Too many requests.
    RateLimited = "rate_limited",
    /// The storage is unavailable; try again.
    StorageUnavailable = "storage_unavailable",
    /// The https server's certificate is not the bureau's or not the one pinned at enrollment.
    ServerUntrusted = "server_untrusted",
    /// The server is busy (password checks queued past their deadline); try again shortly.
    Busy = "busy",
    /// The body arrived too slowly (below the server's minimum rate).
    BodyTooSlow = "body_too_slow",
    /// The public key is not valid.
    BadPublicKey = "bad_public_key",
    /// The device id is not valid.
    BadDeviceId = "bad_device_id",
    /// The challenge is unknown, used or expired.
    BadChallenge = "bad_challenge",
    /// The signature does not verify.
    BadSignature = "bad_signature",
    /// The enrollment code is not valid.
    EnrollmentCodeInvalid = "enrollment_code_invalid",
    /// The enrollment code was used.
    EnrollmentCodeUsed = "enrollment_code_used",
    /// The enrollment code expired.
    EnrollmentCodeExpired = "enrollment_code_expired",
    /// The device is already enrolled.
    DeviceExists = "device_exists",
    /// The device is unknown.
    UnknownDevice = "unknown_device",
    /// The code names another officer.
    OfficerMismatch = "officer_mismatch",
    /// The batch names another device.
    WrongDevice = "wrong_device",
    /// The batch is not valid.
    InvalidBatch = "invalid_batch",
    /// The batch starts past the next expected seq.
    SeqGap = "seq_gap",
    /// A blob chunk is not at the held offset.
    BlobOffset = "blob_offset",
    /// A blob's declared size differs.
    BlobSize = "blob_size",
    /// A blob's bytes do not hash to its name.
    BlobHashMismatch = "blob_hash_mismatch",
    /// Not a SHA-256 in lower-case hex.
    BadSha256 = "bad_sha256",
    /// The catalog is not valid.
    BadCatalog = "bad_catalog",
    /// The calendar file breaks a calendar rule.
    BadCalendar = "bad_calendar",
    /// This catalog version is published already.
    CatalogVersionExists = "catalog_version_exists",
    /// Wrong user name or password.
    BadCredentials = "bad_credentials",
    /// The user name is not valid.
    BadUsername = "bad_username",
    /// The password is too weak.
    WeakPassword = "weak_password",
    /// The account exists.
    AccountExists = "account_exists",
    /// A desk account needs a station.
    StationRequired = "station_required",
    /// The station is not in the registry.
    UnknownStation = "unknown_station",
    /// The officer is not in the server's registry.
    UnknownOfficer = "unknown_officer",
    /// An officer with this id exists.
    OfficerExists = "officer_exists",
    /// The village or enterprise is not in the server's registry.
    UnknownPlace = "unknown_place",
    /// The officer is already assigned to this village or enterprise.
    AlreadyAssigned = "already_assigned",
    /// The officer is not assigned to this village or enterprise.
    NotAssigned = "not_assigned",
    /// The database was made by a newer server build.
    SchemaTooNew = "schema_too_new",
    /// The session expired: log in again.
    SessionExpired = "session_expired",
    /// The caller may not do this.
    Forbidden = "forbidden",
    /// A move out of a terminal or rejected state needs a reason.
    ReasonRequired = "reason_required",
    /// The server failed; the details are in its log.
    Internal = "internal",
    // --- per-op rejections ---
    /// An op's payload does not parse.
    MalformedPayload = "malformed_payload",
    /// An op is larger than allowed.
    OpTooLarge = "op_too_large",
    /// An op's payload does not hash to its sha256.
    HashMismatch = "hash_mismatch",
    /// An op's kind is unknown.
    UnknownKind = "unknown_kind",
    /// The server has no catalog to judge the op by.
    NoCatalog = "no_catalog",
    /// The service is not in any published catalog.
    UnknownService = "unknown_service",
    /// A request with this id exists.
    RequestExists = "request_exists",
    /// A request event with this id exists (each event is recorded once).
    EventExists = "event_exists",
    /// The request of an event is unknown.
    UnknownRequest = "unknown_request",
    /// A follow-up, 司法确认 or recurrence names a mediation this device never pushed.
    UnknownMediation = "unknown_mediation",
    /// A seq was already used by another op.
    SeqReused = "seq_reused",
    /// A draft mediation stays on the tablet.
    Draft = "draft",
    /// A finalized agreement's fields are incomplete.
    IncompleteAgreement = "incomplete_agreement",
    /// A finalized agreement does not re-hash to its content hash.
    AgreementHashMismatch = "agreement_hash_mismatch",
    /// A finalized agreement has no device signature.
    UnsignedAgreement = "unsigned_agreement",
    /// The device signature over the agreement does not verify.
    BadAgreementSignature = "bad_agreement_signature",
    // --- command line ---
    /// A command-line argument is wrong.
    InvalidArgument = "invalid_argument",
    /// The PIN is required.
    PinRequired = "pin_required",
    /// A file could not be read or written.
    File = "file",
    /// The fixtures could not be loaded.
    Fixtures = "fixtures",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_travels_as_its_text_and_reads_back() {
        let mut seen = std::collections::HashSet::new();
        for &c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{} is declared twice", c.as_str());
            let json = serde_json::to_string(&c).expect("serialize");
            assert_eq!(json, format!("\"{}\"", c.as_str()), "serde and as_str agree for {c:?}");
            assert_eq!(serde_json::from_str::<Code>(&json).expect("parse"), c);
            assert_eq!(Code::parse(c.as_str()), Some(c));
        }
        let unknown: Code = serde_json::from_str("\"a_code_from_a_newer_server\"").expect("unknown reads");
        assert_eq!(unknown, Code::Unknown, "a newer peer's code must not fail the whole answer");
    }
}
