//! The wire types of sync protocol v1, shared by the tablet and the server. Every body is JSON,
//! zstd-compressed on the wire (`Content-Encoding: zstd`), and unknown fields are refused.

use beibao_core::canonical::{content_hash, sha256_hex};
use beibao_core::code::Code;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Every path of the API starts here.
pub const API_PREFIX: &str = "/api/v1";

/// The largest compressed request body the server reads (push batches, blob chunks).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The largest decompressed JSON body (a guard against compression bombs).
pub const MAX_JSON_BYTES: usize = 16 * 1024 * 1024;
/// The most ops in one push.
pub const MAX_BATCH_OPS: usize = 5_000;
/// The largest single op payload.
pub const MAX_OP_BYTES: usize = 256 * 1024;
/// The largest blob (a photo).
pub const MAX_BLOB_BYTES: u64 = 20 * 1024 * 1024;

/// The one error shape of every failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable code (`malformed_json`, `unknown_field`, `payload_too_large`, `unauthenticated`,
    /// `token_expired`, `revoked`, `rate_limited`, `seq_gap`, …).
    pub code: Code,
    /// What is wrong, in words.
    pub message: String,
    /// With `seq_gap`: the seq the server expects next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_seq: Option<i64>,
    /// With `blob_offset`: the offset the server holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// Enroll a tablet with a one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time enrollment code an administrator issued.
    pub code: String,
    /// The device id the tablet made at init (every record carries it).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub device_id: String,
    /// The officer the tablet was set up for; must match the code's.
    pub officer_id: String,
    /// The tablet's Ed25519 public key, hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{64}$"))]
    pub public_key: String,
}

/// Ask whom an enrollment code is for, before the tablet makes its store (the code stays unused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct EnrollCheckRequest {
    /// The one-time enrollment code.
    pub code: String,
}

/// Whom a usable enrollment code is for: the officer confirms it is them before setting a PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct EnrollCheckResponse {
    /// The officer's id.
    pub officer_id: String,
    /// Their name.
    pub officer_name: String,
    /// Their badge number (警号).
    pub badge: String,
    /// Their station's name (zh-CN).
    pub station_name: String,
    /// When the code stops being valid.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub expires_at: DateTime<Utc>,
}

/// A block of 协议书 serial numbers reserved for one device, so numbers made offline never collide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SerialBlock {
    /// Prefix, e.g. `SHT-2026-D0007-`.
    pub prefix: String,
    /// First number of the block.
    pub start: i64,
    /// Last number of the block (inclusive).
    pub end: i64,
}

/// The server's answer to an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollResponse {
    /// The device, now bound.
    pub device_id: String,
    /// The officer it is bound to.
    pub officer_id: String,
    /// The server's Ed25519 public key (hex): receipts are signed with it.
    pub server_key: String,
    /// Serial numbers reserved for the device.
    pub serials: SerialBlock,
}

/// Ask for a challenge to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// The device.
    pub device_id: String,
}

/// A challenge (random, single use, short-lived).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChallengeResponse {
    /// Hex nonce.
    pub challenge: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Trade a signed challenge for a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The device.
    pub device_id: String,
    /// The challenge received.
    pub challenge: String,
    /// Ed25519 signature (hex) over [`auth_message`].
    pub signature: String,
}

/// A short-lived bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenResponse {
    /// Bearer token.
    pub token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// One outbox op on the wire. The payload travels as the exact bytes the tablet froze, so the
/// server can check `sha256` over them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WireOp {
    /// Per-device sequence number.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    #[serde(deserialize_with = "integral::i64")]
    pub seq: i64,
    /// Unique op id.
    pub op_id: String,
    /// The op kind (`visit`, `service_request`, …).
    pub kind: String,
    /// SHA-256 (hex) of the payload bytes.
    pub sha256: String,
    /// The frozen payload.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Box<RawValue>,
}

impl WireOp {
    /// An op from its stored parts; the payload must be JSON.
    pub fn new(seq: i64, op_id: &str, kind: &str, sha256: &str, payload: &str) -> Result<WireOp, serde_json::Error> {
        Ok(WireOp {
            seq,
            op_id: op_id.to_owned(),
            kind: kind.to_owned(),
            sha256: sha256.to_owned(),
            payload: RawValue::from_string(payload.to_owned())?,
        })
    }

    /// True when the payload hashes to `sha256`.
    pub fn hash_ok(&self) -> bool {
        sha256_hex(self.payload.get().as_bytes()) == self.sha256
    }
}

/// A batch of ops, contiguous in `seq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The device (must be the authenticated one).
    pub device_id: String,
    /// A fresh id per attempt; echoed in the answer.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub batch_id: String,
    /// The ops, in `seq` order without gaps.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 5000))]
    pub ops: Vec<WireOp>,
    /// What the device's clock showed when it sent the batch: the server measures the clock's
    /// error by it and counts records stamped under a wrong clock on the days they were made
    /// (`beibao_core::clock::Received`). Absent from tablets before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

/// What became of one op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OpStatus {
    /// Applied now or in an earlier attempt.
    Applied,
    /// Its `op_id` had already been applied under another seq.
    Duplicate,
    /// Refused with a reason; recorded, and it does not block the queue.
    Rejected,
}

impl OpStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpStatus::Applied => "applied",
            OpStatus::Duplicate => "duplicate",
            OpStatus::Rejected => "rejected",
        }
    }

    /// The status of a stored name.
    pub fn parse(s: &str) -> Option<OpStatus> {
        [OpStatus::Applied, OpStatus::Duplicate, OpStatus::Rejected].into_iter().find(|k| k.as_str() == s)
    }
}

/// The stored result of one op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OpResult {
    /// Its seq.
    pub seq: i64,
    /// Its id.
    pub op_id: String,
    /// What became of it.
    pub status: OpStatus,
    /// With `rejected`: the stable code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// With `rejected`: the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What the server committed for one batch, signed with the server's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The device.
    pub device_id: String,
    /// The batch.
    pub batch_id: String,
    /// First seq covered.
    pub first_seq: i64,
    /// Last seq covered.
    pub last_seq: i64,
    /// SHA-256 of the canonical JSON of the results.
    pub results_sha256: String,
    /// Protocol v2: the digest of the payloads committed ([`ops_digest`]), made from the bytes
    /// the server stored: the tablet checks it against its own hashes of what it sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_sha256: Option<String>,
    /// Server time of the commit.
    pub committed_at: DateTime<Utc>,
    /// Ed25519 signature (hex) over [`Receipt::message`].
    pub signature: String,
}

impl Receipt {
    /// The bytes the server signs.
    pub fn message(
        device_id: &str,
        batch_id: &str,
        first_seq: i64,
        last_seq: i64,
        results_sha256: &str,
        at: DateTime<Utc>,
    ) -> Vec<u8> {
        format!(
            "beibao-receipt-v1\n{device_id}\n{batch_id}\n{first_seq}\n{last_seq}\n{results_sha256}\n{}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )
        .into_bytes()
    }

    /// The bytes the server signs for a protocol v2 batch: v1's, and the digest of the payloads.
    pub fn message_v2(
        device_id: &str,
        batch_id: &str,
        first_seq: i64,
        last_seq: i64,
        results_sha256: &str,
        ops_sha256: &str,
        at: DateTime<Utc>,
    ) -> Vec<u8> {
        format!(
            "beibao-receipt-v2\n{device_id}\n{batch_id}\n{first_seq}\n{last_seq}\n{results_sha256}\n{ops_sha256}\n{}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )
        .into_bytes()
    }

    /// Sign a receipt for these results (protocol v1).
    pub fn sign(key: &SigningKey, device_id: &str, batch_id: &str, results: &[OpResult], at: DateTime<Utc>) -> Receipt {
        Receipt::signed(key, device_id, batch_id, results, None, at)
    }

    /// Sign a receipt for these results and the digest of the payloads committed (protocol v2).
    pub fn sign_v2(
        key: &SigningKey,
        device_id: &str,
        batch_id: &str,
        results: &[OpResult],
        ops_sha256: &str,
        at: DateTime<Utc>,
    ) -> Receipt {
        Receipt::signed(key, device_id, batch_id, results, Some(ops_sha256.to_owned()), at)
    }

    fn signed(
        key: &SigningKey,
        device_id: &str,
        batch_id: &str,
        results: &[OpResult],
        ops_sha256: Option<String>,
        at: DateTime<Utc>,
    ) -> Receipt {
        let first_seq = results.first().map_or(0, |r| r.seq);
        let last_seq = results.last().map_or(0, |r| r.seq);
        let mut receipt = Receipt {
            device_id: device_id.to_owned(),
            batch_id: batch_id.to_owned(),
            first_seq,
            last_seq,
            results_sha256: results_hash(results),
            ops_sha256,
            committed_at: at,
            signature: String::new(),
        };
        receipt.signature = hex::encode(key.sign(&receipt.signed_bytes()).to_bytes());
        receipt
    }

    /// What the signature covers: v1's message, or v2's when the receipt carries a digest.
    fn signed_bytes(&self) -> Vec<u8> {
        let (d, b, f, l, r, at) =
            (&self.device_id, &self.batch_id, self.first_seq, self.last_seq, &self.results_sha256, self.committed_at);
        match &self.ops_sha256 {
            None => Receipt::message(d, b, f, l, r, at),
            Some(ops) => Receipt::message_v2(d, b, f, l, r, ops, at),
        }
    }

    /// Check the receipt against the results it came with and the server's key.
    pub fn verify(&self, server_key: &str, results: &[OpResult]) -> Result<(), String> {
        if results_hash(results) != self.results_sha256 {
            return Err("receipt does not cover these results".into());
        }
        verify(server_key, &self.signed_bytes(), &self.signature)
    }
}

fn results_hash(results: &[OpResult]) -> String {
    // OpResult holds strings and integers only, so canonical JSON cannot fail.
    content_hash(results).unwrap_or_default()
}

/// The server's answer to a push. Only an answer echoing the device and batch ids is an ack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushResponse {
    /// Echo of the device.
    pub device_id: String,
    /// Echo of the batch.
    pub batch_id: String,
    /// The highest seq the server holds for the device.
    pub last_seq: i64,
    /// One result per op of the batch, in order.
    pub results: Vec<OpResult>,
    /// The signed receipt.
    pub receipt: Receipt,
}

/// The header in which the server's `last-seq` answer names the sync protocols it speaks
/// (`1, 2`); a tablet uses v2 only when it is named there (a server before v2 says nothing).
pub const PROTOCOLS_HEADER: &str = "beibao-sync";

/// The header of a v2 push naming its body's SHA-256 (of the bytes as sent): a body cut half-way
/// is then kept by the server, and the tablet sends only the rest (`PUT /sync/v2/push/{sha256}`).
pub const PUSH_BODY_HEADER: &str = "beibao-body";

/// What a server that speaks protocol v2 puts in [`PROTOCOLS_HEADER`].
pub const PROTOCOLS: &str = "1, 2";

/// True when a [`PROTOCOLS_HEADER`] value names protocol v2.
pub fn speaks_v2(header: &str) -> bool {
    header.split(',').any(|p| p.trim() == "2")
}

/// The op id an op has unless it says otherwise (protocol v2): the same payload under another
/// seq is the same op (a duplicate).
pub use beibao_core::canonical::derived_op_id;

/// The digest of a batch's payloads that a v2 receipt signs: SHA-256 over `seq sha256\n` for
/// each op, in seq order.
pub fn ops_digest(ops: &[WireOp]) -> String {
    let lines: String = ops.iter().map(|o| format!("{} {}\n", o.seq, o.sha256)).collect();
    sha256_hex(lines.as_bytes())
}

/// One op in a protocol v2 batch: no seq (the batch's `first_seq` and the op's place give it),
/// no hash (the server hashes the bytes it stores, the receipt signs them), and the op id only
/// when it is not the one [`derived_op_id`] gives (ops queued before the tablet spoke v2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WireOpV2 {
    /// The op kind (`visit`, `service_request`, …).
    pub kind: String,
    /// The op id, when it is not derived from the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub op_id: Option<String>,
    /// The frozen payload, its bytes exactly as the tablet stored them.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Box<RawValue>,
}

/// A protocol v2 batch: ops contiguous from `first_seq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequestV2 {
    /// The device (must be the authenticated one).
    pub device_id: String,
    /// A fresh id per attempt; echoed in the answer.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub batch_id: String,
    /// The seq of the first op; the others follow without gaps.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    #[serde(deserialize_with = "integral::i64")]
    pub first_seq: i64,
    /// The ops, in seq order.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 5000))]
    pub ops: Vec<WireOpV2>,
    /// What the device's clock showed when it sent the batch (as in v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

impl PushRequestV2 {
    /// The v2 form of a batch of ops (contiguous, as the outbox gives them).
    pub fn new(device_id: &str, batch_id: &str, ops: &[WireOp], sent_at: Option<DateTime<Utc>>) -> PushRequestV2 {
        PushRequestV2 {
            device_id: device_id.to_owned(),
            batch_id: batch_id.to_owned(),
            first_seq: ops.first().map_or(1, |o| o.seq),
            ops: ops
                .iter()
                .map(|o| WireOpV2 {
                    kind: o.kind.clone(),
                    op_id: (o.op_id != derived_op_id(&o.sha256)).then(|| o.op_id.clone()),
                    payload: o.payload.clone(),
                })
                .collect(),
            sent_at,
        }
    }

    /// The ops as the server checks them: seqs from `first_seq`, each payload hashed from its
    /// bytes, op ids derived where absent. `None` when the seqs would pass `i64::MAX`.
    pub fn into_ops(self) -> Option<Vec<WireOp>> {
        let first = self.first_seq;
        self.ops
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                let seq = first.checked_add(i64::try_from(i).ok()?)?;
                let sha256 = sha256_hex(o.payload.get().as_bytes());
                let op_id = o.op_id.unwrap_or_else(|| derived_op_id(&sha256));
                Some(WireOp { seq, op_id, kind: o.kind, sha256, payload: o.payload })
            })
            .collect()
    }
}

/// Seqs `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SeqRange {
    /// The first.
    pub first: i64,
    /// The last (inclusive).
    pub last: i64,
}

/// An op refused (protocol v2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RejectedOp {
    /// Its seq.
    pub seq: i64,
    /// The stable code.
    pub code: Code,
    /// The reason.
    pub message: String,
}

/// The server's answer to a v2 batch: the results as ranges of seqs applied and of duplicates,
/// and the rejections one by one; every seq of the batch is in exactly one of them. Only an
/// answer echoing the device and batch ids, whose receipt verifies, is an ack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushResponseV2 {
    /// Echo of the device.
    pub device_id: String,
    /// Echo of the batch.
    pub batch_id: String,
    /// The highest seq the server holds for the device.
    pub last_seq: i64,
    /// Seqs applied (now or in an earlier attempt).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<SeqRange>,
    /// Seqs whose op had already been applied under another seq.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicate: Vec<SeqRange>,
    /// Ops refused, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<RejectedOp>,
    /// The signed receipt (with the digest of the payloads committed).
    pub receipt: Receipt,
}

impl PushResponseV2 {
    /// The v2 answer for these results (in seq order).
    pub fn new(device_id: String, batch_id: String, last_seq: i64, results: &[OpResult], receipt: Receipt) -> Self {
        let mut out = PushResponseV2 {
            device_id,
            batch_id,
            last_seq,
            applied: vec![],
            duplicate: vec![],
            rejected: vec![],
            receipt,
        };
        for r in results {
            let ranges = match r.status {
                OpStatus::Applied => &mut out.applied,
                OpStatus::Duplicate => &mut out.duplicate,
                OpStatus::Rejected => {
                    out.rejected.push(RejectedOp {
                        seq: r.seq,
                        code: r.code.unwrap_or(Code::Internal),
                        message: r.message.clone().unwrap_or_default(),
                    });
                    continue;
                }
            };
            match ranges.last_mut() {
                Some(last) if last.last.checked_add(1) == Some(r.seq) => last.last = r.seq,
                _ => ranges.push(SeqRange { first: r.seq, last: r.seq }),
            }
        }
        out
    }

    /// The one result per op of `sent` this answer gives, in order, with the tablet's op ids;
    /// refused unless every seq sent is covered exactly once and nothing else is.
    pub fn results_for(&self, sent: &[WireOp]) -> Result<Vec<OpResult>, String> {
        let (Some(first), Some(last)) = (sent.first().map(|o| o.seq), sent.last().map(|o| o.seq)) else {
            return Err("no ops were sent".into());
        };
        let span = last
            .checked_sub(first)
            .and_then(|d| usize::try_from(d).ok())
            .map(|d| d + 1)
            .ok_or("the ops sent are out of order")?;
        if span != sent.len() {
            return Err("the ops sent are not contiguous".into());
        }
        // Each slot's op id is the tablet's, set below.
        let mut results: Vec<Option<OpResult>> = vec![None; span];
        let mut put = |seq: i64, status: OpStatus, code: Option<Code>, message: Option<String>| {
            let i = seq.checked_sub(first).and_then(|d| usize::try_from(d).ok()).filter(|&i| i < span);
            let slot = i.map(|i| &mut results[i]).ok_or_else(|| format!("seq {seq} was not sent"))?;
            if slot.replace(OpResult { seq, op_id: String::new(), status, code, message }).is_some() {
                return Err(format!("seq {seq} has two results"));
            }
            Ok(())
        };
        for (ranges, st) in [(&self.applied, OpStatus::Applied), (&self.duplicate, OpStatus::Duplicate)] {
            for r in ranges {
                // A range longer than the batch is refused before it is walked (a hostile answer
                // naming i64::MIN..i64::MAX must not spin).
                if r.last.checked_sub(r.first).is_none_or(|len| len < 0 || len >= span as i64) {
                    return Err(format!("range {}..{} is not within the batch", r.first, r.last));
                }
                for seq in r.first..=r.last {
                    put(seq, st, None, None)?;
                }
            }
        }
        for r in &self.rejected {
            put(r.seq, OpStatus::Rejected, Some(r.code), Some(r.message.clone()))?;
        }
        sent.iter()
            .zip(results)
            .map(|(op, r)| {
                let mut r = r.ok_or_else(|| format!("seq {} has no result", op.seq))?;
                r.op_id = op.op_id.clone();
                Ok(r)
            })
            .collect()
    }
}

/// The server's high-water mark for a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LastSeqResponse {
    /// The device.
    pub device_id: String,
    /// Highest seq held (0 when none).
    pub last_seq: i64,
}

/// One change the server made that the device should hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// Server-assigned, commit-ordered position.
    pub cursor: i64,
    /// `catalog`, `village`, `household`, `enterprise`, `assignment`, `request_state`.
    pub kind: String,
    /// The changed thing's key.
    pub key: String,
    /// Its new content.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
}

/// A page of changes after a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PullResponse {
    /// Echo of the device.
    pub device_id: String,
    /// The cursor to ask from next (unchanged when the page is empty).
    pub cursor: i64,
    /// The changes, in cursor order.
    pub changes: Vec<Change>,
    /// More pages wait.
    pub more: bool,
}

/// What the server holds of a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BlobStatus {
    /// Its SHA-256.
    pub sha256: String,
    /// Bytes received so far (resume from here).
    pub offset: u64,
    /// Received in full and verified.
    pub complete: bool,
}

pub use beibao_core::change::{AssignmentChange, AssignmentKind, ChangeBody, RequestStateChange};

/// The bytes a device signs to obtain a token.
pub fn auth_message(device_id: &str, challenge: &str) -> Vec<u8> {
    format!("beibao-auth-v1\n{device_id}\n{challenge}").into_bytes()
}

/// The bytes a device signs when it finalizes an agreement.
pub fn agreement_message(content_hash: &str) -> Vec<u8> {
    format!("beibao-agreement-v1\n{content_hash}").into_bytes()
}

/// A signing key from its 32-byte seed.
pub fn signing_key(seed: &[u8; 32]) -> SigningKey {
    SigningKey::from_bytes(seed)
}

/// The hex public key of a signing key.
pub fn public_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// Sign, hex.
pub fn sign_hex(key: &SigningKey, msg: &[u8]) -> String {
    hex::encode(key.sign(msg).to_bytes())
}

/// Parse a hex Ed25519 public key.
pub fn public_key(hex_key: &str) -> Result<VerifyingKey, String> {
    let pk: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "public key is not 32 bytes of hex".to_owned())?;
    VerifyingKey::from_bytes(&pk).map_err(|e| format!("public key: {e}"))
}

/// Integers as JSON has them: `1433` and `1433.0` are the same number (JSON Schema's `integer`
/// takes both), so a whole number written with a fraction of zero reads as the integer; `1.5`,
/// or a number past the type's range, is refused.
pub mod integral {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(i64),
        Float(f64),
    }

    fn whole<E: serde::de::Error>(n: Number) -> Result<i64, E> {
        match n {
            Number::Int(i) => Ok(i),
            // i64::MAX as f64 rounds up to 2^63, itself out of range: the bound is exclusive.
            Number::Float(f) if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) => Ok(f as i64),
            Number::Float(f) => Err(E::custom(format!("invalid type: {f} is not a whole number, expected i64"))),
        }
    }

    /// An `i64` from a whole JSON number.
    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        whole(Number::deserialize(d)?)
    }

    /// An optional `i64` from a whole JSON number.
    pub fn option_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<Number>::deserialize(d)?.map(whole).transpose()
    }
}

/// Verify a hex signature with a hex public key.
pub fn verify(public_key_hex: &str, msg: &[u8], signature: &str) -> Result<(), String> {
    let pk = public_key(public_key_hex)?;
    let sig: [u8; 64] = hex::decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "signature is not 64 bytes of hex".to_owned())?;
    pk.verify(msg, &Signature::from_bytes(&sig)).map_err(|_| "signature does not verify".to_owned())
}

/// Compress a JSON body.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own wire types cannot fail; zstd on an in-memory buffer neither.
    let json = serde_json::to_vec(value).unwrap_or_default();
    compress(&json)
}

thread_local! {
    // One zstd context per thread, reused: making one per body costs more than compressing a
    // day's records.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::zstd_safe::DCtx<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The zstd level for a body of `len` bytes: on a slow link every byte is time, and a body of a
/// few hundred kilobytes (a batch of a day's records) compresses at level 19 in tens of
/// milliseconds; bigger bodies (a first pull of the registry) take a lower level so neither side
/// spends seconds on one.
pub fn level_for(len: usize) -> i32 {
    if len <= LEVEL_19_BYTES {
        19
    } else if len <= LEVEL_12_BYTES {
        12
    } else {
        6
    }
}

/// Bodies up to this size are compressed at level 19.
pub const LEVEL_19_BYTES: usize = 256 * 1024;
/// Bodies up to this size (and over [`LEVEL_19_BYTES`]) at level 12; bigger ones at 6.
pub const LEVEL_12_BYTES: usize = 1024 * 1024;

/// zstd at the level for the body's size ([`level_for`]) with this thread's context. Every
/// frame carries its content checksum (4 bytes): a body damaged on the way does not decode, so a
/// batch's integrity does not need a hash per op.
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    let level = level_for(bytes.len());
    COMPRESSOR.with_borrow_mut(|c| {
        if c.is_none() {
            *c = checksummed(level);
        }
        if let Some(c) = c.as_mut()
            && c.set_compression_level(level).is_ok()
        {
            return c.compress(bytes).unwrap_or_default();
        }
        checksummed(level).and_then(|mut c| c.compress(bytes).ok()).unwrap_or_default()
    })
}

/// A zstd compressor at `level` whose frames carry their content checksum.
fn checksummed(level: i32) -> Option<zstd::bulk::Compressor<'static>> {
    let mut c = zstd::bulk::Compressor::new(level).ok()?;
    c.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true)).ok()?;
    Some(c)
}

/// Decompress a body, refusing more than `limit` bytes of JSON.
pub fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    DECOMPRESSOR.with_borrow_mut(|slot| {
        let ctx = slot.get_or_insert_with(zstd::zstd_safe::DCtx::create);
        // A body that failed half-way must not leave its state for the next one.
        ctx.reset(zstd::zstd_safe::ResetDirective::SessionOnly).map_err(|e| format!("zstd: error {e}"))?;
        let mut out = Vec::new();
        let decoder = zstd::stream::read::Decoder::with_context(body, ctx);
        decoder.take(limit as u64 + 1).read_to_end(&mut out).map_err(|e| format!("zstd: {e}"))?;
        if out.len() > limit {
            return Err(format!("decompressed body exceeds {limit} bytes"));
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_whole_number_reads_as_an_integer_whatever_its_notation() {
        #[derive(serde::Deserialize)]
        struct S {
            #[serde(deserialize_with = "super::integral::i64")]
            n: i64,
        }
        let read = |j: &str| serde_json::from_str::<S>(j).map(|s| s.n).map_err(|e| e.to_string());
        assert_eq!(read(r#"{"n":1433}"#), Ok(1433));
        assert_eq!(read(r#"{"n":1433.0}"#), Ok(1433));
        assert_eq!(read(r#"{"n":-2}"#), Ok(-2));
        assert_eq!(read(r#"{"n":9223372036854775807}"#), Ok(i64::MAX));
        assert!(read(r#"{"n":1.5}"#).is_err());
        assert!(read(r#"{"n":1e30}"#).is_err());
        assert!(read(r#"{"n":"7"}"#).is_err());
    }

    use super::*;

    #[test]
    fn the_reused_zstd_context_survives_a_broken_body() {
        let good = encode(&LastSeqResponse { device_id: "dev-1".into(), last_seq: 7 });
        // A body cut in the middle of its frame, then one that is not zstd at all.
        assert!(decompress(&good[..good.len() - 3], MAX_JSON_BYTES).is_err());
        assert!(decompress(b"not zstd at all", MAX_JSON_BYTES).is_err());
        let back: LastSeqResponse =
            serde_json::from_slice(&decompress(&good, MAX_JSON_BYTES).expect("decode")).expect("json");
        assert_eq!(back.last_seq, 7);
        // The limit holds with the reused context too.
        let big = compress(&vec![b'x'; 100_000]);
        assert!(decompress(&big, 99_999).is_err());
        assert_eq!(decompress(&big, 100_000).expect("at the limit").len(), 100_000);
    }

    #[test]
    fn a_body_takes_the_level_of_its_size_and_every_level_reads_back() {
        assert_eq!(level_for(40 * 1024), 19, "a day's batch: the most compact");
        assert_eq!(level_for(LEVEL_19_BYTES + 1), 12);
        assert_eq!(level_for(LEVEL_12_BYTES + 1), 6, "a registry's first pull: cheap to make");
        // One thread's context moves between levels and each body reads back whole.
        let text: Vec<u8> =
            (0..300_000u32).flat_map(|i| format!("{{\"n\":{},\"note\":\"走访\"}}", i % 977).into_bytes()).collect();
        for len in [1_000, LEVEL_19_BYTES, LEVEL_12_BYTES, text.len(), 2_000] {
            let body = &text[..len.min(text.len())];
            assert_eq!(decompress(&compress(body), MAX_JSON_BYTES).expect("reads back"), body);
        }
        let small = &text[..200_000];
        assert!(compress(small).len() < zstd::bulk::compress(small, 3).expect("level 3").len(), "19 beats 3");
    }

    fn op(seq: i64, payload: &str, op_id: Option<&str>) -> WireOp {
        let sha = sha256_hex(payload.as_bytes());
        let id = op_id.map_or_else(|| derived_op_id(&sha), str::to_owned);
        WireOp::new(seq, &id, "visit", &sha, payload).expect("op")
    }

    #[test]
    fn a_v2_batch_carries_no_seq_hash_or_derived_op_id_and_reads_back_as_the_ops_sent() {
        let ops = vec![
            op(7, r#"{"a":1}"#, Some("0190f4e2-legacy-random-id")),
            op(8, r#"{"a":2,"note":"走访"}"#, None),
            op(9, r#"{"b":[1,2]}"#, None),
        ];
        let batch = PushRequestV2::new("dev-1", "b-1", &ops, None);
        assert_eq!(batch.first_seq, 7);
        assert_eq!(batch.ops[0].op_id.as_deref(), Some("0190f4e2-legacy-random-id"), "an id of its own travels");
        assert!(batch.ops[1].op_id.is_none() && batch.ops[2].op_id.is_none(), "a derived id does not");
        let json = serde_json::to_string(&batch).expect("json");
        assert!(!json.contains("sha256") && !json.contains("\"seq\""), "{json}");
        // The server reads the same ops back: seqs, ids, hashes of the bytes, the bytes.
        let back: PushRequestV2 =
            serde_json::from_slice(&decompress(&encode(&batch), MAX_JSON_BYTES).expect("zstd")).expect("parse");
        let read = back.into_ops().expect("seqs");
        let key = |o: &WireOp| (o.seq, o.op_id.clone(), o.sha256.clone(), o.payload.get().to_owned());
        assert_eq!(read.iter().map(key).collect::<Vec<_>>(), ops.iter().map(key).collect::<Vec<_>>());
        assert_eq!(ops_digest(&read), ops_digest(&ops));
        // A batch whose seqs would pass the largest integer is refused.
        let mut far = PushRequestV2::new("dev-1", "b-2", &ops, None);
        far.first_seq = i64::MAX - 1;
        assert!(far.into_ops().is_none());
        // The derived id is a UUID (version 8) of the hash, stable.
        let id = derived_op_id(&ops[1].sha256);
        let parsed = uuid::Uuid::parse_str(&id).expect("uuid");
        assert_eq!(parsed.get_version_num(), 8);
        assert_eq!(id, derived_op_id(&sha256_hex(r#"{"a":2,"note":"走访"}"#.as_bytes())));
        assert_ne!(id, derived_op_id(&ops[2].sha256));
    }

    fn result(seq: i64, status: OpStatus) -> OpResult {
        let rejected = status == OpStatus::Rejected;
        OpResult {
            seq,
            op_id: format!("op-{seq}"),
            status,
            code: rejected.then_some(Code::WrongDevice),
            message: rejected.then(|| format!("op {seq} is not yours")),
        }
    }

    #[test]
    fn v2_results_are_ranges_plus_exceptions_and_cover_the_batch_exactly() {
        use OpStatus::*;
        let statuses = [Applied, Applied, Applied, Rejected, Applied, Duplicate, Duplicate, Applied];
        let results: Vec<OpResult> = statuses.iter().enumerate().map(|(i, s)| result(10 + i as i64, *s)).collect();
        let sent: Vec<WireOp> =
            results.iter().map(|r| WireOp::new(r.seq, &r.op_id, "visit", &"0".repeat(64), "{}").expect("op")).collect();
        let key = SigningKey::from_bytes(&[9; 32]);
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let receipt = Receipt::sign_v2(&key, "dev-1", "b-1", &results, &ops_digest(&sent), at);
        let ack = PushResponseV2::new("dev-1".into(), "b-1".into(), 17, &results, receipt);
        let r = |first, last| SeqRange { first, last };
        assert_eq!(ack.applied, vec![r(10, 12), r(14, 14), r(17, 17)]);
        assert_eq!(ack.duplicate, vec![r(15, 16)]);
        assert_eq!(ack.rejected.len(), 1);
        assert_eq!((ack.rejected[0].seq, ack.rejected[0].code), (13, Code::WrongDevice));
        // Expanded with the tablet's op ids, the answer is v1's one result per op; the receipt
        // verifies over them.
        let expanded = ack.results_for(&sent).expect("covers");
        assert_eq!(expanded, results);
        ack.receipt.verify(&public_hex(&key), &expanded).expect("verifies");
        // A thousand ops applied are one range.
        let many: Vec<OpResult> = (1..=1000).map(|s| result(s, Applied)).collect();
        let one = PushResponseV2::new("d".into(), "b".into(), 1000, &many, ack.receipt.clone());
        assert_eq!(one.applied, vec![r(1, 1000)]);
        // Answers that do not cover the batch exactly are refused.
        let broken = |f: &dyn Fn(&mut PushResponseV2)| {
            let mut a = ack.clone();
            f(&mut a);
            a.results_for(&sent)
        };
        assert!(broken(&|a| a.applied[2] = r(17, 18)).is_err(), "a seq not sent");
        assert!(broken(&|a| a.applied.pop().map(drop).unwrap_or(())).is_err(), "a seq without a result");
        assert!(broken(&|a| a.duplicate.push(r(10, 10))).is_err(), "a seq with two results");
        assert!(broken(&|a| a.applied[0] = r(12, 10)).is_err(), "a range backwards");
        assert!(broken(&|a| a.applied[0] = r(i64::MIN, i64::MAX)).is_err(), "a range past the batch");
        assert!(broken(&|a| a.rejected[0].seq = 99).is_err(), "a rejection of a seq not sent");
    }

    #[test]
    fn a_v2_receipt_signs_the_payload_digest_and_a_v1_receipt_stays_as_it_was() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let pk = public_hex(&key);
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let results = vec![result(1, OpStatus::Applied)];
        let v1 = Receipt::sign(&key, "d", "b", &results, at);
        assert!(v1.ops_sha256.is_none() && !serde_json::to_string(&v1).expect("json").contains("ops_sha256"));
        let msg = Receipt::message("d", "b", 1, 1, &v1.results_sha256, at);
        verify(&pk, &msg, &v1.signature).expect("the v1 message, unchanged");
        let mut v2 = Receipt::sign_v2(&key, "d", "b", &results, &"ab".repeat(32), at);
        v2.verify(&pk, &results).expect("verifies");
        v2.ops_sha256 = Some("cd".repeat(32));
        assert!(v2.verify(&pk, &results).is_err(), "the digest is signed");
        v2.ops_sha256 = None;
        assert!(v2.verify(&pk, &results).is_err(), "a v2 signature is not a v1 one");
        assert!(speaks_v2("1, 2") && speaks_v2("2") && !speaks_v2("1") && !speaks_v2("12, 3"));
    }
}
