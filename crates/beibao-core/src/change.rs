//! The changes a server offers its tablets to pull, typed by kind: the server publishes a
//! [`ChangeBody`] and the tablet applies the same type (on the wire a change is `{cursor, kind,
//! key, body}`, so a tablet skips a kind it does not know yet without failing the page).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::PublishedCalendar;
use crate::catalog::Catalog;
use crate::registry::{Enterprise, Household, Town, Village};
use crate::service_request::RequestState;

/// A service a resident asked for by telephone, taken at the station desk for the officer of the
/// household's village to handle at the door (pull kind `phoned_in`). The tablet lists it on
/// Today until the officer accepts that service for that household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PhonedIn {
    /// Its id (the server's).
    pub id: String,
    /// The service's code.
    pub service: String,
    /// The household (registry id).
    pub household: String,
    /// The member applying, when the caller said (registry member id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<String>,
    /// What the caller said (time to call, what they have ready).
    pub note: String,
    /// When the desk took the call (server clock).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub taken_at: chrono::DateTime<chrono::Utc>,
    /// Who took it (`desk:<account>`).
    pub taken_by: String,
}

/// A service request's state changed at the station desk (pull kind `request_state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestStateChange {
    /// The request.
    pub request: String,
    /// Its state now.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: RequestState,
    /// Who moved it (`desk:<account>`).
    pub by: String,
    /// When the desk moved it (server clock); absent from servers before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why, for a rejection or withdrawal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What an officer is assigned to (pull kind `assignment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssignmentKind {
    /// A village (村/社区).
    Village,
    /// An enterprise.
    Enterprise,
}

/// An officer's assignment (pull kind `assignment`, keyed `<kind>:<target>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssignmentChange {
    /// The officer.
    pub officer: String,
    /// Village or enterprise.
    pub kind: AssignmentKind,
    /// Its code.
    pub target: String,
    /// Since when.
    pub since: NaiveDate,
    /// Set when the assignment ended (the village or enterprise was taken off the officer): the
    /// tablet drops it from the officer's day; what was recorded there stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
}

/// The body of a pull change, by its kind: what the server publishes and the tablet applies are
/// the same types. On the wire a [`Change`] keeps `kind`, `key` and `body` as separate fields, so a
/// tablet can skip a kind it does not know yet (a newer server's) without failing the page.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeBody {
    /// A published catalog version (keyed by its version).
    Catalog(Box<Catalog>),
    /// A published working-day calendar (keyed by its version, every device).
    Calendar(PublishedCalendar),
    /// A town (every device).
    Town(Town),
    /// A village of the officer's assignments.
    Village(Village),
    /// A household of those villages.
    Household(Household),
    /// An enterprise the officer is assigned to.
    Enterprise(Enterprise),
    /// An assignment.
    Assignment(AssignmentChange),
    /// A request moved at the desk.
    RequestState(RequestStateChange),
    /// A request phoned in to the desk, for the household's officer.
    PhonedIn(PhonedIn),
}

impl ChangeBody {
    /// The pull kind.
    pub fn kind(&self) -> &'static str {
        match self {
            ChangeBody::Catalog(_) => "catalog",
            ChangeBody::Calendar(_) => "calendar",
            ChangeBody::Town(_) => "town",
            ChangeBody::Village(_) => "village",
            ChangeBody::Household(_) => "household",
            ChangeBody::Enterprise(_) => "enterprise",
            ChangeBody::Assignment(_) => "assignment",
            ChangeBody::RequestState(_) => "request_state",
            ChangeBody::PhonedIn(_) => "phoned_in",
        }
    }

    /// The key of the changed thing.
    pub fn key(&self) -> String {
        match self {
            ChangeBody::Catalog(c) => c.version.clone(),
            ChangeBody::Calendar(c) => c.version.clone(),
            ChangeBody::Town(t) => t.code.clone(),
            ChangeBody::Village(v) => v.code.clone(),
            ChangeBody::Household(h) => h.id.clone(),
            ChangeBody::Enterprise(e) => e.code.clone(),
            ChangeBody::Assignment(a) => format!("{}:{}", name_of(a.kind), a.target),
            ChangeBody::RequestState(r) => r.request.clone(),
            ChangeBody::PhonedIn(p) => p.id.clone(),
        }
    }

    /// The body as JSON.
    pub fn to_value(&self) -> serde_json::Value {
        let v = match self {
            ChangeBody::Catalog(c) => serde_json::to_value(c),
            ChangeBody::Calendar(c) => serde_json::to_value(c),
            ChangeBody::Town(t) => serde_json::to_value(t),
            ChangeBody::Village(v) => serde_json::to_value(v),
            ChangeBody::Household(h) => serde_json::to_value(h),
            ChangeBody::Enterprise(e) => serde_json::to_value(e),
            ChangeBody::Assignment(a) => serde_json::to_value(a),
            ChangeBody::RequestState(r) => serde_json::to_value(r),
            ChangeBody::PhonedIn(p) => serde_json::to_value(p),
        };
        // Plain data with string keys: serializing cannot fail.
        v.unwrap_or(serde_json::Value::Null)
    }

    /// The body as JSON text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// Read a change's body by its kind: `Ok(None)` for a kind this build does not know.
    pub fn decode(kind: &str, body: &serde_json::Value) -> Result<Option<ChangeBody>, String> {
        fn de<T: serde::de::DeserializeOwned>(body: &serde_json::Value) -> Result<T, String> {
            T::deserialize(body).map_err(|e| e.to_string())
        }
        Ok(Some(match kind {
            "catalog" => {
                ChangeBody::Catalog(Box::new(Catalog::from_json(&body.to_string()).map_err(|e| e.to_string())?))
            }
            "calendar" => ChangeBody::Calendar(de::<PublishedCalendar>(body)?.checked().map_err(|e| e.to_string())?),
            "town" => ChangeBody::Town(de(body)?),
            "village" => ChangeBody::Village(de(body)?),
            "household" => ChangeBody::Household(de(body)?),
            "enterprise" => ChangeBody::Enterprise(de(body)?),
            "assignment" => ChangeBody::Assignment(de(body)?),
            "request_state" => ChangeBody::RequestState(de(body)?),
            "phoned_in" => ChangeBody::PhonedIn(de(body)?),
            _ => return Ok(None),
        }))
    }
}

fn name_of<T: Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
